"""Signals the registry sends for other apps to react to (the registry imports no other app).

`hub_revision_changed`: a sync moved models to a new Hub commit (sent after the commit of the write;
`repo_ids` lists them). Runs of the old commit stop ranking, so the evals app drops its cached boards.
"""

from __future__ import annotations

from django.dispatch import Signal

hub_revision_changed = Signal()
