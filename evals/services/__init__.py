"""Writes of the evals app: submit, dispatch, execute, cancel, retry and reap evaluation runs.

The life of a run: `eval_run_submit` (submit.py: checks, stores the run as queued) -> `eval_run_enqueue`
after commit (dispatch.py: sends a message to the `evals` queue, or leaves `dispatched_at` empty when the
broker is down; `eval_runs_dispatch` sends those later) -> `eval_run_execute` on a worker (execute.py:
claims the run with a conditional UPDATE, so a redelivered message does nothing; stores per-item results
batch by batch, so a killed worker resumes where it stopped; results.py aggregates them) -> succeeded |
failed | cancelled. lifecycle.py: `eval_runs_reap` puts runs whose heartbeat stopped back in the queue,
or fails them after EVAL_MAX_ATTEMPTS; cancel, retry, accepting a flagged run, and who may do which.
Every write that changes what a board shows goes through `leaderboard_runs_changed` (board.py).

Callers import from this package (`from evals import services`); the modules are its layout.
"""

from evals.services.board import leaderboard_runs_changed
from evals.services.dispatch import eval_run_enqueue, eval_runs_dispatch
from evals.services.errors import RunStateError, SubmissionError
from evals.services.execute import (
    RunRecorder,
    eval_run_claim,
    eval_run_execute,
    eval_run_finish,
    eval_run_release,
)
from evals.services.lifecycle import (
    eval_run_accept_flag,
    eval_run_can_cancel,
    eval_run_can_retry,
    eval_run_cancel,
    eval_run_retry,
    eval_runs_reap,
)
from evals.services.results import benchmark_result_store, eval_run_verdict
from evals.services.submit import (
    DTYPES,
    MAX_LIMIT,
    MODEL_ID_RE,
    eval_run_create,
    eval_run_find_duplicate,
    eval_run_submit,
    submission_quota,
)

__all__ = [
    "DTYPES",
    "MAX_LIMIT",
    "MODEL_ID_RE",
    "RunRecorder",
    "RunStateError",
    "SubmissionError",
    "benchmark_result_store",
    "eval_run_accept_flag",
    "eval_run_can_cancel",
    "eval_run_can_retry",
    "eval_run_cancel",
    "eval_run_claim",
    "eval_run_create",
    "eval_run_enqueue",
    "eval_run_execute",
    "eval_run_find_duplicate",
    "eval_run_finish",
    "eval_run_release",
    "eval_run_retry",
    "eval_run_submit",
    "eval_run_verdict",
    "eval_runs_dispatch",
    "eval_runs_reap",
    "leaderboard_runs_changed",
    "submission_quota",
]
