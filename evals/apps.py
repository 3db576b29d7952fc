from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvalsConfig(AppConfig):
    name = "evals"
    verbose_name = _("Evaluations")

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from evals.models import EvalRun

        post_delete.connect(_run_deleted, sender=EvalRun, dispatch_uid="evals.run_deleted_bumps_leaderboard")


def _run_deleted(**kwargs: object) -> None:
    """A deleted run (admin) must leave every cached board at once."""
    from django.db import transaction

    from evals.selectors.leaderboard import leaderboard_cache_bump

    transaction.on_commit(leaderboard_cache_bump)
