"""Reads of Hub syncs (SyncRun rows) for the staff page, the API and the beat task."""

from __future__ import annotations

from django.db.models import QuerySet

from registry.models import LanguageModel, SyncRun


def sync_run_list(*, status: str | None = None, trigger: str | None = None) -> QuerySet[SyncRun]:
    """Sync runs, newest first, with who asked for them (one query)."""
    qs = SyncRun.objects.select_related("requested_by").order_by("-started_at", "-pk")
    if status:
        qs = qs.filter(status=status)
    if trigger:
        qs = qs.filter(trigger=trigger)
    return qs


def hub_authors_in_registry() -> list[str]:
    """The Hub authors (id prefixes) of the open models in the registry, for the periodic sync."""
    ids = LanguageModel.objects.filter(weights=LanguageModel.Weights.OPEN).exclude(hub_sha="", in_catalog=False)
    authors = {repo_id.split("/", 1)[0] for repo_id in ids.values_list("repo_id", flat=True) if "/" in repo_id}
    return sorted(authors)
