"""A model's evaluation summary, the compare page and its picker, read from the maintained board."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.db.models import Q

from evals.models import EvalRun
from evals.selectors.leaderboard.boards import DEFAULT_METHOD, RUN_METHODS, LeaderboardError, suites
from evals.selectors.leaderboard.read import LeaderboardRow, RunInfo, Score, board_current, board_rows_at
from evals.selectors.revisions import runs_with_revision_rank
from registry.models import LanguageModel
from registry.selectors.models import model_queryset


@dataclass
class SuiteSummary:
    suite: str
    suite_name: str
    run: RunInfo
    status: str  # ranked | partial | incomplete | not_comparable
    scores: list[Score]
    average: float | None
    average_normalized: float | None
    ci95: tuple[float, float] | None
    rank: int | None
    rank_worst: int | None
    ranked_count: int
    method: str = DEFAULT_METHOD


@dataclass
class ModelEvaluationSummary:
    runs: list[EvalRun]
    suites: list[SuiteSummary]


def model_suite_summary(*, model: LanguageModel, suite: str, method: str = DEFAULT_METHOD) -> SuiteSummary | None:
    """The model's counted run of a suite's overall board of a method (ranked, else its latest not-ranked run)."""
    try:
        arrays = board_current(suite=suite, board="overall", method=method)
    except LeaderboardError:
        return None
    where = np.flatnonzero(arrays.model_pk == model.pk)
    if not len(where):
        return None
    position = int(where[0])
    rank: tuple[int, int] | None = None
    ranked = slice(0, arrays.n_ranked)
    if position < arrays.n_ranked:
        # Among every ranked row (no filter): 1 + the intervals entirely above, and those not entirely below.
        lo, hi = arrays.lo[ranked], arrays.hi[ranked]
        rank = (1 + int(np.count_nonzero(lo > hi[position])), int(np.count_nonzero(hi >= lo[position])))
    rows = board_rows_at(arrays, [position], [rank])
    return _summary(suite, rows[0], arrays.n_ranked, method) if rows else None


def _summary(suite: str, row: LeaderboardRow, ranked_count: int, method: str = DEFAULT_METHOD) -> SuiteSummary:
    spec = suites().get(suite)
    return SuiteSummary(
        suite=suite,
        suite_name=str(getattr(spec, "name", suite)),
        run=row.run,
        status=row.status,
        scores=row.score_list,
        average=row.average,
        average_normalized=row.average_normalized,
        ci95=row.ci95,
        rank=row.rank,
        rank_worst=row.rank_worst,
        ranked_count=ranked_count,
        method=method,
    )


def model_evaluation_summary(*, model: LanguageModel, history: int = 20) -> ModelEvaluationSummary:
    """A model's evaluation history (latest `history` runs) and, per suite it was run on, the scores of
    its counted run with intervals and its rank on the overall board."""
    # Each run says whether its revision may rank (the history labels the others).
    runs = list(runs_with_revision_rank(EvalRun.objects.filter(model=model)).order_by("-created_at", "-id")[:history])
    suite_methods = set(
        EvalRun.objects.filter(model=model, status=EvalRun.Status.SUCCEEDED, method__in=RUN_METHODS)
        .order_by()
        .values_list("suite", "method")
        .distinct()
    )
    known = suites()
    summaries = []
    order = {m: i for i, m in enumerate(RUN_METHODS)}
    for key, method in sorted(
        suite_methods, key=lambda km: (list(known).index(km[0]) if km[0] in known else 99, km[0], order[km[1]])
    ):
        summary = model_suite_summary(model=model, suite=key, method=method)
        if summary is not None:
            summaries.append(summary)
    return ModelEvaluationSummary(runs=runs, suites=summaries)


@dataclass
class CompareEntry:
    model: LanguageModel
    summary: SuiteSummary | None


def compare_models(*, suite: str, model_ids: Sequence[str]) -> tuple[list[CompareEntry], list[str]]:
    """The given models (by id, case-insensitive) with their counted run of the suite, and the ids not found."""
    if suite not in suites():
        raise LeaderboardError(f"Unknown suite {suite!r}; known suites: {', '.join(sorted(suites()))}.")
    wanted = [m.strip() for m in model_ids if m.strip()]
    query = Q(pk__in=[])
    for repo_id in wanted:
        query |= Q(repo_id__iexact=repo_id)
    found = {m.repo_id.lower(): m for m in model_queryset().filter(query)}
    missing = [m for m in wanted if m.lower() not in found]
    entries = []
    seen = set()
    for m in wanted:
        model = found.get(m.lower())
        if model is None or model.pk in seen:
            continue
        seen.add(model.pk)
        entries.append(CompareEntry(model=model, summary=model_suite_summary(model=model, suite=suite)))
    return entries, missing


def model_choices(*, suite: str, limit: int = 200) -> list[str]:
    """Ids of the best-ranked models of a suite (for the compare picker)."""
    try:
        arrays = board_current(suite=suite, board="overall")
    except LeaderboardError:
        return []
    return [str(repo_id) for repo_id in arrays.repo_id[: min(limit, arrays.n_ranked)]]
