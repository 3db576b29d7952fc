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
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from evals.models import EvalRun
        from registry.models import AllowedRevision, LanguageModel
        from registry.signals import hub_revision_changed, models_bulk_changed, reported_scores_read

        post_delete.connect(_run_deleted, sender=EvalRun, dispatch_uid="evals.run_deleted_bumps_leaderboard")

        # Which runs rank depends on the model's current Hub sha and the revisions staff marked.
        hub_revision_changed.connect(_hub_revision_changed, dispatch_uid="evals.hub_revision_bumps_leaderboard")
        from evals.reported import reported_scores_read_receiver

        # The registry reads published scores (catalog, Hub sync); they are stored here as ReportedScores.
        reported_scores_read.connect(reported_scores_read_receiver, dispatch_uid="evals.reported_scores_store")
        for name, signal in (("saved", post_save), ("deleted", post_delete)):
            signal.connect(_ranking_changed, sender=AllowedRevision, dispatch_uid=f"evals.allowed_revision_{name}")
        # The board rows carry copies of the model's filter columns.
        post_save.connect(_model_saved, sender=LanguageModel, dispatch_uid="evals.model_saved_board_columns")
        models_bulk_changed.connect(_models_bulk_changed, dispatch_uid="evals.models_bulk_changed_board_columns")
        m2m_changed.connect(
            _model_languages_changed,
            sender=LanguageModel.languages.through,
            dispatch_uid="evals.model_languages_board_columns",
        )


def _run_deleted(*, instance: EvalRun, **kwargs: object) -> None:
    """A deleted run (admin, or its model deleted) must leave every board at once."""
    from evals.services import leaderboard_runs_changed

    leaderboard_runs_changed(model_ids=[instance.model_id])


def _ranking_changed(instance: object | None = None, **kwargs: object) -> None:
    """Staff changed a model's allowed revisions: its rows are rewritten, the cached boards are stale."""
    from django.db import transaction

    from evals.selectors.leaderboard import leaderboard_cache_bump
    from evals.selectors.leaderboard.maintain import board_models_refresh

    model_id = getattr(instance, "model_id", None)
    if model_id is not None:
        board_models_refresh([int(model_id)])
    transaction.on_commit(leaderboard_cache_bump)


def _hub_revision_changed(repo_ids: object = (), **kwargs: object) -> None:
    """A sync moved models to a new Hub commit (sent after its commit): runs of the old commit stop ranking."""
    from django.db import transaction

    from evals.selectors.leaderboard import leaderboard_cache_bump
    from evals.selectors.leaderboard.maintain import board_models_refresh
    from registry.models import LanguageModel

    ids = list(repo_ids) if isinstance(repo_ids, list | tuple | set | frozenset) else []
    if ids:
        board_models_refresh(LanguageModel.objects.filter(repo_id__in=ids).values_list("pk", flat=True))
    transaction.on_commit(leaderboard_cache_bump)


def _model_saved(instance: object, created: bool = False, raw: bool = False, **kwargs: object) -> None:
    """A model's metadata changed: its board rows' filter columns follow in the same transaction."""
    if created or raw:
        return
    from django.db import transaction

    from evals.selectors.leaderboard import leaderboard_cache_bump
    from evals.selectors.leaderboard.maintain import board_models_metadata_refresh

    if board_models_metadata_refresh([int(instance.pk)]):  # type: ignore[attr-defined]
        transaction.on_commit(leaderboard_cache_bump)


def _model_languages_changed(
    instance: object, action: str = "", reverse: bool = False, pk_set: object = None, **kwargs: object
) -> None:
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    from django.db import transaction

    from evals.selectors.leaderboard import leaderboard_cache_bump
    from evals.selectors.leaderboard.maintain import board_models_metadata_refresh

    if reverse:  # language.models.add(...): pk_set holds model pks
        model_ids = [int(pk) for pk in pk_set or ()]  # type: ignore[attr-defined]
    else:
        model_ids = [int(instance.pk)]  # type: ignore[attr-defined]
    if board_models_metadata_refresh(model_ids):
        transaction.on_commit(leaderboard_cache_bump)


def _models_bulk_changed(model_ids: object = (), **kwargs: object) -> None:
    """A bulk write (Hub sync) changed models' metadata without post_save: their board rows follow."""
    from django.db import transaction

    from evals.selectors.leaderboard import leaderboard_cache_bump
    from evals.selectors.leaderboard.maintain import board_models_metadata_refresh

    ids = [int(pk) for pk in model_ids] if isinstance(model_ids, list | tuple | set | frozenset) else []
    if board_models_metadata_refresh(ids):
        transaction.on_commit(leaderboard_cache_bump)
