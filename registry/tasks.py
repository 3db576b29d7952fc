"""Celery tasks of the registry: thin wrappers that call services with ids and plain values."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from registry.models import SyncRun
from registry.services.hub_sync import sync_hub

# A large first sync can take a while; the Redis visibility timeout (settings) is well above this.
SYNC_SOFT_TIME_LIMIT = 3600


@shared_task(
    name="registry.tasks.hub_sync_task", soft_time_limit=SYNC_SOFT_TIME_LIMIT, time_limit=SYNC_SOFT_TIME_LIMIT + 120
)
def hub_sync_task(
    *,
    trigger: str = "beat",
    authors: list[str] | None = None,
    search: str | None = None,
    models: list[str] | None = None,
    limit: int | None = None,
    sync_run_id: int | None = None,
) -> int:
    """Run a Hub sync and return its SyncRun id.

    From beat (no scope given): the authors in settings.HUB_SYNC_AUTHORS (LADDER_SYNC_AUTHORS), else
    the Hub authors of the open models already in the registry, each limited to settings.HUB_SYNC_LIMIT.
    """
    run = SyncRun.objects.filter(pk=sync_run_id).first() if sync_run_id else None
    if authors is None and models is None and search is None:
        authors = list(settings.HUB_SYNC_AUTHORS) or _registry_authors()
        limit = limit if limit is not None else settings.HUB_SYNC_LIMIT
    run = sync_hub(
        authors=authors or (),
        search=search,
        models=models or (),
        limit=limit,
        trigger=trigger,
        user=run.requested_by if run else None,
        sync_run=run,
    )
    return run.pk


def _registry_authors() -> list[str]:
    from registry.selectors.syncs import hub_authors_in_registry

    return hub_authors_in_registry()
