from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from evals.models import EvalRun


class EvalsConfig(AppConfig):
    name = "evals"
    verbose_name = _("Evaluations")

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from evals.models import EvalRun

        post_delete.connect(_run_deleted, sender=EvalRun, dispatch_uid="evals.run_deleted_bumps_leaderboard")

        from django.db.models.signals import post_save

        from registry.models import AllowedRevision
        from registry.signals import hub_revision_changed, reported_scores_read

        # Which runs rank depends on the model's current Hub sha and the revisions staff marked.
        hub_revision_changed.connect(_ranking_changed, dispatch_uid="evals.hub_revision_bumps_leaderboard")
        from evals.reported import reported_scores_read_receiver

        # The registry reads published scores (catalog, Hub sync); they are stored here as ReportedScores.
        reported_scores_read.connect(reported_scores_read_receiver, dispatch_uid="evals.reported_scores_store")
        for name, signal in (("saved", post_save), ("deleted", post_delete)):
            signal.connect(_ranking_changed, sender=AllowedRevision, dispatch_uid=f"evals.allowed_revision_{name}")


def _run_deleted(*, instance: EvalRun, **kwargs: object) -> None:
    """A deleted run (admin, or its model deleted) must leave every board at once."""
    from evals.services import leaderboard_runs_changed

    leaderboard_runs_changed(model_ids=[instance.model_id])


def _ranking_changed(**kwargs: object) -> None:
    """A model moved to a new Hub commit, or staff changed its allowed revisions: boards are stale."""
    from django.db import transaction

    from evals.selectors.leaderboard import leaderboard_cache_bump

    transaction.on_commit(leaderboard_cache_bump)
