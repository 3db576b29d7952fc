"""Pages where users trigger and watch evaluations: submit, queue, run detail, per-item results.

Thin: parse input, call one service (writes) or selector (reads), render. The queue page also answers
`?format=json&ids=1,2` with the progress of those runs, which static/js/queue.js polls; without
JavaScript the pages are complete static renders.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_http_methods, require_POST

from evals import services
from evals.forms import SubmitForm
from evals.models import EvalRun
from evals.selectors.runs import (
    PUBLIC_BACKEND_FACTS,
    run_details_visible,
    run_failure,
    run_get,
    run_list,
    run_paces,
    run_view,
)
from evals.selectors.runs import run_items as run_items_select

QUEUE_SECTION_SIZE = 25
ITEMS_PER_PAGE = 25
POLL_IDS_MAX = 100

# The service names the input an error is about ("model", "suite", ...); these are the form's names.
_SERVICE_FIELDS = {
    "model": "model_id",
    "model_id": "model_id",
    "revision": "revision",
    "suite": "suite",
    "benchmarks": "benchmarks",
    "limit": "limit",
    "backend": "backend",
    "dtype": "dtype",
}


def duration_display(seconds: float | None) -> str:
    """A short human duration ("2 h 5 min", "3 min 7 s", "12 s"); "" when unknown."""
    if seconds is None:
        return ""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 24:
        days, hours = divmod(hours, 24)
        return _("%(d)d d %(h)d h") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    if minutes:
        return _("%(m)d min %(s)d s") % {"m": minutes, "s": secs}
    return _("%(s)d s") % {"s": secs}


def run_timings(run: EvalRun, now=None) -> dict[str, object]:
    """Time in queue (until it started, or until now while queued) and duration (running or finished)."""
    now = now or timezone.now()
    queued_until = run.started_at or (now if run.status == EvalRun.Status.QUEUED else run.finished_at)
    queue_seconds = (queued_until - run.created_at).total_seconds() if queued_until and run.created_at else None
    duration_seconds = None
    if run.started_at:
        ended = run.finished_at or (now if run.status == EvalRun.Status.RUNNING else None)
        if ended:
            duration_seconds = (ended - run.started_at).total_seconds()
    return {
        "queue_seconds": queue_seconds,
        "queue_display": duration_display(queue_seconds),
        "duration_seconds": duration_seconds,
        "duration_display": duration_display(duration_seconds),
    }


def eta_display(run: EvalRun, pace) -> str:
    """What the ETA cell says: time left at the measured rate, "estimating" until it is measured, "" when
    the run is not running."""
    if run.status != EvalRun.Status.RUNNING:
        return ""
    if pace is None or pace.eta_seconds is None:
        return _("estimating…")
    if pace.eta_seconds < 60:
        return _("under a minute left")
    return _("about %(time)s left") % {"time": duration_display(pace.eta_seconds)}


def _decorate(runs, user, now=None) -> list[EvalRun]:
    """Attach timings, the ETA of running runs (from their measured rate), what this user may see
    (`run.view`, evals.selectors.runs.run_view) and the actions this user may take (the services' rule,
    so a button is shown exactly when the POST would succeed)."""
    now = now or timezone.now()
    runs = list(runs)
    paces = run_paces(runs, now)
    out = []
    for run in runs:
        run.timings = run_timings(run, now)
        run.pace = paces.get(run.pk)
        run.timings["eta_display"] = eta_display(run, run.pace)
        run.view = run_view(run, user)
        run.user_can_cancel = services.eval_run_can_cancel(user, run)
        run.user_can_retry = services.eval_run_can_retry(user, run)
        out.append(run)
    return out


def _field_for_error(exc: Exception) -> str | None:
    """The form field to show a SubmissionError next to (None: above the form)."""
    return _SERVICE_FIELDS.get(getattr(exc, "field", None) or "")


@login_required
@require_http_methods(["GET", "POST"])
def submit(request: HttpRequest) -> HttpResponse:
    """Ask for an evaluation; the service checks the model on the Hub and says exactly what is wrong."""
    if request.method == "POST":
        form = SubmitForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                run, created = services.eval_run_submit(
                    user=request.user,
                    model_id=data["model_id"],
                    revision=data["revision"],
                    suite=data["suite"],
                    backend=data["backend"],
                    dtype=data["dtype"],
                    benchmarks=list(data["benchmarks"]) or None,
                    limit=data["limit"],
                )
            except services.SubmissionError as exc:
                form.add_error(_field_for_error(exc), exc.message)
            else:
                if not created:
                    messages.info(
                        request,
                        _("This model was already submitted with the same revision and settings: here is run #%(id)d.")
                        % {"id": run.pk},
                    )
                elif not run.dispatched_at:
                    messages.warning(
                        request,
                        _(
                            "Run #%(id)d is saved and queued, but the task queue cannot be reached right now: "
                            "it will start automatically when the queue is back."
                        )
                        % {"id": run.pk},
                    )
                else:
                    messages.success(request, _("Run #%(id)d is queued.") % {"id": run.pk})
                return redirect("evals:run-detail", run_id=run.pk)
    else:
        initial = {}
        for key in ("model", "model_id"):
            if request.GET.get(key):
                initial["model_id"] = request.GET[key]
        if request.GET.get("suite"):
            initial["suite"] = request.GET["suite"]
        form = SubmitForm(initial=initial)
    return render(request, "evals/submit.html", {"form": form, "rate": services.submission_quota(request.user)})


QUEUE_SECTIONS = (
    ("running", (EvalRun.Status.RUNNING,)),
    ("queued", (EvalRun.Status.QUEUED,)),
    ("finished", (EvalRun.Status.SUCCEEDED,)),
    ("failed", (EvalRun.Status.FAILED, EvalRun.Status.CANCELLED)),
)


def _section_title(key: str) -> str:
    return {
        "running": _("Running"),
        "queued": _("Queued"),
        "finished": _("Finished"),
        "failed": _("Failed or cancelled"),
    }[key]


def _poll_json(request: HttpRequest) -> JsonResponse:
    """Progress of the runs named in ?ids= (the queue page's live bars poll this)."""
    try:
        ids = [int(part) for part in request.GET.get("ids", "").split(",") if part.strip()][:POLL_IDS_MAX]
    except ValueError:
        return JsonResponse({"error": _("ids must be a comma-separated list of run ids.")}, status=400)
    now = timezone.now()
    staff = run_details_visible(request.user)
    rows = []
    runs = list(
        EvalRun.objects.filter(pk__in=ids)
        .annotate(results_count=Count("results"))
        .select_related("model")
        .only(
            "id",
            "status",
            "progress_done",
            "progress_total",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "batch_size",
            "model__endpoint_api_key_env",  # a missing_key failure names it
        )
    )
    paces = run_paces(runs, now)
    for run in runs:
        timings = run_timings(run, now)
        failure = run_failure(run)
        rows.append(
            {
                "id": run.pk,
                "status": run.status,
                "status_display": run.get_status_display(),
                "done": run.progress_done,
                "total": run.progress_total,
                "percent": run.progress_percent,
                # The same rule as run_view: the stored text for staff, the public message for others.
                "error": run.error if staff else (failure.message if failure else ""),
                "queue_display": timings["queue_display"],
                "duration_display": timings["duration_display"],
                "eta_display": eta_display(run, paces.get(run.pk)),
                # Benchmarks scored so far: the run page reloads to show a new result as soon as it is stored.
                "results": run.results_count,
            }
        )
    return JsonResponse({"runs": rows})


@require_http_methods(["GET", "HEAD"])
def queue(request: HttpRequest) -> HttpResponse:
    """Queued, running, finished and failed runs; one section at a time with ?status=, else all of them."""
    if request.GET.get("format") == "json":
        return _poll_json(request)
    shown = request.GET.get("status", "")
    mine = request.GET.get("mine") == "1" and request.user.is_authenticated
    now = timezone.now()
    sections = []
    page_obj = None
    for key, statuses in QUEUE_SECTIONS:
        if shown and shown != key:
            continue
        filters: dict[str, object] = {"status": list(statuses)}
        if mine:
            filters["submitted_by"] = request.user
        qs = run_list(filters=filters).prefetch_related(None)  # the queue shows no results
        if key == "queued":
            qs = qs.order_by("created_at")  # first in, first served
        if shown:
            page_obj = Paginator(qs, QUEUE_SECTION_SIZE).get_page(request.GET.get("page"))
            runs, total = list(page_obj.object_list), page_obj.paginator.count
        else:
            runs = list(qs[: QUEUE_SECTION_SIZE + 1])
            total = None
        sections.append(
            {
                "key": key,
                "title": _section_title(key),
                "runs": _decorate(runs[:QUEUE_SECTION_SIZE], request.user, now),
                "more": not shown and len(runs) > QUEUE_SECTION_SIZE,
                "total": total,
            }
        )
    tabs = [("", _("All"))] + [(key, _section_title(key)) for key, _statuses in QUEUE_SECTIONS]
    return render(
        request,
        "evals/queue.html",
        {"sections": sections, "tabs": tabs, "shown": shown, "mine": mine, "page_obj": page_obj},
    )


def _get_run_or_404(run_id: int) -> EvalRun:
    try:
        run = run_get(run_id=run_id)
    except EvalRun.DoesNotExist as exc:
        raise Http404(_("No evaluation run #%(id)d.") % {"id": run_id}) from exc
    return run


@require_http_methods(["GET", "HEAD"])
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    """Status, progress, settings, provenance, timings, per-benchmark results and the error of one run."""
    run = _get_run_or_404(run_id)
    _decorate([run], request.user)
    results = list(run.results.all())
    for result in results:
        # The template reads the interval next to the result's own fields.
        ci_low = ci_high = None
        if result.stderr is not None:
            ci_low = max(0.0, result.value - 1.96 * result.stderr)
            ci_high = min(1.0, result.value + 1.96 * result.stderr)
        result.ci_low, result.ci_high = ci_low, ci_high  # type: ignore[attr-defined]
    publication = can_publish = None
    if request.user.is_staff:
        from evals.exchange.publish import hub_publication_of

        publication = hub_publication_of(run)
        can_publish = (
            publication is None
            and run.status == EvalRun.Status.SUCCEEDED
            and run.provenance == "measured"
            and not run.is_partial
            and bool(results)
        )
    return render(
        request,
        "evals/run_detail.html",
        {
            "run": run,
            "results": results,
            "publication": publication,
            "can_publish": can_publish,
            **run_settings_display(run, run.view.settings),  # type: ignore[attr-defined]  # set by _decorate
        },
    )


# Labels of the settings a run stores (evals.services), for the run page's tables.
_SETTING_LABELS = {
    "engine_version": _lazy("Engine version"),
    "seed": _lazy("Sample seed"),
    "sample_size": _lazy("Sample size (items per benchmark, at most)"),
    "limit": _lazy("Limit (first N items per benchmark)"),
    "batch_size": _lazy("Batch size"),
}
_PER_BENCHMARK_SETTINGS = ("n_shot", "items", "methods")


def items_rule(run: EvalRun, run_settings: dict) -> str:
    """Which items each benchmark ran, in words: the first N (a limit), the suite's fixed sample, or all."""
    if run.limit:
        return _("the first %(n)d of each benchmark") % {"n": run.limit}
    if run_settings.get("sample_size"):
        return _("a fixed sample of at most %(n)d per benchmark (seed %(seed)s), the same for every model") % {
            "n": run_settings["sample_size"],
            "seed": run_settings.get("seed", "—"),
        }
    return _("all of each benchmark's evaluation split")


def run_settings_display(run: EvalRun, run_settings: dict) -> dict[str, object]:
    """A run's settings as tables people read: one row per benchmark (shots, items, method), the scalar
    settings with labels, the backend's facts; keys only staff see (paths) go in `other_settings`."""
    per_benchmark = []
    benchmarks = list(run.benchmarks or [])
    for key in _PER_BENCHMARK_SETTINGS:
        for bench in run_settings.get(key) or {}:
            if bench not in benchmarks:
                benchmarks.append(bench)
    for bench in benchmarks:
        row = {"benchmark": bench}
        for key in _PER_BENCHMARK_SETTINGS:
            value = (run_settings.get(key) or {}).get(bench) if isinstance(run_settings.get(key), dict) else None
            row[key] = value
        per_benchmark.append(row)
    scalar = [
        (label, run_settings[key])
        for key, label in _SETTING_LABELS.items()
        if key in run_settings and run_settings[key] not in (None, "")
    ]
    backend = run_settings.get("backend")
    if not isinstance(backend, dict):
        backend = {}
    # Facts outside PUBLIC_BACKEND_FACTS (the weights path on the worker) reach staff only: labelled so.
    backend_rows = [(key, value, key not in PUBLIC_BACKEND_FACTS) for key, value in sorted(backend.items())]
    known = {*_SETTING_LABELS, *_PER_BENCHMARK_SETTINGS, "backend"}
    other = [
        (key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True))
        for key, value in sorted(run_settings.items())
        if key not in known
    ]
    return {
        "items_rule": items_rule(run, run_settings),
        "settings_per_benchmark": per_benchmark,
        "settings_scalar": scalar,
        "settings_backend": backend_rows,
        "settings_other": other,
    }


@require_http_methods(["GET", "HEAD"])
def run_items(request: HttpRequest, run_id: int) -> HttpResponse:
    """Per-item results, paginated, filtered by benchmark and by correct/incorrect."""
    run = _get_run_or_404(run_id)
    benchmark = request.GET.get("benchmark") or None
    outcome = request.GET.get("outcome", "")
    benchmarks = list(run.benchmarks or [])
    if benchmark and benchmark not in benchmarks:
        benchmarks.append(benchmark)
    qs = run_items_select(run_id=run.pk, benchmark=benchmark)
    if outcome == "correct":
        qs = qs.filter(correct=True)
    elif outcome == "incorrect":
        qs = qs.filter(correct=False)
    page_obj = Paginator(qs, ITEMS_PER_PAGE).get_page(request.GET.get("page"))
    items = list(page_obj.object_list)
    for item in items:
        lls = list(item.loglikelihoods or [])
        choices = list(item.choices or [])
        item.choice_rows = [  # type: ignore[attr-defined]  # read by the template
            {
                "index": i,
                "text": text,
                "loglikelihood": lls[i] if i < len(lls) else None,
                "is_target": item.target == i or item.target == text,
                "is_prediction": item.prediction == i or item.prediction == text,
            }
            for i, text in enumerate(choices)
        ]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "evals/run_items.html",
        {
            "run": run,
            "items": items,
            "page_obj": page_obj,
            "benchmark": benchmark or "",
            "benchmarks": benchmarks,
            "outcome": outcome,
            "query": query.urlencode(),
        },
    )


def _back(request: HttpRequest, run: EvalRun) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect(reverse("evals:run-detail", args=[run.pk]))


@login_required
@require_POST
def run_cancel(request: HttpRequest, run_id: int) -> HttpResponse:
    """Cancel by the services' rule (the submitter or staff, while queued or running); others get 403."""
    run = _get_run_or_404(run_id)
    try:
        run = services.eval_run_cancel(run_id=run.pk, user=request.user)
    except services.SubmissionError as exc:
        messages.error(request, exc.message)
    else:
        if run.status == EvalRun.Status.CANCELLED:
            messages.success(request, _("Run #%(id)d is cancelled.") % {"id": run.pk})
        else:
            messages.success(request, _("Run #%(id)d will stop after its current batch.") % {"id": run.pk})
    return _back(request, run)


@login_required
@require_POST
def run_retry(request: HttpRequest, run_id: int) -> HttpResponse:
    """Retry by the services' rule (staff, once failed or cancelled); it resumes from its stored items."""
    run = _get_run_or_404(run_id)
    try:
        run = services.eval_run_retry(run_id=run.pk, user=request.user)
    except services.SubmissionError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Run #%(id)d is queued again.") % {"id": run.pk})
    return _back(request, run)


@login_required
@require_POST
def run_publish(request: HttpRequest, run_id: int) -> HttpResponse:
    """Staff publish the run's scores to its model's Hub repo as one pull request (or see the one opened)."""
    from evals.exchange import publish

    run = _get_run_or_404(run_id)
    if not request.user.is_staff:
        raise PermissionDenied
    try:
        outcome = publish.hub_publication_create(run_id=run.pk, user=request.user)
    except publish.PublishError as exc:
        messages.error(request, exc.message)
    else:
        if outcome.created:
            messages.success(
                request, _("Pull request opened on the Hub: %(url)s") % {"url": outcome.publication.pr_url}
            )
        else:
            messages.info(request, _("This run was published before: %(url)s") % {"url": outcome.publication.pr_url})
    return _back(request, run)
