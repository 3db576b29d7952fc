"""The one door through which every run write tells the leaderboard its boards changed.

Every service that adds a run to a board or takes one off calls `leaderboard_runs_changed` inside its
transaction: a run created (a fresh install's default view turns to the measured board), finished
(`eval_run_finish`), cancelled, retried, reaped, its flag accepted, or deleted (the EvalRun post_delete
receiver in evals/apps.py). `model_ids` names the models whose board rows are stale.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction


def leaderboard_runs_changed(*, model_ids: Iterable[int]) -> None:
    """The boards of these models are stale once the current transaction commits (or now, outside one)."""
    from evals.selectors.leaderboard import leaderboard_cache_bump

    del model_ids  # every cached board is dropped at once; the ids are for a per-model board
    transaction.on_commit(leaderboard_cache_bump)
