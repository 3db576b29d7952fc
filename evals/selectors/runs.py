"""Reads of evaluation runs: lists (queue, API), one run with its results, its per-item results, and
what each persona may see of a run (`run_view`, used by the API serializer and the pages alike)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Min, QuerySet
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from evals.models import EvalRun, ItemResult


def run_queryset() -> QuerySet[EvalRun]:
    """Runs with everything a list row or a detail shows, in a fixed number of queries; each is
    annotated `on_ranked_revision` (whether its revision may rank: evals.selectors.revisions)."""
    from evals.selectors.revisions import runs_with_revision_rank

    qs = EvalRun.objects.select_related("model", "model__organization", "submitted_by").prefetch_related("results")
    return runs_with_revision_rank(qs)


def flagged_runs_pending(*, suite: str, method: str, limit: int = 20) -> list[EvalRun]:
    """Finished runs of a suite and method flagged as degenerate and not accepted by staff: off the ranked
    board until they are (evals.selectors.revisions.run_flag_ranks_q), newest first."""
    qs = EvalRun.objects.filter(
        suite=suite, method=method, status=EvalRun.Status.SUCCEEDED, flagged=True, flag_accepted_at__isnull=True
    )
    return list(qs.select_related("model").order_by("-finished_at", "-id")[:limit])


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


# -- how fast a run goes, and when it should end ---------------------------------------------------------


@dataclass(frozen=True)
class RunPace:
    """A running run's measured rate (items per second) and its estimated seconds left (None: not yet known)."""

    items_per_second: float | None
    eta_seconds: float | None


def run_paces(runs: Sequence[EvalRun], now: Any = None) -> dict[int, RunPace]:
    """The measured pace of each running run in `runs`, in one query; other runs get no entry.

    The rate is measured on the stored items' timestamps: the items stored after the first batch over
    the time since that batch, so the model's download and loading (before the first batch) do not
    count. The estimate is the items left at that rate, less the time since the last stored batch; it
    says nothing until two batches are stored. Benchmarks differ in speed (generation is slower), so
    it is an estimate at the pace of the benchmarks run so far.
    """
    from django.utils import timezone

    now = now or timezone.now()
    running = {run.pk: run for run in runs if run.status == EvalRun.Status.RUNNING}
    if not running:
        return {}
    stats = (
        ItemResult.objects.filter(run_id__in=list(running))
        .order_by()
        .values("run_id")
        .annotate(n=Count("id"), first=Min("created_at"), last=Max("created_at"))
    )
    paces = {run_id: RunPace(None, None) for run_id in running}
    for row in stats:
        run = running[row["run_id"]]
        measured = row["n"] - min(row["n"], max(1, run.batch_size))
        elapsed = (row["last"] - row["first"]).total_seconds()
        if measured <= 0 or elapsed <= 0:
            continue
        rate = measured / elapsed
        left = max(0, run.progress_total - run.progress_done)
        since_last = max(0.0, (now - row["last"]).total_seconds())
        paces[run.pk] = RunPace(items_per_second=rate, eta_seconds=max(0.0, left / rate - since_last))
    return paces


# -- what a persona sees of a run -----------------------------------------------------------------------
# Public: a short failure code and message, the settings that say how the numbers were made. Staff also
# see the stored error text (exception messages, paths), the worker host and the backend's own facts
# (the local weights path). The submitter's username: only to that submitter and staff.

# Run settings anyone may read (the services write these; a key not listed here is staff-only until it is).
PUBLIC_SETTINGS = frozenset(
    {"n_shot", "limit", "seed", "sample_size", "engine_version", "batch_size", "methods", "items", "backend"}
)
# Of settings["backend"] (the backend's describe()): what ran, never where it was loaded from.
PUBLIC_BACKEND_FACTS = frozenset({"dtype", "device", "max_length", "endpoint_model", "loglikelihood", "requests"})

FAILURE_MESSAGES = {
    "backend_error": _("The model could not be loaded or run by the evaluation backend."),
    "data_error": _("The benchmark data could not be loaded."),
    "time_limit": _("The run took longer than the time limit."),
    "worker_lost": _("The worker stopped responding and the run used all of its attempts."),
    "duplicate_run": _("An identical complete run of the same weights exists; this one was not needed."),
    "internal_error": _("The evaluation stopped on an internal error."),
    "missing_key": _(
        "The evaluation worker has no API key for this model: set %(var)s in the evaluation workers' environment "
        "(.env.keys), then retry the run."
    ),
    "cancelled": _("The run was cancelled."),
    "failed": _("The evaluation failed."),
}
# The messages evals.services stores on a failed run, as msgids: a stored error is matched by the stem of
# the message (its text before the first placeholder, parenthesis or colon) in any of LANGUAGES, since a
# message is stored in the language that was active when it was written.
_FAILURE_SOURCES = (
    ("backend_error", "Model backend error"),
    ("data_error", "Benchmark data error"),
    ("time_limit", "Time limit exceeded: the run took longer than %(s)d seconds (EVAL_SOFT_TIME_LIMIT)."),
    ("internal_error", "Internal error: %(kind)s: %(msg)s"),
    (
        "worker_lost",
        "The worker stopped responding (no heartbeat for %(s)d seconds) and the run has used all of its "
        "%(n)d attempts.",
    ),
    ("duplicate_run", "An identical complete run of the same weights exists (run #%(id)s); this one is not needed."),
)
_STEM_END = re.compile(r"%\(|\s?[(（:：]")


def _stem(text: str) -> str:
    return _STEM_END.split(text, maxsplit=1)[0].strip()


@lru_cache(maxsize=1)
def _failure_stems() -> tuple[tuple[str, str], ...]:
    stems: list[tuple[str, str]] = []
    for code, msgid in _FAILURE_SOURCES:
        found = {_stem(msgid)}
        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                found.add(_stem(translation.gettext(msgid)))
        stems += [(code, stem) for stem in found if len(stem) >= 4]
    return tuple(stems)


@dataclass(frozen=True)
class RunFailure:
    """Why a run did not succeed, for everyone: a stable code and a message without internals."""

    code: str
    message: str


def run_failure(run: EvalRun) -> RunFailure | None:
    """The public reason of a failed or cancelled run (None for any other run)."""
    if run.status == EvalRun.Status.CANCELLED:
        code = "cancelled"
    elif run.status == EvalRun.Status.FAILED:
        text = (run.error or "").strip()
        code = next((c for c, stem in _failure_stems() if text.startswith(stem)), "failed")
        # The openai backend's "the API key variable X is not set" (evals/backends/openai.py): the variable's
        # name is public (the model page shows it), so the message can say what to set.
        key_env = getattr(run.model, "endpoint_api_key_env", "") if run.model_id else ""
        if code == "backend_error" and key_env and f"API key variable {key_env} is not set" in text:
            return RunFailure(code="missing_key", message=str(FAILURE_MESSAGES["missing_key"]) % {"var": key_env})
    else:
        return None
    return RunFailure(code=code, message=str(FAILURE_MESSAGES[code]))


def run_settings_public(run_settings: dict[str, Any] | None) -> dict[str, Any]:
    """The settings of a run that anyone may read (the leaderboard and CSV show these too)."""
    public = {k: v for k, v in (run_settings or {}).items() if k in PUBLIC_SETTINGS}
    if isinstance(public.get("backend"), dict):
        public["backend"] = {k: v for k, v in public["backend"].items() if k in PUBLIC_BACKEND_FACTS}
    elif "backend" in public:
        del public["backend"]
    return public


def run_details_visible(user: Any) -> bool:
    """Whether `user` sees a run's internals (stored error text, worker host, weights path): staff."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_staff)


def run_submitter_visible(user: Any, run: EvalRun) -> bool:
    """Whether `user` sees who submitted `run`: that submitter and staff."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_staff or (run.submitted_by_id is not None and run.submitted_by_id == user.pk))


@dataclass(frozen=True)
class RunView:
    """One run as one persona may see it; fields a persona may not see are None."""

    error_code: str | None
    error: str  # the public message ("" when the run has not failed)
    error_detail: str | None  # the stored error text: staff
    worker_host: str | None  # staff
    submitted_by: str | None  # the submitter and staff
    settings: dict[str, Any]  # everything for staff, run_settings_public otherwise
    details_visible: bool


def run_view(run: EvalRun, user: Any) -> RunView:
    """What `user` (anonymous, another user, the submitter or staff) may see of `run`."""
    staff = run_details_visible(user)
    failure = run_failure(run)
    submitter = (
        run.submitted_by.get_username()
        if run.submitted_by_id and run_submitter_visible(user, run) and run.submitted_by is not None
        else None
    )
    return RunView(
        error_code=failure.code if failure else None,
        error=failure.message if failure else "",
        error_detail=(run.error or "") if staff else None,
        worker_host=(run.worker_host or "") if staff else None,
        submitted_by=submitter,
        settings=dict(run.settings or {}) if staff else run_settings_public(run.settings),
        details_visible=staff,
    )
