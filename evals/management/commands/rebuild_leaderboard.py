"""`python manage.py rebuild_leaderboard [--if-stale]`: recompute every board row from the runs.

The rows are maintained as runs finish, so this is for a first deploy, a change of the build rules
(`--if-stale` rebuilds only then, or when the rows were never built) or a repair. It then saves each board's
columnar copy (LADDER_LEADERBOARD_SNAPSHOT_DIR), so restarted web workers start from it.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from evals.selectors.leaderboard.cache import leaderboard_cache_bump
from evals.selectors.leaderboard.maintain import board_is_stale, board_rebuild
from evals.selectors.leaderboard.snapshot import board_snapshots_write


class Command(BaseCommand):
    help = "Recompute every leaderboard row from the runs (equal to the incrementally maintained state)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-stale", action="store_true", help="only when the rows were never built or built by older rules"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_stale"] and not board_is_stale():
            self.stdout.write("leaderboard rows are current; nothing to do")
            return
        started = time.monotonic()
        count = board_rebuild()
        leaderboard_cache_bump()
        self.stdout.write(f"leaderboard rebuilt: {count} rows in {time.monotonic() - started:.1f} s")
        started = time.monotonic()
        saved = board_snapshots_write()
        if saved:
            self.stdout.write(f"saved {saved} board copies for web workers in {time.monotonic() - started:.1f} s")
