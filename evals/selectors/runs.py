"""Reads of evaluation runs: lists (queue, API), one run with its results, its per-item results."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from evals.models import EvalRun, ItemResult

RUN_STATUSES = tuple(EvalRun.Status.values)


def run_queryset() -> QuerySet[EvalRun]:
    """Runs with everything a list row or a detail shows, in a fixed number of queries."""
    return EvalRun.objects.select_related("model", "model__organization", "submitted_by").prefetch_related("results")


def run_list(*, filters: dict[str, Any] | None = None) -> QuerySet[EvalRun]:
    """Runs, newest first, filtered by (all optional): status (one or a list), model (repo id),
    suite, backend, partial (bool), submitted_by (a user). Unknown statuses match nothing."""
    filters = filters or {}
    qs = run_queryset()
    status = filters.get("status")
    if status:
        statuses = [status] if isinstance(status, str) else list(status)
        qs = qs.filter(status__in=statuses)
    model = filters.get("model")
    if model:
        qs = qs.filter(model__repo_id=model)
    suite = filters.get("suite")
    if suite:
        qs = qs.filter(suite=suite)
    backend = filters.get("backend")
    if backend:
        qs = qs.filter(backend=backend)
    partial = filters.get("partial")
    if partial is not None and partial != "":
        qs = qs.filter(is_partial=partial in (True, "1", "true", "yes"))
    user = filters.get("submitted_by")
    if user is not None:
        qs = qs.filter(submitted_by=user)
    return qs.order_by("-created_at", "-id")


def run_get(*, run_id: int) -> EvalRun:
    """One run with its model and results; raises EvalRun.DoesNotExist."""
    return run_queryset().get(pk=run_id)


def run_items(*, run_id: int, benchmark: str | None = None) -> QuerySet[ItemResult]:
    """Per-item results of a run in (benchmark, position) order, optionally of one benchmark."""
    qs = ItemResult.objects.filter(run_id=run_id)
    if benchmark:
        qs = qs.filter(benchmark=benchmark)
    return qs.order_by("benchmark", "position", "id")
