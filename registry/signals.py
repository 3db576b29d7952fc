"""Signals the registry sends for other apps to react to (the registry imports no other app).

`hub_revision_changed`: a sync moved models to a new Hub commit (sent after the commit of the write;
`repo_ids` lists them). Runs of the old commit stop ranking, so the evals app drops its cached boards.

`reported_scores_read`: the catalog or a Hub sync read published scores (`origin`: "catalog" | "hub",
`facts_by_model`: {model pk: [registry.services.reported.ReportedFact, ...]}, each list replacing that
origin's earlier facts of the model). Sent inside the writer's transaction; the evals app stores them
and returns how many stored scores changed.

`models_bulk_changed`: a bulk write (Hub sync's bulk_update, which sends no post_save) changed the
metadata of models (`model_ids`). Sent inside the writer's transaction; the evals app copies the new
filter columns onto the models' board rows.
"""

from __future__ import annotations

from django.dispatch import Signal

hub_revision_changed = Signal()
reported_scores_read = Signal()
models_bulk_changed = Signal()
