"""Celery tasks of the evals app: thin wrappers that take ids and call evals.services.

eval_run_execute_task runs on the `evals` queue (CELERY_TASK_ROUTES). It is idempotent (the service
claims the run with a conditional UPDATE), so it is acked late and rejected when its worker dies:
Redis then redelivers it, and a redelivery of a run that is running or done does nothing.

Redelivery alone cannot notice a dead worker promptly: Redis gives an unacked message back only after the
visibility timeout (above the hard time limit, hours). A dead worker is noticed from the run's heartbeat
instead: every worker process reaps stale runs from a thread (`eval_runs_reaper_start`, started on
`worker_ready` by config/celery.py), and beat runs `eval_runs_reap_task` too.
"""

from __future__ import annotations

import logging
import threading
import time

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from evals import services

logger = logging.getLogger(__name__)
_reaper_lock = threading.Lock()
_reaper: threading.Thread | None = None


@shared_task(
    bind=True,
    name="evals.tasks.eval_run_execute_task",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.EVAL_SOFT_TIME_LIMIT,
    time_limit=settings.EVAL_TIME_LIMIT,
    max_retries=5,
)
def eval_run_execute_task(self, run_id: int) -> None:  # bound Celery task
    """Evaluate run `run_id` (does nothing unless it is queued)."""
    close_old_connections()
    try:
        services.eval_run_execute(run_id=run_id)
    except DatabaseError as exc:
        # The database went away mid-run: hand the run back to the queue once it answers again and
        # retry later; items already stored are kept and the next attempt resumes after them.
        logger.warning("eval run %s: database error, retrying: %s", run_id, exc)
        close_old_connections()
        try:
            services.eval_run_release(run_id=run_id)
        except DatabaseError:
            pass  # still down: the reaper requeues the run when its heartbeat is stale
        raise self.retry(exc=exc, countdown=settings.EVAL_DB_RETRY_DELAY) from exc
    finally:
        close_old_connections()


@shared_task(name="evals.tasks.eval_runs_reap_task", ignore_result=True)
def eval_runs_reap_task() -> dict[str, int]:
    """Requeue or fail runs whose worker stopped sending heartbeats (periodic, beat)."""
    return services.eval_runs_reap()


@shared_task(name="evals.tasks.eval_runs_dispatch_task", ignore_result=True)
def eval_runs_dispatch_task() -> int:
    """Send queued runs that never reached the broker (periodic, beat)."""
    return services.eval_runs_dispatch()


def eval_runs_reaper_start() -> threading.Thread | None:
    """Reap stale runs now, then every EVAL_REAP_INTERVAL seconds, from a daemon thread of this process.

    Why in every worker and not only in beat: beat is one optional process, and when it is not running a
    SIGKILLed worker's run stayed "running" forever. With this, any live worker (or the dead one's
    replacement, at once on startup) requeues the run within EVAL_HEARTBEAT_TIMEOUT + EVAL_REAP_INTERVAL,
    and a worker takes it up again, resuming after its stored items. Reaping from several processes at
    once is safe: each requeue is an UPDATE conditional on the heartbeat it read, so a run is requeued once.
    Returns the thread (None when EVAL_REAP_INTERVAL is 0 or it already runs in this process).
    """
    global _reaper
    interval = float(settings.EVAL_REAP_INTERVAL)
    if interval <= 0:
        return None
    with _reaper_lock:
        if _reaper is not None and _reaper.is_alive():
            return None
        _reaper = threading.Thread(target=_reap_forever, args=(interval,), name="eval-runs-reaper", daemon=True)
        _reaper.start()
        return _reaper


def _reap_forever(interval: float) -> None:
    while True:
        try:
            reaped = services.eval_runs_reap()
            if any(reaped.values()):
                logger.info("worker reaper: %s", reaped)
        except Exception:  # the database or broker is away: try again next time
            logger.exception("worker reaper failed")
        finally:
            connection.close()  # this thread's own connection; idle for `interval` seconds
        time.sleep(interval)


@shared_task(
    name="evals.tasks.import_archive_task",
    ignore_result=True,
    acks_late=True,  # the service claims the job (queued -> running): a second delivery does nothing
    soft_time_limit=settings.IMPORT_ARCHIVE_TIME_LIMIT - 60,
    time_limit=settings.IMPORT_ARCHIVE_TIME_LIMIT,
)
def import_archive_task(job_id: int) -> None:
    """Import a Hub dataset results archive (`import_results --hub-dataset`, POST /api/v1/imports/)."""
    from evals.exchange.services import import_job_run_archive

    import_job_run_archive(job_id=job_id)
