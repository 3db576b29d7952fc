"""Writes of the evals app: submit, dispatch, execute, cancel, retry and reap evaluation runs.

The life of a run: `eval_run_submit` (checks, stores the run as queued) -> `eval_run_enqueue` after
commit (sends a message to the `evals` queue, or leaves `dispatched_at` empty when the broker is
down; `eval_runs_dispatch` sends those later) -> `eval_run_execute` on a worker (claims the run with a
conditional UPDATE, so a redelivered message does nothing; stores per-item results batch by batch,
so a killed worker resumes where it stopped) -> succeeded | failed | cancelled. `eval_runs_reap`
puts runs whose heartbeat stopped back in the queue, or fails them after EVAL_MAX_ATTEMPTS.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from evals.models import BenchmarkResult, EvalRun, ItemResult
from evals.types import ItemOutcome, ModelSpec
from registry.models import LanguageModel

if TYPE_CHECKING:
    from registry.hub import HubModel
    from registry.services.hub_facts import WeightsSize

logger = logging.getLogger(__name__)

DTYPES = ("auto", "float32", "float16", "bfloat16")
MODEL_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
REVISION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
MAX_LIMIT = 100_000
# Seconds a run may wait after its creation before the dispatcher sends it (the on-commit send
# normally does it within milliseconds; this avoids racing it).


class SubmissionError(Exception):
    """A submission (or an action on a run) was refused; `message` is shown to the user as is.

    `code` is stable and machine-readable (`model_not_found`, `gated`, ...); `field` names the input
    the error is about, where there is one.
    """

    def __init__(self, code: str, message: str, *, field: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.status = status

    def __str__(self) -> str:
        return self.message


class RunStateError(SubmissionError):
    """The run is not in a state that allows the action (cancel a finished run, retry a running one)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, status=409)


class _ClaimLost(Exception):
    """This worker no longer owns the run (reaped, cancelled, or claimed by another attempt)."""


class _StopRequested(Exception):
    def __init__(self, reason: str, *, cancelled: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.cancelled = cancelled


# --------------------------------------------------------------------------------------------
# submission
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    suite: str
    benchmarks: list[str]
    limit: int | None
    is_partial: bool
    settings: dict[str, Any]


def _plan_settings(*, suite: str, benchmarks: list[str] | None, limit: int | None) -> _Plan:
    """Validate suite/benchmarks/limit against the suites and return what the run row stores."""
    from evals.engine import ENGINE_VERSION
    from evals.suites import SUITES

    if suite not in SUITES:
        raise SubmissionError(
            "unknown_suite",
            _("Unknown suite %(suite)r; choose one of: %(choices)s.") % {"suite": suite, "choices": ", ".join(SUITES)},
            field="suite",
        )
    spec = SUITES[suite]
    chosen = list(spec.benchmarks)
    if benchmarks:
        unknown = [b for b in benchmarks if b not in spec.benchmarks]
        if unknown:
            raise SubmissionError(
                "unknown_benchmark",
                _("Benchmark %(bench)s is not part of suite %(suite)s (it has: %(choices)s).")
                % {"bench": ", ".join(map(repr, unknown)), "suite": suite, "choices": ", ".join(spec.benchmarks)},
                field="benchmarks",
            )
        wanted = set(benchmarks)
        chosen = [b for b in spec.benchmarks if b in wanted]  # the suite's order, no repeats
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise SubmissionError(
                "invalid_limit",
                _("The limit must be a whole number of items between 1 and %(max)d.") % {"max": MAX_LIMIT},
                field="limit",
            )
    is_partial = limit is not None or chosen != list(spec.benchmarks)
    run_settings = {
        "n_shot": {b: spec.n_shot.get(b, 0) for b in chosen},
        "limit": limit,
        "seed": spec.seed,
        "sample_size": spec.sample_size,
        "engine_version": ENGINE_VERSION,
    }
    return _Plan(suite=suite, benchmarks=chosen, limit=limit, is_partial=is_partial, settings=run_settings)


def _check_backend_dtype(backend: str, dtype: str) -> None:
    from evals.backends import BACKENDS

    if backend not in BACKENDS:
        raise SubmissionError(
            "unknown_backend",
            _("Unknown backend %(backend)r; choose one of: %(choices)s.")
            % {"backend": backend, "choices": ", ".join(BACKENDS)},
            field="backend",
        )
    if dtype not in DTYPES:
        raise SubmissionError(
            "unknown_dtype",
            _("Unknown dtype %(dtype)r; choose one of: %(choices)s.") % {"dtype": dtype, "choices": ", ".join(DTYPES)},
            field="dtype",
        )


def _hub_error_to_submission(exc: Exception, model_id: str, revision: str) -> SubmissionError:
    kind = getattr(exc, "kind", "")
    if kind == "not_found":
        return SubmissionError(
            "model_not_found",
            _("There is no model %(id)s on the Hugging Face Hub (or it is private).") % {"id": model_id},
            field="model",
            status=404,
        )
    if kind == "gated":
        return SubmissionError(
            "gated",
            _(
                "%(id)s is gated on the Hub and this server has no access to it; accept its terms with the HF_TOKEN "
                "account first."
            )
            % {"id": model_id},
            field="model",
        )
    if kind == "disabled":
        return SubmissionError("disabled", _("%(id)s is disabled on the Hub.") % {"id": model_id}, field="model")
    if kind == "revision_not_found":
        return SubmissionError(
            "revision_not_found",
            _("%(id)s has no revision %(rev)r on the Hub.") % {"id": model_id, "rev": revision},
            field="revision",
        )
    if kind == "bad_request":
        return SubmissionError(
            "invalid_model_id", _("The Hub refused the model id %(id)r.") % {"id": model_id}, field="model"
        )
    return SubmissionError(
        "hub_unavailable",
        _(
            "The Hugging Face Hub did not answer while checking %(id)s; nothing was saved, please try again in a few "
            "minutes."
        )
        % {"id": model_id},
        field="model",
        status=503,
    )


@dataclass(frozen=True)
class _HubCheck:
    """What the Hub said about a submission, gathered before anything is written."""

    info: HubModel  # the main branch: what the registry row describes
    sha: str  # the pinned commit of the requested revision
    revision_info: HubModel  # the requested revision's own metadata: what the policy checks
    size: WeightsSize
    license_key: str
    config_file: dict[str, Any] | None  # main's config.json for the registry write (None: row unchanged)


def _check_revision_name(revision: str) -> None:
    """Refuse a pull-request ref before anything else: anyone can open one on a public Hub repo."""
    if revision.lower().startswith("refs/pr/"):
        raise SubmissionError(
            "revision_pull_request",
            _(
                "%(rev)s is a pull request: anyone can open one on a public Hub repository, so its weights are not "
                "the model's. Only the main branch is evaluated (or a revision staff allowed for this model)."
            )
            % {"rev": revision},
            field="revision",
        )


def _revision_resolve(
    model_id: str, revision: str, main: HubModel, registered: LanguageModel | None
) -> tuple[str, HubModel]:
    """(pinned sha, that revision's own model info) of a revision users may submit; raises SubmissionError.

    "main" (or main's current sha) always; another branch, tag or commit only when staff listed it on
    the model (AllowedRevision). Any other commit is a revision swap, be it a pull request's or an old one.
    """
    from registry import hub

    if revision in ("main", "refs/heads/main", main.sha):
        return main.sha, main
    allowed = set(registered.allowed_revisions.values_list("revision", flat=True)) if registered else set()
    if revision not in allowed:
        if not SHA_RE.match(revision) and hub.hub_model_refs(model_id).sha_of(revision) is None:
            raise SubmissionError(
                "revision_not_found",
                _("%(id)s has no revision %(rev)r on the Hub.") % {"id": model_id, "rev": revision},
                field="revision",
            )
        raise SubmissionError(
            "revision_not_allowed",
            _(
                "%(rev)s is not the current main of %(id)s (commit %(sha)s): only the main branch is evaluated, "
                "unless staff allowed this branch, tag or commit for the model."
            )
            % {"rev": revision, "id": model_id, "sha": main.sha[:12]},
            field="revision",
        )
    info = hub.hub_model_info(model_id, revision=revision)
    return info.sha, info


def _hub_check(model_id: str, revision: str, registered: LanguageModel | None) -> _HubCheck:
    """Ask the Hub about a submission (no writes): the model's checks, the pinned revision and its facts.

    The size and license the policy checks are the pinned revision's own (its safetensors metadata or
    its weight files' sizes, never the card); raises SubmissionError for every refusal.
    """
    from registry import hub
    from registry.services import hub_sync
    from registry.services.hub_facts import model_license, weights_parameter_bound

    try:
        info = hub.hub_model_info(model_id)
        if info.private:
            raise SubmissionError(
                "private",
                _("%(id)s is private on the Hub; only public models can be evaluated.") % {"id": model_id},
                field="model",
            )
        if info.disabled:
            raise SubmissionError("disabled", _("%(id)s is disabled on the Hub.") % {"id": model_id}, field="model")
        if info.gated and not getattr(settings, "HF_TOKEN", "") and not _env("HF_TOKEN"):
            raise SubmissionError(
                "gated",
                _("%(id)s is gated on the Hub (%(how)s approval) and this server has no Hub token to download it.")
                % {"id": model_id, "how": info.gated},
                field="model",
            )
        if info.pipeline_tag != "text-generation":
            raise SubmissionError(
                "not_text_generation",
                _(
                    "%(id)s is not a text-generation model (its Hub pipeline is %(tag)s); only causal language models "
                    "can be evaluated."
                )
                % {"id": model_id, "tag": info.pipeline_tag or _("not declared")},
                field="model",
            )
        if not info.sha:
            raise hub.HubTemporaryError(f"the Hub sent no commit sha for {model_id}", kind="malformed")
        sha, at_revision = _revision_resolve(model_id, revision, info, registered)
        if not SHA_RE.match(sha or ""):
            raise hub.HubTemporaryError(f"the Hub sent no commit sha for {model_id}@{revision}", kind="malformed")
        size = weights_parameter_bound(at_revision)
        if size.parameters is None:
            size = weights_parameter_bound(at_revision, hub.hub_model_files(model_id, revision=sha))
        unchanged = registered is not None and registered.on_hub and registered.hub_sha == info.sha
        config_file = None if unchanged else hub_sync.hub_model_config_file(info)
    except SubmissionError:
        raise
    except hub.HubError as exc:
        raise _hub_error_to_submission(exc, model_id, revision) from exc
    license_key, _raw = model_license(at_revision)
    return _HubCheck(info, sha, at_revision, size, license_key, config_file)


def _env(name: str) -> str:
    import os

    return os.environ.get(name, "")


def _check_model_policy(
    model_id: str,
    *,
    parameters: int | None,
    size_basis: str,
    license_key: str,
    revision: str = "",
    weight_bytes: int = 0,
) -> None:
    """Size and license rules, one for every way a model is submitted; raises SubmissionError.

    `size_basis` says where `parameters` comes from: "safetensors" (the Hub's count from the weights'
    headers), "files" (an upper bound from the weight files' sizes), or a registry source for models
    checked from the registry alone (local weights: staff set them). A count only the model card states
    ("card") is never trusted: anyone can write any number there.
    """
    if parameters is None or size_basis in ("", LanguageModel.ParameterSource.CARD):
        raise SubmissionError(
            "unknown_size",
            _(
                "The size of %(id)s cannot be verified: it has no safetensors metadata and no weight files "
                "(.safetensors, .bin, .pt, .gguf) whose sizes bound it, and a size stated only in the model card "
                "is not trusted, so it cannot be scheduled."
            )
            % {"id": model_id},
            field="model",
        )
    if parameters > settings.EVAL_MAX_PARAMETERS:
        params = {"id": model_id, "params": f"{parameters:,}", "max": f"{settings.EVAL_MAX_PARAMETERS:,}"}
        if size_basis == "files":
            raise SubmissionError(
                "too_large",
                _(
                    "%(id)s (revision %(rev)s) has %(size)s of weight files without safetensors metadata, which may "
                    "hold up to %(params)s parameters; this server evaluates models up to %(max)s."
                )
                % {**params, "rev": revision[:12], "size": f"{weight_bytes:,} bytes"},
                field="model",
            )
        raise SubmissionError(
            "too_large",
            _("%(id)s has %(params)s parameters; this server evaluates models up to %(max)s.") % params,
            field="model",
        )
    if license_key.lower() in ("", "unknown", "other"):
        raise SubmissionError(
            "unknown_license",
            _(
                "The license of %(id)s is unknown (the model card declares none we recognise), so it cannot be "
                "evaluated here."
            )
            % {"id": model_id},
            field="model",
        )


def _check_registry_policy(model: LanguageModel) -> None:
    """The policy for a model checked from the registry alone (staff-set local weights)."""
    _check_model_policy(
        model.repo_id,
        parameters=model.parameters,
        size_basis=model.parameters_source or LanguageModel.ParameterSource.ADMIN,
        license_key=model.license.key if model.license else "",
    )


def _check_registry_known_size(model: LanguageModel) -> None:
    """Refuse at once a model the registry already knows to be too large (catalog, Hub metadata or admin).

    The registry's count is not the policy's proof (that is the pinned revision's own metadata, checked
    after the Hub answers), but a model it records as larger than EVAL_MAX_PARAMETERS is refused without
    asking the Hub: the answer is the same, and it comes at once even when the Hub is unreachable. A count
    from the model card alone is not trusted for this either.
    """
    if model.parameters is None or model.parameters_source in ("", LanguageModel.ParameterSource.CARD):
        return
    if model.parameters > settings.EVAL_MAX_PARAMETERS:
        raise SubmissionError(
            "too_large",
            _(
                "%(id)s has %(params)s parameters according to the registry (source: %(source)s); this server "
                "evaluates models up to %(max)s."
            )
            % {
                "id": model.repo_id,
                "params": f"{model.parameters:,}",
                "source": model.get_parameters_source_display(),
                "max": f"{settings.EVAL_MAX_PARAMETERS:,}",
            },
            field="model",
        )


def _check_worker_key(model: LanguageModel) -> None:
    """Refuse an endpoint run whose API key variable the evaluation workers do not have.

    Known only where settings.WORKER_KEY_VARIABLES lists the workers' key variables (`make run` sets it:
    one environment for all its processes); otherwise the worker fails the run at its start, naming the
    variable (`missing_key`).
    """
    have = settings.WORKER_KEY_VARIABLES
    if have is None or not model.endpoint_api_key_env or model.endpoint_api_key_env in have:
        return
    raise SubmissionError(
        "missing_key",
        _(
            "No evaluation worker can run %(id)s: its API key variable %(var)s is not set in the workers' "
            "environment. Set %(var)s (e.g. in .env.keys) and restart the workers, then submit again."
        )
        % {"id": model.repo_id, "var": model.endpoint_api_key_env},
        field="backend",
    )


def _resolved_at_run_time(model: LanguageModel, backend: str) -> bool:
    """Local weights and closed endpoints have no Hub sha: the worker records what the backend ran."""
    return bool(model.local_weights and backend == "transformers") or model.weights == LanguageModel.Weights.CLOSED


def eval_run_find_duplicate(
    *, model: LanguageModel, revision_sha: str, suite: str, backend: str, dtype: str
) -> EvalRun | None:
    """The queued, running or succeeded complete run of this model sha, suite, backend and dtype, if any.

    For local weights and closed endpoints (sha recorded by the worker) any revision matches.
    """
    qs = EvalRun.objects.filter(
        model=model,
        suite=suite,
        backend=backend,
        dtype=dtype,
        is_partial=False,
        status__in=[EvalRun.Status.QUEUED, EvalRun.Status.RUNNING, EvalRun.Status.SUCCEEDED],
    )
    if not _resolved_at_run_time(model, backend):
        qs = qs.filter(revision_sha=revision_sha)
    return qs.order_by("-created_at").first()


def eval_run_submit(
    *,
    user: Any,
    model_id: str,
    revision: str = "main",
    suite: str = "quick",
    backend: str = "transformers",
    dtype: str = "auto",
    benchmarks: list[str] | None = None,
    limit: int | None = None,
) -> tuple[EvalRun, bool]:
    """Check a model and queue its evaluation; returns (run, created).

    The Hub is asked first (exists, public, not gated without a token, text-generation) and the
    revision is pinned: "main" (its current sha) always, another branch, tag or commit only when staff
    allowed it on the model (AllowedRevision), a pull request never. Size (within
    EVAL_MAX_PARAMETERS) and license are checked on that revision's own metadata: its safetensors
    count or its weight files' sizes, never the card. Models with local weights (transformers backend)
    and closed models (openai backend, endpoint required) are checked from the registry alone.
    `created` is False when an identical complete run (same model sha, suite, backend, dtype) is
    queued, running or succeeded: that run is returned. A partial run (benchmark subset or limit) is
    always new and never ranked. Then the submission quota (accepted runs only). Only an accepted
    submission writes: the registry row (created or refreshed from main) and the run, in one
    transaction. The run is stored as queued even when the broker is down (then `run.dispatched_at`
    is None and the dispatcher sends it later).

    Raises SubmissionError(code, message) with a user-facing message for every refusal; a refusal
    writes nothing.
    """
    model_id = (model_id or "").strip()
    revision = (revision or "main").strip() or "main"
    if not MODEL_ID_RE.match(model_id) or ".." in model_id:
        raise SubmissionError(
            "invalid_model_id",
            _("%(id)r is not a model id; use the Hub form organization/name (e.g. HuggingFaceTB/SmolLM2-135M).")
            % {"id": model_id[:200]},
            field="model",
        )
    if not REVISION_RE.match(revision) or ".." in revision:
        raise SubmissionError(
            "invalid_revision",
            _("%(rev)r is not a valid revision (a branch, tag or commit sha).") % {"rev": revision[:200]},
            field="revision",
        )
    _check_revision_name(revision)
    _check_backend_dtype(backend, dtype)
    plan = _plan_settings(suite=suite, benchmarks=benchmarks, limit=limit)

    # Every check (the Hub included) comes before any write: a refused submission changes nothing.
    model = LanguageModel.objects.filter(repo_id=model_id).select_related("license").first()
    checked: _HubCheck | None = None
    if model is not None and model.weights == LanguageModel.Weights.CLOSED:
        if backend != "openai":
            raise SubmissionError(
                "closed_model_backend",
                _("%(id)s is a closed model: it can only be evaluated through its API endpoint (backend openai).")
                % {"id": model_id},
                field="backend",
            )
        if not model.endpoint_base_url:
            raise SubmissionError(
                "no_endpoint",
                _("%(id)s is a closed model with no API endpoint configured; staff must add one first.")
                % {"id": model_id},
                field="model",
            )
        _check_worker_key(model)
        revision_sha = ""
    elif model is not None and model.local_weights and backend == "transformers":
        _check_registry_policy(model)
        revision_sha = ""
    elif backend == "openai" and (model is None or not model.endpoint_base_url):
        raise SubmissionError(
            "no_endpoint",
            _(
                "The openai backend needs an API endpoint configured on %(id)s; use the transformers backend for "
                "open weights."
            )
            % {"id": model_id},
            field="backend",
        )
    else:
        # What the registry already knows comes first: no Hub round trip (or Hub outage) to refuse it.
        if model is not None:
            _check_registry_known_size(model)
            if backend == "openai":
                _check_worker_key(model)
        from registry.hub import hub_interactive

        with hub_interactive():
            checked = _hub_check(model_id, revision, model)
        _check_model_policy(
            model_id,
            parameters=checked.size.parameters,
            size_basis=checked.size.basis,
            license_key=checked.license_key,
            revision=checked.sha,
            weight_bytes=checked.size.weight_bytes,
        )
        revision_sha = checked.sha

    def duplicate() -> EvalRun | None:
        current = model if model is not None else LanguageModel.objects.filter(repo_id=model_id).first()
        if plan.is_partial or current is None:
            return None
        return eval_run_find_duplicate(
            model=current, revision_sha=revision_sha, suite=suite, backend=backend, dtype=dtype
        )

    existing = duplicate()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            _check_submission_quota(user, lock=True)
            if checked is not None:
                from registry.services import hub_sync

                model, _outcome = hub_sync.hub_model_upsert(checked.info, config_file=checked.config_file)
            assert model is not None
            run = eval_run_create(
                model=model,
                revision=revision,
                revision_sha=revision_sha,
                suite=plan.suite,
                benchmarks=plan.benchmarks,
                limit=plan.limit,
                backend=backend,
                dtype=dtype,
                user=user if getattr(user, "is_authenticated", False) else None,
                plan=plan,
            )
    except IntegrityError:
        # A concurrent identical submission won the race: the unique constraint kept one run.
        existing = duplicate()
        if existing is None:
            raise
        return existing, False
    except Exception as exc:
        from registry.hub import HubError

        if isinstance(exc, HubError):  # config.json could not be read for the registry write: nothing saved
            raise _hub_error_to_submission(exc, model_id, revision) from exc
        raise
    run.refresh_from_db(fields=["dispatched_at"])  # sent (or not) once the transaction committed
    return run, True


def submission_quota(user: Any) -> dict[str, Any] | None:
    """How many runs the user created in the submission window (the "submissions" rate, e.g. 5/day).

    Returns {"used", "limit", "window" (a timedelta), "window_display"}, or None when unlimited.
    Counted from the runs table, so every web process and the API agree.
    """
    rate = settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {}).get("submissions")
    if not rate or not getattr(user, "is_authenticated", False):
        return None
    num, period = rate.split("/")
    unit = period.strip()[0]
    window = timedelta(seconds={"s": 1, "m": 60, "h": 3600, "d": 86400}[unit])
    used = EvalRun.objects.filter(submitted_by=user, created_at__gte=timezone.now() - window).count()
    names = {"s": _("second"), "m": _("minute"), "h": _("hour"), "d": _("day")}
    return {"used": used, "limit": int(num), "window": window, "window_display": names[unit]}


def _check_submission_quota(user: Any, *, lock: bool = False) -> None:
    """Refuse (429 submission_limit) a user who used up the quota; counted from accepted runs only.

    With `lock` (inside the transaction that creates the run) the user's row is locked first, so two
    submissions of one user at once are counted one after the other and cannot both take the last slot.
    """
    if lock and getattr(user, "is_authenticated", False):
        from django.contrib.auth import get_user_model

        get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()
    quota = submission_quota(user)
    if quota and quota["used"] >= quota["limit"]:
        raise SubmissionError(
            "submission_limit",
            ngettext(
                "You have reached the limit of %(num)d submission per %(window)s; try again later.",
                "You have reached the limit of %(num)d submissions per %(window)s; try again later.",
                quota["limit"],
            )
            % {"num": quota["limit"], "window": quota["window_display"]},
            status=429,
        )


def eval_run_create(
    *,
    model: LanguageModel,
    suite: str,
    benchmarks: list[str] | None = None,
    limit: int | None = None,
    backend: str = "transformers",
    dtype: str = "auto",
    device: str = "auto",
    batch_size: int = 8,
    revision: str = "main",
    revision_sha: str = "",
    user: Any = None,
    dispatch: bool = True,
    plan: _Plan | None = None,
) -> EvalRun:
    """Store a queued run (no policy checks: the caller did them) and, with dispatch, send it after commit.

    Raises SubmissionError for an unknown suite/benchmark/backend/dtype or a bad limit, and
    IntegrityError when an identical complete run is already queued, running or succeeded.
    """
    _check_backend_dtype(backend, dtype)
    if plan is None:
        plan = _plan_settings(suite=suite, benchmarks=benchmarks, limit=limit)
    from evals.engine import ENGINE_VERSION

    run_settings = dict(plan.settings)
    run_settings["batch_size"] = batch_size
    with transaction.atomic():
        run = EvalRun.objects.create(
            model=model,
            revision=revision,
            revision_sha=revision_sha,
            suite=plan.suite,
            benchmarks=plan.benchmarks,
            backend=backend,
            dtype=dtype,
            device=device,
            batch_size=batch_size,
            limit=plan.limit,
            is_partial=plan.is_partial,
            settings=run_settings,
            engine_version=ENGINE_VERSION,
            submitted_by=user,
        )
        if dispatch:
            transaction.on_commit(lambda: eval_run_enqueue(run_id=run.pk))
        # A first run turns a fresh install's default view from the reported board to the measured one.
        _board_changed()
    logger.info("eval run %s created for %s (%s, %s)", run.pk, model.repo_id, plan.suite, backend)
    if dispatch and not transaction.get_connection().in_atomic_block:
        run.refresh_from_db(fields=["dispatched_at"])
    return run


# --------------------------------------------------------------------------------------------
# dispatch
# --------------------------------------------------------------------------------------------


def eval_run_enqueue(*, run_id: int) -> bool:
    """Send one message for the run to the `evals` queue and record `dispatched_at`.

    Returns False (and logs) when the broker cannot be reached: the run stays queued with
    `dispatched_at` unchanged, and `eval_runs_dispatch` sends it later. Never raises for broker errors.
    """
    from evals.tasks import eval_run_execute_task

    try:
        eval_run_execute_task.apply_async(
            args=[run_id],
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1},
        )
    except Exception as exc:  # noqa: BLE001 - kombu raises many kinds; all mean "not sent"
        logger.warning("eval run %s: broker unavailable, left for the dispatcher (%s)", run_id, exc)
        return False
    EvalRun.objects.filter(pk=run_id).update(dispatched_at=timezone.now())
    return True


def eval_runs_dispatch() -> int:
    """Send queued runs that were never sent (broker was down) or sent long ago and never claimed.

    Returns how many were sent. Sending twice is harmless: the worker's claim runs a run once.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.EVAL_REDISPATCH_AFTER)
    grace = now - timedelta(seconds=settings.EVAL_DISPATCH_GRACE)
    ids = list(
        EvalRun.objects.filter(status=EvalRun.Status.QUEUED, cancel_requested=False)
        .filter(Q(dispatched_at__isnull=True, created_at__lt=grace) | Q(dispatched_at__lt=stale))
        .order_by("created_at")
        .values_list("pk", flat=True)[:500]
    )
    sent = 0
    for run_id in ids:
        if not eval_run_enqueue(run_id=run_id):
            break  # the broker is still down: try again on the next beat
        sent += 1
    if ids:
        logger.info("dispatcher sent %d of %d waiting eval runs", sent, len(ids))
    return sent


# --------------------------------------------------------------------------------------------
# execution
# --------------------------------------------------------------------------------------------


def model_spec(model: LanguageModel, *, revision: str = "main") -> ModelSpec:
    """How a backend reaches this registry model."""
    return ModelSpec(
        repo_id=model.repo_id,
        revision=revision or "main",
        local_weights=model.local_weights,
        endpoint_base_url=model.endpoint_base_url,
        endpoint_model_name=model.endpoint_model_name,
        endpoint_api_key_env=model.endpoint_api_key_env,
    )


def _worker_host() -> str:
    try:
        from celery import current_task

        hostname = getattr(getattr(current_task, "request", None), "hostname", None)
    except Exception:  # noqa: BLE001
        hostname = None
    return (hostname or socket.gethostname())[:200]


def eval_run_claim(*, run_id: int) -> int | None:
    """Take the run for this worker with one conditional UPDATE; returns this attempt's number, or None.

    Claims a QUEUED run, or a RUNNING run whose heartbeat is older than EVAL_HEARTBEAT_TIMEOUT (its
    worker died and Redis redelivered the message before the reaper ran) while attempts remain.
    Anything else (running elsewhere, finished, cancelled) is not claimed, so a duplicate message
    does nothing.
    """
    now = timezone.now()
    take = {
        "status": EvalRun.Status.RUNNING,
        "attempts": F("attempts") + 1,
        "worker_host": _worker_host(),
        "started_at": Coalesce(F("started_at"), now),
        "heartbeat_at": now,
        "finished_at": None,
        "error": "",
    }
    claimed = EvalRun.objects.filter(pk=run_id, status=EvalRun.Status.QUEUED, cancel_requested=False).update(**take)
    if not claimed:
        stale = now - timedelta(seconds=settings.EVAL_HEARTBEAT_TIMEOUT)
        claimed = EvalRun.objects.filter(
            pk=run_id,
            status=EvalRun.Status.RUNNING,
            cancel_requested=False,
            heartbeat_at__lt=stale,
            attempts__lt=settings.EVAL_MAX_ATTEMPTS,
        ).update(**take)
        if claimed:
            logger.warning("eval run %s: taken over from a worker whose heartbeat stopped", run_id)
    if not claimed:
        # A queued run whose cancellation was requested before any worker saw it.
        EvalRun.objects.filter(pk=run_id, status=EvalRun.Status.QUEUED, cancel_requested=True).update(
            status=EvalRun.Status.CANCELLED, finished_at=now
        )
        return None
    return EvalRun.objects.values_list("attempts", flat=True).get(pk=run_id)


class _RunHeartbeat:
    """Beats on the run row from a daemon thread for the whole attempt, download and model loading included.

    The engine's batches also beat, but a worker may spend many minutes downloading or loading a model
    before the first batch: without this thread the reaper took such a live run for a dead one and a second
    worker downloaded it again. Each beat is a conditional UPDATE on (run, running, this attempt), so a
    reaped, cancelled or taken-over attempt stops beating (`lost`) and never revives the row.
    """

    def __init__(self, run_id: int, attempt: int, interval: float) -> None:
        self.run_id = run_id
        self.attempt = attempt
        self.interval = max(0.05, float(interval))
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"eval-run-{run_id}-heartbeat", daemon=True)

    def start(self) -> _RunHeartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        from django.db import DatabaseError, connection

        try:
            while not self._stop.wait(self.interval):
                try:
                    beat = EvalRun.objects.filter(
                        pk=self.run_id, status=EvalRun.Status.RUNNING, attempts=self.attempt
                    ).update(heartbeat_at=timezone.now())
                except DatabaseError as exc:
                    # The database is away: beats resume when it answers (the run's own code handles
                    # the outage); a fresh connection is opened on the next beat.
                    logger.warning("eval run %s: heartbeat failed: %s", self.run_id, exc)
                    connection.close()
                    continue
                if not beat:
                    self.lost = True
                    logger.warning(
                        "eval run %s: attempt %s no longer owns the run; heartbeat stops", self.run_id, self.attempt
                    )
                    return
        finally:
            connection.close()  # this thread's own connection


class _RunRecorder:
    """Buffers scored items and stores them one batch per transaction, with progress and heartbeat."""

    def __init__(self, run: EvalRun, attempt: int, deadline: float) -> None:
        self.run = run
        self.attempt = attempt
        self.deadline = deadline
        self.buffer: list[ItemOutcome] = []

    def on_item(self, outcome: ItemOutcome) -> None:
        self.buffer.append(outcome)
        # The engine calls should_stop() between batches, which stores the batch; this only bounds
        # the buffer should a backend hand back more than a batch at once.
        if len(self.buffer) >= 4 * max(1, self.run.batch_size):
            self.flush()

    def flush(self) -> bool:
        """Store buffered items; returns whether cancellation was requested. Raises _ClaimLost."""
        items = [
            ItemResult(
                run_id=self.run.pk,
                benchmark=o.benchmark,
                item_id=str(o.item_id)[:200],
                position=o.position,
                subject=(o.subject or "")[:100],
                prompt=o.prompt,
                choices=list(o.choices),
                loglikelihoods=[float(x) for x in o.loglikelihoods],
                generated=o.generated or "",
                target=o.target,
                prediction=o.prediction,
                metrics={k: float(v) for k, v in o.metrics.items()},
                correct=bool(o.correct),
                prompt_tokens=o.prompt_tokens,
                completion_tokens=o.completion_tokens,
            )
            for o in self.buffer
        ]
        with transaction.atomic():
            if items:
                # Items already stored by an earlier attempt are skipped by the unique constraint.
                ItemResult.objects.bulk_create(items, ignore_conflicts=True)
            done = ItemResult.objects.filter(run_id=self.run.pk).count()
            updated = EvalRun.objects.filter(
                pk=self.run.pk, status=EvalRun.Status.RUNNING, attempts=self.attempt
            ).update(progress_done=done, heartbeat_at=timezone.now())
            if not updated:
                raise _ClaimLost()
        self.buffer = []
        return EvalRun.objects.values_list("cancel_requested", flat=True).get(pk=self.run.pk)

    def should_stop(self) -> bool:
        if self.flush():
            raise _StopRequested(_("Cancelled at the user's request."), cancelled=True)
        if time.monotonic() > self.deadline:
            raise _StopRequested(
                _("Time limit exceeded: the run took longer than %(s)d seconds (EVAL_SOFT_TIME_LIMIT).")
                % {"s": settings.EVAL_SOFT_TIME_LIMIT},
                cancelled=False,
            )
        return False


def _stored_method(run: EvalRun, benchmark: str) -> str:
    method = (run.settings or {}).get("methods", {}).get(benchmark)
    if method:
        return method
    has_ll = ItemResult.objects.filter(run=run, benchmark=benchmark).exclude(loglikelihoods=[]).exists()
    return "loglikelihood" if has_ll else "generative"


def _stored_variant(run: EvalRun, benchmark: str, method: str | None = None) -> dict[str, str]:
    """The variant the benchmark was asked in (evals/generative.py), as recorded when it was scored; for
    results stored before variants were recorded, deduced from the result's method (`method`, if known)."""
    from evals import generative
    from evals.benchmarks import BENCHMARKS

    known = (run.settings or {}).get("variants", {}).get(benchmark)
    if known:
        return dict(known)
    spec = BENCHMARKS[benchmark]
    multiple_choice = spec.output_type != "generate_until"
    if multiple_choice and (method or _stored_method(run, benchmark)) == generative.GENERATIVE:
        return generative.chat_variant(benchmark).as_dict()
    return generative.default_variant(benchmark).as_dict()


def _answer_counts(run: EvalRun, benchmark: str) -> tuple[int, dict[str, int]]:
    """(unparsed, answer distribution) of a benchmark's stored items (evals.generative.answer_stats).

    GSM8K's answer is the last number of the reply (lm-eval's flexible extract): a reply without any
    number is unparsed, whatever its variant's strict format.
    """
    from evals import generative
    from evals.benchmarks.gsm8k import INVALID, extract_flexible, normalize_answer

    items = ItemResult.objects.filter(run=run, benchmark=benchmark).order_by()
    if benchmark == "gsm8k":
        predictions: list[Any] = []
        for text in items.values_list("generated", flat=True):
            found = extract_flexible(text or "")
            predictions.append(found if found == INVALID else normalize_answer(found))
    else:
        predictions = list(items.values_list("prediction", flat=True))
    return generative.answer_stats(predictions)


def _benchmark_result_store(run: EvalRun, plan: Any, *, final: bool = False) -> bool:
    """Aggregate one benchmark from its stored items and upsert its BenchmarkResult; False (nothing written)
    while some of its items are not stored yet, unless `final` (the run's end writes what it has, as before).

    Called as soon as a benchmark's last item is stored (so pages and the API show its score while the
    run goes on) and again for every benchmark when the run finishes: the score depends only on the
    stored items, so both writes are equal and a resumed attempt rewrites the same numbers. Besides the
    metrics it stores the variant asked, the unparsed count, the answer distribution and the tokens.
    """
    from django.db.models import Count, Sum

    from evals import engine

    metrics = list(
        ItemResult.objects.filter(run=run, benchmark=plan.benchmark)
        .order_by("position")
        .values_list("metrics", flat=True)
    )
    if not final and len(metrics) < len(plan.docs):
        return False
    score = engine.aggregate(
        benchmark=plan.benchmark, item_metrics=metrics, n_shot=plan.n_shot, method=_stored_method(run, plan.benchmark)
    )
    unparsed, stats = _answer_counts(run, plan.benchmark)
    tokens = ItemResult.objects.filter(run=run, benchmark=plan.benchmark).aggregate(
        prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens"), reported=Count("prompt_tokens")
    )
    BenchmarkResult.objects.update_or_create(
        run=run,
        benchmark=score.benchmark,
        defaults={
            "metrics": score.metrics,
            "primary_metric": score.primary_metric,
            "value": score.value,
            "stderr": score.stderr,
            "n": score.n,
            "method": score.method,
            "variant": _stored_variant(run, plan.benchmark, score.method)["name"][:60],
            "n_shot": score.n_shot,
            "unparsed": unparsed,
            "answer_stats": stats,
            "prompt_tokens": tokens["prompt"] if tokens["reported"] else None,
            "completion_tokens": tokens["completion"],
        },
    )
    return True


def eval_run_verdict(run: EvalRun) -> dict[str, Any]:
    """The run-level facts its benchmark results decide: method, degenerate flag and token totals.

    Returns the EvalRun fields to write (the services write them when the run finishes): `method` is the
    variants' shared method or "mixed" (evals.generative.run_method); `flagged`/`flag_reasons` apply
    evals.generative.degenerate_reasons with the EVAL_* thresholds; tokens are the results' sums.
    """
    from evals import generative

    rows = list(
        BenchmarkResult.objects.filter(run=run).values(
            "benchmark", "method", "n", "unparsed", "answer_stats", "prompt_tokens", "completion_tokens"
        )
    )
    variants = [_stored_variant(run, r["benchmark"], r["method"]).get("method", generative.LOGLIKELIHOOD) for r in rows]
    # The flag judges how a benchmark was asked (its variant's method), not how its task scores: the
    # log-likelihood suite's GSM8K generates too, and is scored exactly as lm-eval scores it.
    reasons = generative.degenerate_reasons(
        [{**r, "method": variant} for r, variant in zip(rows, variants, strict=True)],
        max_unparsed_share=settings.EVAL_MAX_UNPARSED_SHARE,
        collapse_share=settings.EVAL_COLLAPSE_SHARE,
        collapse_min_items=settings.EVAL_COLLAPSE_MIN_ITEMS,
    )
    prompt = [r["prompt_tokens"] for r in rows if r["prompt_tokens"] is not None]
    completion = [r["completion_tokens"] for r in rows if r["completion_tokens"] is not None]
    return {
        "method": generative.run_method(variants),
        "flagged": bool(reasons),
        "flag_reasons": reasons,
        "prompt_tokens": sum(prompt) if prompt else None,
        "completion_tokens": sum(completion) if completion else None,
    }


def eval_run_accept_flag(*, run_id: int, user: Any) -> EvalRun:
    """Staff accept a flagged run's scores as measurements: from now on it ranks like any other run.

    Returns the run. Raises EvalRun.DoesNotExist, PermissionDenied (not staff) or RunStateError
    (the run is not flagged, or already accepted).
    """
    if not _signed_in(user) or not user.is_staff:
        raise PermissionDenied(_("Only staff can accept a flagged run."))
    run = EvalRun.objects.get(pk=run_id)
    with transaction.atomic():
        updated = EvalRun.objects.filter(pk=run_id, flagged=True, flag_accepted_at__isnull=True).update(
            flag_accepted_at=timezone.now(), flag_accepted_by=user
        )
        if updated:
            _board_changed(run_id)
    if not updated:
        raise RunStateError(
            "run_not_flagged",
            _("Run #%(id)d is not flagged, or its flag was already accepted.") % {"id": run_id},
        )
    logger.info("eval run %s: flag accepted by %s", run_id, user.get_username())
    run.refresh_from_db()
    return run


def _board_changed(*run_ids: int) -> None:
    """Rewrite the board rows of these runs' models in the current transaction; the cached boards are
    stale once it commits."""
    from evals.selectors.leaderboard import leaderboard_cache_bump
    from evals.selectors.leaderboard.maintain import board_runs_changed

    board_runs_changed(run_ids)
    transaction.on_commit(leaderboard_cache_bump)


def _finish(run_id: int, attempt: int | None, **fields: Any) -> bool:
    qs = EvalRun.objects.filter(pk=run_id, status=EvalRun.Status.RUNNING)
    if attempt is not None:
        qs = qs.filter(attempts=attempt)
    with transaction.atomic():
        finished = bool(qs.update(finished_at=timezone.now(), **fields))
        if finished:
            _board_changed(run_id)
    return finished


def eval_run_execute(*, run_id: int, on_progress: Callable[[EvalRun], None] | None = None) -> None:
    """Claim the run and evaluate it to the end, resuming from its stored items.

    Does nothing when the run is not queued (already running elsewhere, finished, or a redelivered
    message). Backend, data and time-limit failures mark the run failed with the reason; a requested
    cancellation marks it cancelled after the current batch. Database errors propagate (the task
    retries, the reaper requeues).
    """
    from celery.exceptions import SoftTimeLimitExceeded

    from evals import engine
    from evals.backends import BackendError, get_backend

    try:
        from evals.data import DataError
    except ImportError:  # pragma: no cover - the engine ships data.py
        DataError = ValueError  # noqa: N806

    attempt = eval_run_claim(run_id=run_id)
    if attempt is None:
        logger.info("eval run %s not claimed (not queued): nothing to do", run_id)
        return
    run = EvalRun.objects.select_related("model").get(pk=run_id)
    logger.info("eval run %s claimed (attempt %s) on %s", run_id, attempt, run.worker_host)
    recorder = _RunRecorder(run, attempt, deadline=time.monotonic() + settings.EVAL_SOFT_TIME_LIMIT)
    heartbeat = _RunHeartbeat(run_id, attempt, settings.EVAL_HEARTBEAT_INTERVAL).start()
    try:
        data_dir = settings.LADDER_DATA_DIR or None
        plans = engine.run_plan(suite=run.suite, benchmarks=run.benchmarks or None, limit=run.limit, data_dir=data_dir)
        total = sum(len(p.docs) for p in plans)
        done = ItemResult.objects.filter(run=run).count()
        EvalRun.objects.filter(pk=run.pk).update(progress_total=total, progress_done=done, heartbeat_at=timezone.now())
        backend = get_backend(
            run.backend,
            spec=model_spec(run.model, revision=run.revision_sha or run.revision),
            device=run.device,
            dtype=run.dtype,
            batch_size=run.batch_size,
        )
        described = dict(backend.describe() or {})
        run_settings = dict(run.settings or {})
        run_settings.setdefault("methods", {})
        run_settings.setdefault("variants", {})
        run_settings["n_shot"] = {p.benchmark: p.n_shot for p in plans}
        run_settings["items"] = {p.benchmark: len(p.docs) for p in plans}
        run_settings["backend"] = {k: v for k, v in described.items() if k != "revision_sha"}
        updates: dict[str, Any] = {"settings": run_settings, "heartbeat_at": timezone.now()}
        if not run.revision_sha and described.get("revision_sha"):
            updates["revision_sha"] = str(described["revision_sha"])[:64]
        if described.get("device"):
            updates["device"] = str(described["device"])[:12]
        try:
            with transaction.atomic():
                EvalRun.objects.filter(pk=run.pk).update(**updates)
        except IntegrityError as exc:
            twin = eval_run_find_duplicate(
                model=run.model, revision_sha="", suite=run.suite, backend=run.backend, dtype=run.dtype
            )
            raise _StopRequested(
                _("An identical complete run of the same weights exists (run #%(id)s); this one is not needed.")
                % {"id": twin.pk if twin else "?"},
                cancelled=False,
            ) from exc
        run.settings = run_settings

        for plan in plans:
            stored = set(ItemResult.objects.filter(run=run, benchmark=plan.benchmark).values_list("item_id", flat=True))
            remaining = [d for d in plan.docs if str(d.item_id) not in stored]
            if remaining:
                recorder.should_stop()
                run_settings["variants"][plan.benchmark] = engine.benchmark_variant(plan.benchmark, backend).as_dict()
                method = engine.score_docs(
                    benchmark=plan.benchmark,
                    docs=remaining,
                    backend=backend,
                    n_shot=plan.n_shot,
                    batch_size=run.batch_size,
                    on_item=recorder.on_item,
                    should_stop=recorder.should_stop,
                    data_dir=data_dir,
                )
                recorder.should_stop()
                run_settings["methods"][plan.benchmark] = method
                # What the backend found out while scoring (an endpoint's probe, its usage so far).
                run_settings["backend"] = {
                    k: v for k, v in dict(backend.describe() or {}).items() if k != "revision_sha"
                }
                EvalRun.objects.filter(pk=run.pk).update(settings=run_settings)
            # The benchmark's last item is stored: its score is shown now, not when the whole run ends.
            _benchmark_result_store(run, plan)
            if on_progress is not None:
                on_progress(run)

        with transaction.atomic():
            for plan in plans:
                _benchmark_result_store(run, plan, final=True)
            done = ItemResult.objects.filter(run=run).count()
            verdict = eval_run_verdict(run)
            if not _finish(run.pk, attempt, status=EvalRun.Status.SUCCEEDED, progress_done=done, error="", **verdict):
                raise _ClaimLost()
        logger.info("eval run %s succeeded (%d items)", run_id, done)
        if verdict["flagged"]:
            logger.warning("eval run %s flagged as degenerate: %s", run_id, verdict["flag_reasons"])
    except _ClaimLost:
        logger.warning("eval run %s: claim lost (reaped or cancelled); this attempt stops", run_id)
    except _StopRequested as stop:
        status = EvalRun.Status.CANCELLED if stop.cancelled else EvalRun.Status.FAILED
        _finish(run.pk, attempt, status=status, error=stop.reason)
        logger.info("eval run %s stopped: %s", run_id, stop.reason)
    except SoftTimeLimitExceeded:
        reason = _("Time limit exceeded: the run took longer than %(s)d seconds (EVAL_SOFT_TIME_LIMIT).") % {
            "s": settings.EVAL_SOFT_TIME_LIMIT
        }
        _finish(run.pk, attempt, status=EvalRun.Status.FAILED, error=reason)
        logger.warning("eval run %s: %s", run_id, reason)
    except (BackendError, DataError) as exc:
        kind = _("Model backend error") if isinstance(exc, BackendError) else _("Benchmark data error")
        _finish(run.pk, attempt, status=EvalRun.Status.FAILED, error=f"{kind}: {exc}"[:4000])
        logger.warning("eval run %s failed: %s: %s", run_id, kind, exc)
    except Exception as exc:
        from django.db import DatabaseError

        if isinstance(exc, DatabaseError) and not isinstance(exc, IntegrityError):
            raise  # the database went away: the task retries, the reaper requeues
        logger.exception("eval run %s crashed", run_id)
        _finish(
            run.pk,
            attempt,
            status=EvalRun.Status.FAILED,
            error=(_("Internal error: %(kind)s: %(msg)s") % {"kind": type(exc).__name__, "msg": exc})[:4000],
        )
    finally:
        heartbeat.stop()


def eval_run_release(*, run_id: int) -> bool:
    """Put a running run back in the queue (its worker hit a transient error); True when it was running."""
    return bool(
        EvalRun.objects.filter(pk=run_id, status=EvalRun.Status.RUNNING).update(
            status=EvalRun.Status.QUEUED, worker_host="", dispatched_at=None
        )
    )


# --------------------------------------------------------------------------------------------
# reaper, cancel, retry
# --------------------------------------------------------------------------------------------


def eval_runs_reap() -> dict[str, int]:
    """Requeue running runs whose heartbeat stopped, or fail them after EVAL_MAX_ATTEMPTS attempts.

    Returns {"requeued": n, "failed": n}. Requeued runs are sent again at once when the broker answers
    (else the dispatcher sends them); their stored items are kept, so the next attempt resumes.
    """
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.EVAL_HEARTBEAT_TIMEOUT)
    stalled = EvalRun.objects.filter(status=EvalRun.Status.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    requeued = failed = 0
    for run_id, attempts, heartbeat_at, cancel in stalled.values_list(
        "pk", "attempts", "heartbeat_at", "cancel_requested"
    ):
        same = EvalRun.objects.filter(pk=run_id, status=EvalRun.Status.RUNNING, heartbeat_at=heartbeat_at)
        if cancel:
            failed += same.update(
                status=EvalRun.Status.CANCELLED, finished_at=now, error=_("Cancelled at the user's request.")
            )
        elif attempts >= settings.EVAL_MAX_ATTEMPTS:
            reason = _(
                "The worker stopped responding (no heartbeat for %(s)d seconds) and the run has used all of its "
                "%(n)d attempts."
            ) % {"s": settings.EVAL_HEARTBEAT_TIMEOUT, "n": settings.EVAL_MAX_ATTEMPTS}
            failed += same.update(status=EvalRun.Status.FAILED, finished_at=now, error=reason)
        elif same.update(status=EvalRun.Status.QUEUED, worker_host="", dispatched_at=None):
            requeued += 1
            logger.warning("eval run %s: heartbeat stopped, requeued (attempt %s done)", run_id, attempts)
            transaction.on_commit(lambda rid=run_id: eval_run_enqueue(run_id=rid))
    if requeued or failed:
        _board_changed()
    return {"requeued": requeued, "failed": failed}


# -- who may cancel or retry a run ----------------------------------------------------------------
# The one rule the API, the pages and the buttons they show all follow (tests/security/test_web_integrity.py
# checks both surfaces against this table):
#
#     persona \ status   queued   running  succeeded  failed   cancelled
#     anonymous          -        -        -          -        -
#     another user       -        -        -          -        -
#     submitter          cancel   cancel   -          -        -
#     staff              cancel   cancel   -          retry    retry
#
# A running run stops after its current batch. Retrying is staff's: a retried run gets fresh attempts
# outside the daily submission quota, so a submitter who wants another go submits again (and is counted).
RETRYABLE_STATUSES = (EvalRun.Status.FAILED, EvalRun.Status.CANCELLED)


def _signed_in(user: Any) -> bool:
    return user is not None and bool(getattr(user, "is_authenticated", False))


def _submitter_or_staff(user: Any, run: EvalRun) -> bool:
    return _signed_in(user) and (user.is_staff or (run.submitted_by_id is not None and run.submitted_by_id == user.pk))


def eval_run_can_cancel(user: Any, run: EvalRun) -> bool:
    """Whether `user` may cancel `run` now: its submitter or staff, while it is queued or running."""
    return run.status in EvalRun.ACTIVE_STATUSES and _submitter_or_staff(user, run)


def eval_run_can_retry(user: Any, run: EvalRun) -> bool:
    """Whether `user` may queue `run` again now: staff, once it failed or was cancelled."""
    return run.status in RETRYABLE_STATUSES and _signed_in(user) and bool(user.is_staff)


def _check_actor(run: EvalRun, user: Any, *, action: str) -> None:
    """PermissionDenied unless `user` is someone who may `action` ("cancel" | "retry") this run in some state."""
    if not _signed_in(user):
        raise PermissionDenied(_("Sign in to change a run."))
    if action == "retry" and not user.is_staff:
        raise PermissionDenied(_("Only staff can retry runs."))
    if not _submitter_or_staff(user, run):
        raise PermissionDenied(_("Only the person who submitted run #%(id)d or staff can change it.") % {"id": run.pk})


def eval_run_cancel(*, run_id: int, user: Any) -> EvalRun:
    """Cancel a run: a queued run at once, a running one after its current batch.

    Returns the updated run. Raises EvalRun.DoesNotExist, PermissionDenied (not the submitter or
    staff) or RunStateError (already finished).
    """
    run = EvalRun.objects.get(pk=run_id)
    _check_actor(run, user, action="cancel")
    now = timezone.now()
    if EvalRun.objects.filter(pk=run_id, status=EvalRun.Status.QUEUED).update(
        status=EvalRun.Status.CANCELLED,
        cancel_requested=True,
        finished_at=now,
        error=_("Cancelled by %(user)s.") % {"user": user.get_username()},
    ):
        logger.info("eval run %s cancelled while queued", run_id)
    elif not EvalRun.objects.filter(pk=run_id, status=EvalRun.Status.RUNNING).update(cancel_requested=True):
        run.refresh_from_db()
        raise RunStateError(
            "run_finished",
            _("Run #%(id)d has already finished (%(status)s); there is nothing to cancel.")
            % {"id": run_id, "status": run.get_status_display()},
        )
    _board_changed(run_id)
    run.refresh_from_db()
    return run


def eval_run_retry(*, run_id: int, user: Any) -> EvalRun:
    """Queue a failed or cancelled run again; it resumes from its stored items with fresh attempts.

    Returns the run. Raises EvalRun.DoesNotExist, PermissionDenied (not staff), or RunStateError (the
    run is not failed/cancelled, or an identical complete run exists now).
    """
    run = EvalRun.objects.get(pk=run_id)
    _check_actor(run, user, action="retry")
    try:
        with transaction.atomic():
            updated = EvalRun.objects.filter(pk=run_id, status__in=RETRYABLE_STATUSES).update(
                status=EvalRun.Status.QUEUED,
                error="",
                cancel_requested=False,
                attempts=0,
                finished_at=None,
                dispatched_at=None,
                worker_host="",
            )
            if updated:
                transaction.on_commit(lambda: eval_run_enqueue(run_id=run_id))
                _board_changed(run_id)
    except IntegrityError as exc:
        raise RunStateError(
            "duplicate_run",
            _("An identical evaluation of this model is already queued, running or done; retry is not needed."),
        ) from exc
    run.refresh_from_db()
    if not updated:
        raise RunStateError(
            "run_not_retryable",
            _("Run #%(id)d is %(status)s; only failed or cancelled runs can be retried.")
            % {"id": run_id, "status": run.get_status_display()},
        )
    return run
