"""Submitting a run: the checks (input, Hub, size and license policy, endpoint, quota), the duplicate
lookup, and the write of the queued run. The submit page, the API and the `evaluate` command all go
through `eval_run_submit`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from evals.models import EvalRun
from evals.services.board import leaderboard_runs_changed
from evals.services.dispatch import eval_run_enqueue
from evals.services.errors import SubmissionError
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


@dataclass(frozen=True)
class _Target:
    """What a submission evaluates, once every check passed: the model, the revision and its pinned sha."""

    model_id: str
    model: LanguageModel | None  # None: a Hub model the registry does not know yet (written with the run)
    revision: str
    revision_sha: str  # "" where the worker records what it ran (local weights, closed endpoints)
    checked: _HubCheck | None = None  # what the Hub said, for the registry write


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
    device: str = "auto",
    batch_size: int = 8,
    dispatch: bool = True,
    operator: bool = False,
) -> tuple[EvalRun, bool]:
    """Check a model and queue its evaluation; returns (run, created).

    The one submission path of the submit page, the API and the `evaluate` command.

    The Hub is asked first (exists, public, not gated without a token, text-generation) and the
    revision is pinned: "main" (its current sha) always, another branch, tag or commit only when staff
    allowed it on the model (AllowedRevision), a pull request never. Size (within
    EVAL_MAX_PARAMETERS) and license are checked on that revision's own metadata: its safetensors
    count or its weight files' sizes, never the card. Models with local weights (transformers backend)
    and closed models (openai backend, endpoint required) are checked from the registry alone.

    `operator=True` is the server's operator at the shell (`manage.py evaluate`): the model must be in
    the registry, its recorded Hub commit is what is evaluated (no Hub request), and the size and license
    policy, which protects the server from its users, is the operator's to judge. Everything else is
    the same: the input checks, the closed-model and endpoint rules, the duplicate lookup and its race.

    `created` is False when an identical complete run (same model sha, suite, backend, dtype) is
    queued, running or succeeded: that run is returned. A partial run (benchmark subset or limit) is
    always new and never ranked. Then the submission quota of a signed-in `user` (accepted runs only).
    Only an accepted submission writes: the registry row (created or refreshed from main) and the run,
    in one transaction. With `dispatch` the run is sent to the workers after commit; it is stored as
    queued even when the broker is down (then `run.dispatched_at` is None and the dispatcher sends it
    later).

    Raises SubmissionError(code, message) with a user-facing message for every refusal; a refusal
    writes nothing.
    """
    model_id = (model_id or "").strip()
    revision = (revision or "main").strip() or "main"
    if not operator:
        _check_submission_input(model_id, revision)
    _check_backend_dtype(backend, dtype)
    plan = _plan_settings(suite=suite, benchmarks=benchmarks, limit=limit)
    if operator:
        if revision != "main":
            raise ValueError("an operator submission evaluates the registry's recorded main commit")
        target = _operator_target(model_id, backend)
    else:
        target = _user_target(model_id, revision, backend)
    return _submission_store(
        target, plan, user=user, backend=backend, dtype=dtype, device=device, batch_size=batch_size, dispatch=dispatch
    )


def _check_submission_input(model_id: str, revision: str) -> None:
    """The model id and revision a user typed: well formed, and not a pull request."""
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


def _check_closed_model(model: LanguageModel, backend: str) -> None:
    """A closed model runs only through its configured API endpoint."""
    if backend != "openai":
        raise SubmissionError(
            "closed_model_backend",
            _("%(id)s is a closed model: it can only be evaluated through its API endpoint (backend openai).")
            % {"id": model.repo_id},
            field="backend",
        )
    if not model.endpoint_base_url:
        raise SubmissionError(
            "no_endpoint",
            _("%(id)s is a closed model with no API endpoint configured; staff must add one first.")
            % {"id": model.repo_id},
            field="model",
        )


def _check_endpoint_backend(model: LanguageModel | None, model_id: str, backend: str) -> None:
    """The openai backend needs an endpoint on the model; open weights without one use transformers."""
    if backend == "openai" and (model is None or not model.endpoint_base_url):
        raise SubmissionError(
            "no_endpoint",
            _(
                "The openai backend needs an API endpoint configured on %(id)s; use the transformers backend for "
                "open weights."
            )
            % {"id": model_id},
            field="backend",
        )


def _user_target(model_id: str, revision: str, backend: str) -> _Target:
    """Every check of a user's submission, the Hub's included, before any write; raises SubmissionError."""
    model = LanguageModel.objects.filter(repo_id=model_id).select_related("license").first()
    if model is not None and model.weights == LanguageModel.Weights.CLOSED:
        _check_closed_model(model, backend)
        _check_worker_key(model)
        return _Target(model_id, model, revision, "")
    if model is not None and model.local_weights and backend == "transformers":
        _check_registry_policy(model)
        return _Target(model_id, model, revision, "")
    _check_endpoint_backend(model, model_id, backend)
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
    return _Target(model_id, model, revision, checked.sha, checked)


def _operator_target(model_id: str, backend: str) -> _Target:
    """The operator's submission: a registry model at its recorded Hub commit; raises SubmissionError."""
    model = LanguageModel.objects.filter(repo_id=model_id).first()
    if model is None:
        raise SubmissionError(
            "model_not_found",
            _("There is no model %(id)s in the registry.") % {"id": model_id},
            field="model",
            status=404,
        )
    if model.weights == LanguageModel.Weights.CLOSED:
        _check_closed_model(model, backend)
        return _Target(model_id, model, "main", "")
    _check_endpoint_backend(model, model_id, backend)
    return _Target(model_id, model, "main", "" if _resolved_at_run_time(model, backend) else model.hub_sha)


def _submission_store(
    target: _Target,
    plan: _Plan,
    *,
    user: Any,
    backend: str,
    dtype: str,
    device: str,
    batch_size: int,
    dispatch: bool,
) -> tuple[EvalRun, bool]:
    """The identical complete run if there is one, else the user's quota and the new run, in one transaction."""

    def duplicate() -> EvalRun | None:
        current = target.model or LanguageModel.objects.filter(repo_id=target.model_id).first()
        if plan.is_partial or current is None:
            return None
        return eval_run_find_duplicate(
            model=current, revision_sha=target.revision_sha, suite=plan.suite, backend=backend, dtype=dtype
        )

    existing = duplicate()
    if existing is not None:
        return existing, False
    model = target.model
    try:
        with transaction.atomic():
            _check_submission_quota(user, lock=True)
            if target.checked is not None:
                from registry.services import hub_sync

                model, _outcome = hub_sync.hub_model_upsert(target.checked.info, config_file=target.checked.config_file)
            assert model is not None
            run = eval_run_create(
                model=model,
                revision=target.revision,
                revision_sha=target.revision_sha,
                suite=plan.suite,
                backend=backend,
                dtype=dtype,
                device=device,
                batch_size=batch_size,
                user=user if getattr(user, "is_authenticated", False) else None,
                dispatch=dispatch,
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
            raise _hub_error_to_submission(exc, target.model_id, target.revision) from exc
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
        leaderboard_runs_changed(model_ids=[model.pk])
    logger.info("eval run %s created for %s (%s, %s)", run.pk, model.repo_id, plan.suite, backend)
    if dispatch and not transaction.get_connection().in_atomic_block:
        run.refresh_from_db(fields=["dispatched_at"])
    return run
