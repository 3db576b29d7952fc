"""`python manage.py sync_hub [--author ORG]... [--search TEXT] [--model REPO_ID]... [--limit N]`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from registry.models import SyncRun
from registry.services.hub_sync import sync_default_scope, sync_hub


class Command(BaseCommand):
    help = (
        "Pull text-generation (and image-text-to-text) models from the Hugging Face Hub (HF_ENDPOINT) into "
        "the registry and print the SyncRun summary. Exit status 1 when the sync failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--author", action="append", default=[], help="Hub author/org (repeatable)")
        parser.add_argument("--search", default=None, help="substring of the repo id")
        parser.add_argument("--model", action="append", default=[], help="exact repo id (repeatable)")
        parser.add_argument("--limit", type=int, default=None, help="at most N models per author (or in all)")

    def handle(self, *args: object, **options: Any) -> None:
        authors = [a.strip() for a in options["author"] if a.strip()]
        models = [m.strip() for m in options["model"] if m.strip()]
        search: str | None = options["search"] or None
        limit: int | None = options["limit"]
        if limit is not None and limit <= 0:
            raise CommandError("--limit must be a positive number")
        if not (authors or models or search):
            # The periodic sync's scope: LADDER_SYNC_AUTHORS, else the authors already in the registry.
            authors, default_limit = sync_default_scope()
            limit = limit or default_limit
            if not authors:
                raise CommandError(
                    "say what to sync: --author ORG, --search TEXT or --model REPO_ID "
                    "(or set LADDER_SYNC_AUTHORS, or load the catalog first)"
                )
        run = sync_hub(authors=authors, search=search, models=models, limit=limit, trigger=SyncRun.Trigger.COMMAND)
        self.stdout.write(sync_run_summary(run))
        for error in run.errors[:20]:
            self.stdout.write(f"  {error.get('repo_id') or '(listing)'}: {error.get('kind')}: {error.get('message')}")
        if len(run.errors) > 20:
            self.stdout.write(f"  ... and {len(run.errors) - 20} more errors (see the admin or /syncs/)")
        if run.status == SyncRun.Status.FAILED:
            raise CommandError(f"sync #{run.pk} failed")


def sync_run_summary(run: SyncRun) -> str:
    seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0.0
    return (
        f"SyncRun #{run.pk} {run.status}: seen {run.seen}, created {run.created}, updated {run.updated}, "
        f"unchanged {run.unchanged}, failed {run.failed}, missing {run.missing} ({seconds:.1f}s)"
    )
