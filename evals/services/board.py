"""The one door through which every run write tells the leaderboard its boards changed.

Every service that adds a run to a board or takes one off calls `leaderboard_runs_changed` inside its
transaction: a run created (a fresh install's default view turns to the measured board), finished
(`eval_run_finish`), cancelled, retried, reaped, its flag accepted, or deleted (the EvalRun post_delete
receiver in evals/apps.py). The models' maintained board rows are rewritten in that same transaction, so
a reader never sees a finished run without its row; cached boards are dropped once it commits.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction


def leaderboard_runs_changed(*, model_ids: Iterable[int]) -> None:
    """Rewrite these models' board rows in the current transaction; cached boards are stale at commit."""
    from evals.selectors.leaderboard import leaderboard_cache_bump
    from evals.selectors.leaderboard.maintain import board_models_refresh

    board_models_refresh(model_ids)
    transaction.on_commit(leaderboard_cache_bump)
