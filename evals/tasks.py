"""Celery tasks of the evals app: thin wrappers that take ids and call evals.services.

eval_run_execute_task runs on the `evals` queue (CELERY_TASK_ROUTES). It is idempotent (the service
claims the run with a conditional UPDATE), so it is acked late and rejected when its worker dies:
Redis then redelivers it, and a redelivery of a run that is running or done does nothing.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, close_old_connections

from evals import services

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name="evals.tasks.eval_run_execute_task",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.EVAL_SOFT_TIME_LIMIT,
    time_limit=settings.EVAL_TIME_LIMIT,
    max_retries=5,
)
def eval_run_execute_task(self, run_id: int) -> None:  # noqa: ANN001 - bound Celery task
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
