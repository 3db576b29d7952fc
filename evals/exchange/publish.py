"""Publishing a measured run's scores to its model's Hub repo, as ONE pull request of `.eval_results/` files.

Each benchmark of the run becomes `.eval_results/<benchmark>.yaml` in the Hub's format
(https://huggingface.co/docs/hub/eval-results): a list with one entry `{dataset: {id, task_id, revision},
value, date, source: {url, name}, notes}`, exactly what registry/services/reported.py reads back. The
dataset id is the Hub dataset the benchmark loads, the task id lm-eval's task name (so ARC's partitions
and TruthfulQA's mc1/mc2 stay apart), the value the run's primary metric as a fraction (the reader
takes numbers above 1 as percentages, so a fraction never reads back as something else), the notes
start with the shots ("5-shot, acc, ..."), and the source URL is the run's page here
(settings.PUBLIC_URL, LADDER_PUBLIC_URL).

A `HubPublication` row records each attempt: it is claimed `pending` before the Hub is asked (at most
one pending or published row per run, a database constraint), then becomes `published` with the PR's
number, URL and commit, or `failed` with the error and no PR fields. Publishing a run that has an open
publication returns it instead of opening a second PR; so does an open PR on the Hub with the run's
title (a commit whose answer was lost to a timeout may still have opened it, and commits are never
retried for that reason). The write token (settings.HUB_WRITE_TOKEN,
LADDER_HUB_WRITE_TOKEN) goes to the Hub client only: it is never stored, logged or returned.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import yaml
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from evals.benchmarks import BENCHMARKS
from evals.models import BenchmarkResult, EvalRun, HubPublication, Provenance
from registry import hub
from registry.models import LanguageModel

logger = logging.getLogger(__name__)

EVAL_RESULTS_DIR = ".eval_results"
# Far above any Hub request's time (timeouts, and the client's own retries of the preupload call).
PENDING_STALE_AFTER = timedelta(minutes=15)
_COMMIT_SHA = re.compile(r"^[0-9a-f]{40}$")


class PublishError(Exception):
    """Why a run was not published: a stable `code`, a message for people, and the HTTP status to answer."""

    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class PublishOutcome:
    """The publication of a run and whether this call opened its pull request (False: it existed)."""

    publication: HubPublication
    created: bool


def run_public_url(run: EvalRun) -> str:
    """The absolute URL of the run's page (settings.PUBLIC_URL + the page's path)."""
    return f"{settings.PUBLIC_URL}{reverse('evals:run-detail', args=[run.pk])}"


def eval_results_entry(run: EvalRun, result: BenchmarkResult) -> dict[str, Any]:
    """One `.eval_results` entry for a benchmark result of the run (the Hub's field names and order)."""
    spec = BENCHMARKS[result.benchmark]
    dataset: dict[str, Any] = {"id": spec.hub.dataset, "task_id": spec.lm_eval_task}
    if _COMMIT_SHA.match(spec.hub.revision or ""):
        dataset["revision"] = spec.hub.revision
    when = run.finished_at or run.created_at
    notes = (
        f"{result.n_shot}-shot, {result.primary_metric}, {result.n} items; LLM Ladder {run.suite} suite "
        f"(lm-evaluation-harness 0.4 definitions, {run.backend} backend, {run.dtype}), "
        f"model revision {run.revision_sha or run.revision}"
    )
    return {
        "dataset": dataset,
        "value": float(result.value),
        "date": when.date().isoformat(),
        "source": {"url": run_public_url(run), "name": f"LLM Ladder run #{run.pk}"},
        "notes": notes,
    }


def eval_results_files(run: EvalRun) -> dict[str, bytes]:
    """The files a publication of the run adds: `.eval_results/<benchmark>.yaml` -> YAML bytes."""
    files = {}
    for result in run.results.order_by("benchmark"):
        if result.benchmark not in BENCHMARKS:
            continue
        text = yaml.safe_dump([eval_results_entry(run, result)], sort_keys=False, allow_unicode=True)
        files[f"{EVAL_RESULTS_DIR}/{result.benchmark}.yaml"] = text.encode()
    return files


def pull_request_title(run: EvalRun) -> str:
    """The PR's title: names this service's host and the run, so a PR already opened for it is recognised."""
    host = urlsplit(settings.PUBLIC_URL).netloc or settings.PUBLIC_URL
    return f"Add evaluation results from LLM Ladder ({host}, run #{run.pk})"


def _pull_request_text(run: EvalRun, files: dict[str, bytes]) -> tuple[str, str]:
    title = pull_request_title(run)
    lines = [
        f"Scores of `{run.model.repo_id}` measured by LLM Ladder, run #{run.pk}: {run_public_url(run)}",
        "",
        "| benchmark | metric | shots | value | items |",
        "|---|---|---|---|---|",
    ]
    for result in run.results.order_by("benchmark"):
        lines.append(
            f"| {result.benchmark} | {result.primary_metric} | {result.n_shot} | {result.value:.4f} | {result.n} |"
        )
    lines += [
        "",
        f"Files: {', '.join(sorted(files))} (the Hub's `.eval_results` format). The run's page has the per-item "
        "results and how the scores were made.",
    ]
    return title, "\n".join(lines)


def _check(run: EvalRun) -> None:
    if run.status != EvalRun.Status.SUCCEEDED:
        raise PublishError("run_not_finished", _("Only a succeeded run can be published."))
    if run.provenance != Provenance.MEASURED:
        raise PublishError("run_not_measured", _("Only runs measured here can be published (this one was imported)."))
    if run.is_partial:
        raise PublishError(
            "run_partial", _("A partial run (a subset of benchmarks or items) is never ranked, so never published.")
        )
    model = run.model
    if model.weights != LanguageModel.Weights.OPEN or not (model.on_hub or model.hub_sha):
        raise PublishError("model_not_on_hub", _("The run's model has no repo on the Hub to publish to."))
    if not settings.HUB_WRITE_TOKEN:
        raise PublishError(
            "hub_write_token_missing",
            _("Publishing needs a Hub token with write access: set LADDER_HUB_WRITE_TOKEN."),
            status=503,
        )
    if not settings.PUBLIC_URL:
        raise PublishError(
            "public_url_missing",
            _("Publishing needs this service's public address for the run's link: set LADDER_PUBLIC_URL."),
            status=503,
        )


def _hub_error(exc: hub.HubError, repo_id: str) -> PublishError:
    """A Hub error as a PublishError whose message says what to do (never the token)."""
    status = getattr(exc, "status", None)
    if isinstance(exc, hub.HubTemporaryError):
        return PublishError(
            "hub_unavailable",
            _("The Hub did not answer (%(reason)s); nothing was published, try again later.") % {"reason": exc.kind},
            status=503,
        )
    if status in (401, 403):
        return PublishError(
            "hub_token_refused",
            _(
                "The Hub refused the write token (HTTP %(status)d): LADDER_HUB_WRITE_TOKEN must be a token with "
                "write access that may open pull requests on %(repo)s."
            )
            % {"status": status, "repo": repo_id},
            status=502,
        )
    if exc.kind == "not_found":
        return PublishError(
            "hub_repo_not_found", _("The Hub has no model repo %(repo)s.") % {"repo": repo_id}, status=502
        )
    if exc.kind == "unchanged":
        return PublishError(
            "hub_unchanged", _("%(repo)s already holds these exact results files.") % {"repo": repo_id}, status=409
        )
    return PublishError(
        "hub_error", _("The Hub refused the pull request (HTTP %(status)s).") % {"status": status or "?"}, status=502
    )


def _scrub(text: str) -> str:
    token = settings.HUB_WRITE_TOKEN
    return text.replace(token, "[token]") if token else text


def _claim(run: EvalRun, user: Any) -> tuple[HubPublication, bool]:
    """(the run's pending or published publication, False) or (a new pending one we own, True).

    A pending row older than PENDING_STALE_AFTER belongs to a process that died mid-request (killed web
    worker): it is marked failed, and this attempt looks for its PR by title before opening one.
    """
    cutoff = timezone.now() - PENDING_STALE_AFTER
    run.hub_publications.filter(status=HubPublication.Status.PENDING, created_at__lt=cutoff).update(
        status=HubPublication.Status.FAILED, error="interrupted: no answer was recorded", finished_at=timezone.now()
    )
    existing = run.hub_publications.filter(
        status__in=[HubPublication.Status.PENDING, HubPublication.Status.PUBLISHED]
    ).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return (
                HubPublication.objects.create(
                    run=run,
                    repo_id=run.model.repo_id,
                    requested_by=user if getattr(user, "is_authenticated", False) else None,
                ),
                True,
            )
    except IntegrityError:  # another request claimed it between our read and our insert
        return run.hub_publications.get(
            status__in=[HubPublication.Status.PENDING, HubPublication.Status.PUBLISHED]
        ), False


def hub_publication_create(*, run_id: int, user: Any = None) -> PublishOutcome:
    """Publish the run's scores to its model's Hub repo as one pull request; returns the publication.

    A run already published (or being published) returns that publication with `created=False` and asks
    the Hub nothing. Raises EvalRun.DoesNotExist, PermissionError (not staff) and PublishError (the run
    cannot be published, publishing is not configured, or the Hub refused or did not answer: then the
    attempt is recorded `failed` with the error and no pull request).
    """
    if user is not None and not getattr(user, "is_staff", False):
        raise PermissionError(_("Only staff can publish runs to the Hub."))
    run = EvalRun.objects.select_related("model").get(pk=run_id)
    _check(run)
    files = eval_results_files(run)
    if not files:
        raise PublishError("no_results", _("The run has no benchmark results to publish."))
    publication, claimed = _claim(run, user)
    if not claimed:
        if publication.status == HubPublication.Status.PENDING:
            raise PublishError("publication_in_progress", _("This run is being published already; reload in a moment."))
        return PublishOutcome(publication, False)
    title, description = _pull_request_text(run, files)
    try:
        # A PR this service opened for the run before (its answer lost to a timeout, or its row gone) is
        # taken as the publication: a second PR would only duplicate it.
        opened = next((pr for pr in hub.hub_model_pull_requests(run.model.repo_id) if pr.title == title), None)
        if opened is not None:
            endpoint = settings.HF_ENDPOINT.rstrip("/")
            commit = hub.HubCommit(
                sha=opened.sha,
                commit_url=f"{endpoint}/{run.model.repo_id}/commit/{opened.sha}",
                pr_num=opened.num,
                pr_url=f"{endpoint}/{run.model.repo_id}/discussions/{opened.num}",
            )
        else:
            commit = hub.hub_pull_request_open(
                run.model.repo_id, files, title=title, description=description, token=settings.HUB_WRITE_TOKEN
            )
    except hub.HubError as exc:
        error = _hub_error(exc, run.model.repo_id)
        HubPublication.objects.filter(pk=publication.pk).update(
            status=HubPublication.Status.FAILED,
            error=_scrub(f"{error.code}: {error.message} ({exc})")[:2000],
            finished_at=timezone.now(),
        )
        logger.warning("Run #%s not published to %s: %s", run.pk, run.model.repo_id, error.code)
        raise error from None
    except BaseException:
        # A bug or a worker limit: never leave a pending row that blocks every later attempt.
        HubPublication.objects.filter(pk=publication.pk).update(
            status=HubPublication.Status.FAILED, error="interrupted", finished_at=timezone.now()
        )
        raise
    publication.status = HubPublication.Status.PUBLISHED
    publication.files = sorted(files)
    publication.pr_num = commit.pr_num
    publication.pr_url = commit.pr_url
    publication.commit_sha = commit.sha
    publication.finished_at = timezone.now()
    publication.save(update_fields=["status", "files", "pr_num", "pr_url", "commit_sha", "finished_at"])
    logger.info("Run #%s published to %s as %s", run.pk, run.model.repo_id, commit.pr_url)
    return PublishOutcome(publication, opened is None)


def hub_publication_of(run: EvalRun) -> HubPublication | None:
    """The run's published (or pending) publication, if any (for its page and the admin)."""
    return (
        run.hub_publications.filter(status__in=[HubPublication.Status.PENDING, HubPublication.Status.PUBLISHED])
        .order_by("-created_at")
        .first()
    )
