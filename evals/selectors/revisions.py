"""Which runs may rank: the revision rule of the leaderboard, in one place.

A score on the board is shown under a model's id, so it must be a score of what that id stands for
today. A run ranks only when it evaluated:

* the model's current Hub commit (`revision_sha == model.hub_sha`); when a sync moves the model to a
  new commit, runs of the old one stop ranking (the sync sends `hub_revision_changed` and the boards
  are recomputed) and stay in the model's history;
* a revision staff marked as ranked on the model (`AllowedRevision.ranked`, by name or commit sha);
* weights that are not the Hub's to swap: a model with no Hub sha (closed models, catalog-only rows),
  staff-set local weights (the worker records their digest as `sha256:...`) or an API endpoint staff
  configured (no sha recorded).

Runs of any other revision (a pull request, a branch, an old commit) are listed in the model's
history, labelled, and never ranked.

A run also ranks only when its scores are measurements: a run flagged as degenerate when it finished
(answers unparsed beyond a threshold, or collapsed onto one option: evals/generative.py) ranks only once
staff accepted the flag (`flag_accepted_at`). `run_ranks_q()` is both rules together: the leaderboard's
aggregate SQL and its ORM path filter with it; run lists annotate `on_ranked_revision` with the revision
rule alone (`run_revision_ranks_q()`) and show the flag themselves.
"""

from __future__ import annotations

from typing import Any

from django.db.models import BooleanField, Case, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from evals.models import EvalRun
from registry.models import AllowedRevision

LOCAL_WEIGHTS_PREFIX = "sha256:"


def run_ranks_q() -> Q:
    """A filter on EvalRun: runs that may rank, by their revision and their flag (see the module docstring)."""
    return run_revision_ranks_q() & run_flag_ranks_q()


def run_flag_ranks_q() -> Q:
    """A filter on EvalRun: runs not flagged as degenerate, or whose flag staff accepted."""
    return Q(flagged=False) | Q(flag_accepted_at__isnull=False)


def run_revision_ranks_q() -> Q:
    """A filter on EvalRun: runs whose revision may rank (see the module docstring)."""
    marked = AllowedRevision.objects.filter(model=OuterRef("model"), ranked=True).filter(
        Q(revision=OuterRef("revision_sha")) | Q(revision=OuterRef("revision"))
    )
    return (
        Q(revision_sha=F("model__hub_sha"))
        | Q(model__hub_sha="")
        | Q(revision_sha="")
        | Q(revision_sha__startswith=LOCAL_WEIGHTS_PREFIX)
        | Q(Exists(marked))
    )


def runs_with_revision_rank(qs: QuerySet[EvalRun]) -> QuerySet[EvalRun]:
    """The runs annotated with `on_ranked_revision` (bool): whether their revision may rank."""
    return qs.annotate(
        on_ranked_revision=Case(
            When(run_revision_ranks_q(), then=Value(True)), default=Value(False), output_field=BooleanField()
        )
    )


def ranked_run_ids(*, suite: str, status: str = EvalRun.Status.SUCCEEDED) -> QuerySet[EvalRun, Any]:
    """ids of the runs of a suite (in a status) whose revision may rank, as a subquery."""
    return EvalRun.objects.filter(suite=suite, status=status).filter(run_ranks_q()).order_by().values("id")


def run_on_ranked_revision(run: EvalRun) -> bool:
    """Whether the run's revision may rank (the `on_ranked_revision` annotation, else one query)."""
    known = getattr(run, "on_ranked_revision", None)
    if known is not None:
        return bool(known)
    return EvalRun.objects.filter(pk=run.pk).filter(run_revision_ranks_q()).exists()


def run_revision_note(run: EvalRun) -> str:
    """What the model's history says of a run whose revision does not rank ("" for one that does)."""
    if run_on_ranked_revision(run):
        return ""
    return _("revision %(sha)s, not the current main of %(model)s: not ranked") % {
        "sha": (run.revision_sha or run.revision)[:12],
        "model": run.model.repo_id,
    }
