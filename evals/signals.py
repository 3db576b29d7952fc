"""Signals the evals app sends, for code that watches a run from outside (tests, instrumentation).

`run_batch_storing`: a worker is about to store a batch of a run's scored items (sender
`evals.services.execute.RunRecorder`; `run_id`, `attempt`, `items`: the ItemOutcomes of the batch). Sent
on the worker, before the batch's transaction; a receiver that raises keeps the batch from being stored,
and the attempt handles its exception as an error of the store (a database error hands the run back to
the queue). Receivers see the run between batches, which is where a cancellation takes effect.
"""

from __future__ import annotations

from django.dispatch import Signal

run_batch_storing = Signal()
