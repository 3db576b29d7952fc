"""What happens to a run after it was submitted, other than running it: the reaper, cancel, retry,
staff accepting a flagged run, and who may do which.

Each of these writes tells the leaderboard through `leaderboard_runs_changed` (evals/services/board.py).
"""

from __future__ import annotations

import functools
import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from evals.models import EvalRun
from evals.services.board import leaderboard_runs_changed
from evals.services.dispatch import eval_run_enqueue
from evals.services.errors import RunStateError

logger = logging.getLogger(__name__)


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
    changed: set[int] = set()
    # One transaction: the runs' new states and their models' board rows commit together.
    with transaction.atomic():
        for run_id, model_id, attempts, heartbeat_at, cancel in stalled.values_list(
            "pk", "model_id", "attempts", "heartbeat_at", "cancel_requested"
        ):
            same = EvalRun.objects.filter(pk=run_id, status=EvalRun.Status.RUNNING, heartbeat_at=heartbeat_at)
            if cancel:
                ended = same.update(
                    status=EvalRun.Status.CANCELLED, finished_at=now, error=_("Cancelled at the user's request.")
                )
            elif attempts >= settings.EVAL_MAX_ATTEMPTS:
                reason = _(
                    "The worker stopped responding (no heartbeat for %(s)d seconds) and the run has used all of its "
                    "%(n)d attempts."
                ) % {"s": settings.EVAL_HEARTBEAT_TIMEOUT, "n": settings.EVAL_MAX_ATTEMPTS}
                ended = same.update(status=EvalRun.Status.FAILED, finished_at=now, error=reason)
            else:
                ended = 0
                if same.update(status=EvalRun.Status.QUEUED, worker_host="", dispatched_at=None):
                    requeued += 1
                    changed.add(model_id)
                    logger.warning("eval run %s: heartbeat stopped, requeued (attempt %s done)", run_id, attempts)
                    transaction.on_commit(functools.partial(eval_run_enqueue, run_id=run_id))
            failed += ended
            if ended:
                changed.add(model_id)
        if changed:
            leaderboard_runs_changed(model_ids=changed)
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
    with transaction.atomic():
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
        leaderboard_runs_changed(model_ids=[run.model_id])
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
                leaderboard_runs_changed(model_ids=[run.model_id])
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
            leaderboard_runs_changed(model_ids=[run.model_id])
    if not updated:
        raise RunStateError(
            "run_not_flagged",
            _("Run #%(id)d is not flagged, or its flag was already accepted.") % {"id": run_id},
        )
    logger.info("eval run %s: flag accepted by %s", run_id, user.get_username())
    run.refresh_from_db()
    return run
