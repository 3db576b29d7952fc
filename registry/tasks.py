"""Celery tasks of the registry: thin wrappers that call services with ids and plain values."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from registry.models import SyncRun
from registry.services.hub_sync import sync_default_scope, sync_hub


@shared_task(
    name="registry.tasks.hub_sync_task",
    soft_time_limit=settings.SYNC_SOFT_TIME_LIMIT,
    time_limit=settings.SYNC_SOFT_TIME_LIMIT + 120,
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

    With no scope (beat): see registry.services.hub_sync.sync_default_scope.
    """
    run = SyncRun.objects.filter(pk=sync_run_id).first() if sync_run_id else None
    if authors is None and models is None and search is None:
        authors, default_limit = sync_default_scope()
        limit = limit if limit is not None else default_limit
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
