"""Running a run on a worker: claim it, score its benchmarks batch by batch, store the results, finish it.

`eval_run_execute` is the whole attempt, in named steps: claim (`eval_run_claim`, a conditional UPDATE,
so a redelivered message does nothing), load the items (`_attempt_plans`), start the backend
(`_attempt_backend`), score what is not stored yet (`_benchmark_score`, batches stored by `RunRecorder`
so a killed worker resumes where it stopped), then the results and the verdict (`_attempt_complete`).
Every way an attempt ends goes through `eval_run_finish`; `_attempt_failed` turns an error into the
reason the run page shows.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from evals.models import EvalRun, ItemResult
from evals.services.board import leaderboard_runs_changed
from evals.services.results import benchmark_result_store, eval_run_verdict
from evals.services.submit import eval_run_find_duplicate
from evals.signals import run_batch_storing
from evals.types import ItemOutcome, ModelSpec
from registry.models import LanguageModel

if TYPE_CHECKING:
    from evals.backends import Backend
    from evals.engine import BenchmarkPlan

logger = logging.getLogger(__name__)


class _ClaimLost(Exception):
    """This worker no longer owns the run (reaped, cancelled, or claimed by another attempt)."""


class _StopRequested(Exception):
    def __init__(self, reason: str, *, cancelled: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.cancelled = cancelled


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
    except Exception:
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


class RunRecorder:
    """Buffers one attempt's scored items and stores them one batch per transaction, with progress and heartbeat.

    Before a batch is stored it sends `evals.signals.run_batch_storing` (sender RunRecorder, `run_id`,
    `attempt`, `items`: the ItemOutcomes about to be stored); a receiver that raises stops the batch
    from being stored, and the exception takes the path any error of the store would take.
    """

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
        if self.buffer:
            run_batch_storing.send(RunRecorder, run_id=self.run.pk, attempt=self.attempt, items=list(self.buffer))
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


def eval_run_finish(*, run: EvalRun, attempt: int | None, **fields: Any) -> bool:
    """End a running run with `fields` (status, error, verdict...); False when this attempt no longer owns it.

    The one place an attempt ends (succeeded, failed, cancelled after a batch): the board learns it here.
    """
    qs = EvalRun.objects.filter(pk=run.pk, status=EvalRun.Status.RUNNING)
    if attempt is not None:
        qs = qs.filter(attempts=attempt)
    with transaction.atomic():
        finished = bool(qs.update(finished_at=timezone.now(), **fields))
        if finished:
            leaderboard_runs_changed(model_ids=[run.model_id])
    return finished


def eval_run_execute(*, run_id: int, on_progress: Callable[[EvalRun], None] | None = None) -> None:
    """Claim the run and evaluate it to the end, resuming from its stored items.

    Does nothing when the run is not queued (already running elsewhere, finished, or a redelivered
    message). Backend, data and time-limit failures mark the run failed with the reason; a requested
    cancellation marks it cancelled after the current batch. Database errors propagate (the task
    retries, the reaper requeues). `on_progress(run)` is called after each benchmark.
    """
    attempt = eval_run_claim(run_id=run_id)
    if attempt is None:
        logger.info("eval run %s not claimed (not queued): nothing to do", run_id)
        return
    run = EvalRun.objects.select_related("model").get(pk=run_id)
    logger.info("eval run %s claimed (attempt %s) on %s", run_id, attempt, run.worker_host)
    recorder = RunRecorder(run, attempt, deadline=time.monotonic() + settings.EVAL_SOFT_TIME_LIMIT)
    heartbeat = _RunHeartbeat(run_id, attempt, settings.EVAL_HEARTBEAT_INTERVAL).start()
    try:
        plans = _attempt_plans(run)
        backend = _attempt_backend(run, plans)
        for plan in plans:
            _benchmark_score(run, plan, backend, recorder)
            # The benchmark's last item is stored: its score is shown now, not when the whole run ends.
            benchmark_result_store(run, plan)
            if on_progress is not None:
                on_progress(run)
        _attempt_complete(run, attempt, plans)
    except Exception as exc:
        if not _attempt_failed(run, attempt, exc):
            raise
    finally:
        heartbeat.stop()


def _data_dir() -> str | None:
    return settings.LADDER_DATA_DIR or None


def _attempt_plans(run: EvalRun) -> list[BenchmarkPlan]:
    """Load every benchmark's items (before anything is scored) and record the run's progress total."""
    from evals import engine

    plans = engine.run_plan(suite=run.suite, benchmarks=run.benchmarks or None, limit=run.limit, data_dir=_data_dir())
    total = sum(len(p.docs) for p in plans)
    done = ItemResult.objects.filter(run=run).count()
    EvalRun.objects.filter(pk=run.pk).update(progress_total=total, progress_done=done, heartbeat_at=timezone.now())
    return plans


def _backend_settings(backend: Backend) -> dict[str, Any]:
    """What the backend says about itself for the run's settings (its sha goes to the run's own column)."""
    return {k: v for k, v in dict(backend.describe() or {}).items() if k != "revision_sha"}


def _attempt_backend(run: EvalRun, plans: list[BenchmarkPlan]) -> Backend:
    """Start the run's backend and record what it runs (settings, the sha it resolved, the device).

    A run whose resolved sha makes it identical to another complete run stops here (failed, not needed).
    """
    from evals.backends import get_backend

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
    run_settings["backend"] = _backend_settings(backend)
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
    return backend


def _benchmark_score(run: EvalRun, plan: BenchmarkPlan, backend: Backend, recorder: RunRecorder) -> None:
    """Score the benchmark's items not stored by an earlier attempt; records its variant and method."""
    from evals import engine

    stored = set(ItemResult.objects.filter(run=run, benchmark=plan.benchmark).values_list("item_id", flat=True))
    remaining = [d for d in plan.docs if str(d.item_id) not in stored]
    if not remaining:
        return
    recorder.should_stop()
    run.settings["variants"][plan.benchmark] = engine.benchmark_variant(plan.benchmark, backend).as_dict()
    method = engine.score_docs(
        benchmark=plan.benchmark,
        docs=remaining,
        backend=backend,
        n_shot=plan.n_shot,
        batch_size=run.batch_size,
        on_item=recorder.on_item,
        should_stop=recorder.should_stop,
        data_dir=_data_dir(),
    )
    recorder.should_stop()
    run.settings["methods"][plan.benchmark] = method
    # What the backend found out while scoring (an endpoint's probe, its usage so far).
    run.settings["backend"] = _backend_settings(backend)
    EvalRun.objects.filter(pk=run.pk).update(settings=run.settings)


def _attempt_complete(run: EvalRun, attempt: int, plans: list[BenchmarkPlan]) -> None:
    """Write every benchmark's result and the run's verdict, and mark it succeeded, in one transaction."""
    with transaction.atomic():
        for plan in plans:
            benchmark_result_store(run, plan, final=True)
        done = ItemResult.objects.filter(run=run).count()
        verdict = eval_run_verdict(run)
        finished = eval_run_finish(
            run=run, attempt=attempt, status=EvalRun.Status.SUCCEEDED, progress_done=done, error="", **verdict
        )
        if not finished:
            raise _ClaimLost()
    logger.info("eval run %s succeeded (%d items)", run.pk, done)
    if verdict["flagged"]:
        logger.warning("eval run %s flagged as degenerate: %s", run.pk, verdict["flag_reasons"])


def _attempt_failed(run: EvalRun, attempt: int, exc: Exception) -> bool:
    """End the attempt that raised `exc` with the reason users see; False for an error the task must see.

    A lost claim leaves the run alone (another attempt or the reaper owns it); a database outage is
    not handled here (the task retries, the reaper requeues).
    """
    from celery.exceptions import SoftTimeLimitExceeded

    from evals.backends import BackendError
    from evals.data import DataError

    if isinstance(exc, _ClaimLost):
        logger.warning("eval run %s: claim lost (reaped or cancelled); this attempt stops", run.pk)
        return True
    if isinstance(exc, DatabaseError) and not isinstance(exc, IntegrityError):
        return False
    if isinstance(exc, _StopRequested):
        status = EvalRun.Status.CANCELLED if exc.cancelled else EvalRun.Status.FAILED
        eval_run_finish(run=run, attempt=attempt, status=status, error=exc.reason)
        logger.info("eval run %s stopped: %s", run.pk, exc.reason)
    elif isinstance(exc, SoftTimeLimitExceeded):
        reason = _("Time limit exceeded: the run took longer than %(s)d seconds (EVAL_SOFT_TIME_LIMIT).") % {
            "s": settings.EVAL_SOFT_TIME_LIMIT
        }
        eval_run_finish(run=run, attempt=attempt, status=EvalRun.Status.FAILED, error=reason)
        logger.warning("eval run %s: %s", run.pk, reason)
    elif isinstance(exc, BackendError | DataError):
        kind = _("Model backend error") if isinstance(exc, BackendError) else _("Benchmark data error")
        eval_run_finish(run=run, attempt=attempt, status=EvalRun.Status.FAILED, error=f"{kind}: {exc}"[:4000])
        logger.warning("eval run %s failed: %s: %s", run.pk, kind, exc)
    else:
        logger.exception("eval run %s crashed", run.pk)
        reason = _("Internal error: %(kind)s: %(msg)s") % {"kind": type(exc).__name__, "msg": exc}
        eval_run_finish(run=run, attempt=attempt, status=EvalRun.Status.FAILED, error=reason[:4000])
    return True


def eval_run_release(*, run_id: int) -> bool:
    """Put a running run back in the queue (its worker hit a transient error); True when it was running."""
    return bool(
        EvalRun.objects.filter(pk=run_id, status=EvalRun.Status.RUNNING).update(
            status=EvalRun.Status.QUEUED, worker_host="", dispatched_at=None
        )
    )
