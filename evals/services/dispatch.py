"""Sending runs to the `evals` queue: once after their transaction commits, and again by the dispatcher
for runs the broker never received (it was down) or no worker claimed."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from evals.models import EvalRun

logger = logging.getLogger(__name__)


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
    except Exception as exc:  # kombu raises many kinds; all mean "not sent"
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
