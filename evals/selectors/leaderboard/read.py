"""The read side: filter, rank, order, page and hydrate a computed board."""

from __future__ import annotations

import hashlib
import json
import math
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from evals import stats
from evals.models import EvalRun
from evals.selectors.leaderboard.boards import (
    DEFAULT_METHOD,
    DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
    MODEL_FILTER_KEYS,
    ORDERING_FIELDS,
    SCORE_MODES,
    LeaderboardError,
)
from evals.selectors.leaderboard.build import BoardCore, CoreEntry, board_core
from evals.selectors.leaderboard.cache import _cached, leaderboard_cache_generation
from evals.selectors.leaderboard.columnar import board_table_meta
from evals.selectors.runs import run_settings_public
from registry.models import LanguageModel
from registry.selectors.models import model_filter, model_queryset

# --- rows ------------------------------------------------------------------------------------


@dataclass
class Score:
    benchmark: str
    value: float | None
    normalized: float | None
    stderr: float | None
    ci95: tuple[float, float] | None
    ci95_normalized: tuple[float, float] | None
    n: int | None
    metric: str
    random_baseline: float


@dataclass
class RunInfo:
    id: int
    sha: str
    engine_version: str
    suite: str
    settings: dict[str, Any]
    finished_at: datetime | None
    backend: str
    dtype: str
    is_partial: bool
    limit: int | None
    provenance: str = "measured"  # measured | imported


@dataclass
class LeaderboardRow:
    rank: int | None
    rank_worst: int | None
    model: LanguageModel
    average: float | None
    average_normalized: float | None
    ci95: tuple[float, float] | None
    ci95_normalized: tuple[float, float] | None
    stderr: float | None
    scores: dict[str, Score]
    run: RunInfo
    status: str
    on_frontier: bool = False

    @property
    def score_list(self) -> list[Score]:
        return list(self.scores.values())


@dataclass
class LeaderboardPage:
    suite: str
    board: str
    score: str
    ordering: str
    benchmarks: list[str]
    rows: list[LeaderboardRow]
    count: int
    page: int
    per_page: int
    not_ranked: list[LeaderboardRow]
    not_ranked_count: int
    chart: list[ChartPoint]
    chart_total: int
    provenance: str = "all"
    method: str = DEFAULT_METHOD

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.count / self.per_page))


class ChartPoint(NamedTuple):
    repo_id: str
    parameters: int
    score: float
    on_frontier: bool


class _Ranked(NamedTuple):
    position: int  # into core.ranked
    rank: int
    rank_worst: int


class RankedOrder:
    """A filtered, ordered board as three int arrays (index into core.ranked, rank, worst rank):
    about 1 MB for 100,000 rows, cheap to keep and to pickle, unlike 100,000 tuples."""

    __slots__ = ("indexes", "ranks", "worsts")

    def __init__(self, rows: Sequence[_Ranked] = ()) -> None:
        self.indexes = array("l", (r.position for r in rows))
        self.ranks = array("l", (r.rank for r in rows))
        self.worsts = array("l", (r.rank_worst for r in rows))

    def __len__(self) -> int:
        return len(self.indexes)

    def __iter__(self) -> Iterator[_Ranked]:
        return map(_Ranked, self.indexes, self.ranks, self.worsts)

    def __getitem__(self, part: slice) -> list[_Ranked]:
        return list(map(_Ranked, self.indexes[part], self.ranks[part], self.worsts[part]))

    def __getstate__(self) -> tuple[array, array, array]:
        return (self.indexes, self.ranks, self.worsts)

    def __setstate__(self, state: tuple[array, array, array]) -> None:
        self.indexes, self.ranks, self.worsts = state


def _score_of(entry: CoreEntry, score: str) -> tuple[float, float | None]:
    if score == "normalized":
        return entry.average_normalized or 0.0, entry.average_normalized_se
    return entry.average or 0.0, entry.average_se


def _filters_key(filters: dict[str, Any]) -> str:
    clean = {k: str(filters[k]) for k in MODEL_FILTER_KEYS if filters.get(k) not in (None, "", False)}
    return hashlib.sha1(json.dumps(clean, sort_keys=True).encode(), usedforsecurity=False).hexdigest()[:16]


def _model_pks(filters: dict[str, Any]) -> set[int] | None:
    """Model pks matching the filters (one query), or None when no model filter is set."""
    if not any(filters.get(k) not in (None, "", False) for k in MODEL_FILTER_KEYS):
        return None
    return set(model_filter(LanguageModel.objects.all(), filters).order_by().values_list("pk", flat=True))


def _ordering_key(ordering: str, benchmarks_: list[str]) -> tuple[str, bool]:
    descending = ordering.startswith("-")
    name = ordering.lstrip("-") or "rank"
    if name not in ORDERING_FIELDS and name not in benchmarks_:
        allowed = ", ".join([*ORDERING_FIELDS, *benchmarks_])
        raise LeaderboardError(f"Unknown ordering {ordering!r}; use one of {allowed} (prefix - for descending).")
    return name, descending


def _ranked_indexes(
    core: BoardCore, *, filters: dict[str, Any], score: str, ordering: str
) -> tuple[RankedOrder, list[int]]:
    """Filtered, ranked and ordered positions in core.ranked, and the filtered not-ranked positions."""
    pks = _model_pks(filters)
    keep = [i for i, e in enumerate(core.ranked) if pks is None or e.model_pk in pks]
    keep_nr = [i for i, e in enumerate(core.not_ranked) if pks is None or e.model_pk in pks]
    ranks = stats.rank_intervals([stats.bounds(*_score_of(core.ranked[i], score)) for i in keep])
    rows = [_Ranked(i, r, w) for i, (r, w) in zip(keep, ranks, strict=True)]
    name, descending = _ordering_key(ordering, core.benchmarks)

    def by_score(r: _Ranked) -> tuple[Any, ...]:
        e = core.ranked[r.position]
        return (-_score_of(e, score)[0], e.repo_id)

    if name == "rank":
        rows.sort(key=lambda r: (r.rank, *by_score(r)))
        if descending:
            rows.reverse()
    elif name in ("average", "average_normalized"):
        mode = "raw" if name == "average" else "normalized"
        rows.sort(key=lambda r: _score_of(core.ranked[r.position], mode)[0], reverse=descending)
    elif name == "name":
        rows.sort(key=lambda r: core.ranked[r.position].repo_id.lower(), reverse=descending)
    elif name == "parameters":
        with_params = [r for r in rows if core.ranked[r.position].parameters]
        without = [r for r in rows if not core.ranked[r.position].parameters]
        with_params.sort(key=lambda r: core.ranked[r.position].parameters or 0, reverse=descending)
        rows = with_params + without  # unknown sizes last either way
    else:
        position = core.benchmarks.index(name)
        rows.sort(key=lambda r: core.ranked[r.position].values[position] or 0.0, reverse=descending)
    return RankedOrder(rows), keep_nr


def _ranked_cached(
    core: BoardCore, *, filters: dict[str, Any], score: str, ordering: str
) -> tuple[RankedOrder, list[int]]:
    key = (
        f"leaderboard:ranked:{leaderboard_cache_generation()}:{core.suite}:{core.board}:{core.provenance}:"
        f"{core.method}:{score}:"
        f"{ordering}:{_filters_key(filters)}"
    )
    # Memoised too: a ranked list of 100,000 rows costs more to unpickle than a page costs to render.
    return _cached(key, lambda: _ranked_indexes(core, filters=filters, score=score, ordering=ordering), memo="ranked")


def _chart(core: BoardCore, ranked: RankedOrder, score: str, limit: int = 300) -> tuple[list[ChartPoint], int]:
    """Score against parameters with the Pareto frontier (no smaller model scores as high or higher).

    The frontier is computed over every filtered model with a known size; the chart draws the frontier
    and the `limit` best of the others.
    """
    points = []
    for r in ranked:
        e = core.ranked[r.position]
        if e.parameters:
            points.append((e.parameters, _score_of(e, score)[0], e.repo_id))
    points.sort(key=lambda p: (p[0], -p[1]))
    frontier: set[str] = set()
    best = -math.inf
    for _parameters, value, repo_id in points:
        if value > best:
            frontier.add(repo_id)
            best = value
    top = sorted(points, key=lambda p: -p[1])[:limit]
    chosen = {p[2] for p in top} | frontier
    drawn = [ChartPoint(p[2], p[0], p[1], p[2] in frontier) for p in points if p[2] in chosen]
    return drawn, len(points)


def _hydrate(core: BoardCore, entries: list[tuple[CoreEntry, int | None, int | None]]) -> list[LeaderboardRow]:
    """Turn core entries into rows with their models and run provenance: 3 queries for any count."""
    if not entries:
        return []
    models = model_queryset().in_bulk([e.model_pk for e, _r, _w in entries])
    runs = {
        run.pk: run
        for run in EvalRun.objects.filter(pk__in=[e.run_id for e, _r, _w in entries]).only(
            "id",
            "revision_sha",
            "engine_version",
            "suite",
            "settings",
            "finished_at",
            "backend",
            "dtype",
            "is_partial",
            "limit",
            "provenance",
        )
    }
    rows = []
    for entry, rank, worst in entries:
        run, model = runs.get(entry.run_id), models.get(entry.model_pk)
        if run is None or model is None:
            # Deleted since this process cached the board (another process bumped the generation,
            # and a per-process cache has not seen it yet): leave the row out rather than fail.
            continue
        scores = {}
        for i, key in enumerate(core.benchmarks):
            if entry.values[i] is None:
                continue
            baseline = core.baselines[i]
            ci = stats.interval(entry.values[i], entry.stderrs[i])
            scores[key] = Score(
                benchmark=key,
                value=entry.values[i],
                normalized=stats.normalize(entry.values[i], baseline),
                stderr=entry.stderrs[i],
                ci95=ci,
                ci95_normalized=(stats.normalize(ci[0], baseline), stats.normalize(ci[1], baseline)) if ci else None,  # type: ignore[arg-type]
                n=entry.ns[i],
                metric=entry.metrics[i],
                random_baseline=baseline,
            )
        rows.append(
            LeaderboardRow(
                rank=rank,
                rank_worst=worst,
                model=model,
                average=entry.average,
                average_normalized=entry.average_normalized,
                ci95=stats.interval(entry.average, entry.average_se),
                ci95_normalized=stats.interval(entry.average_normalized, entry.average_normalized_se),
                stderr=entry.average_se,
                scores=scores,
                run=RunInfo(
                    id=run.pk,
                    sha=run.revision_sha,
                    engine_version=run.engine_version,
                    suite=run.suite,
                    # Boards are public and cached for everyone: never the backend's weights path.
                    settings=run_settings_public(run.settings),
                    finished_at=run.finished_at,
                    backend=run.backend,
                    dtype=run.dtype,
                    is_partial=run.is_partial,
                    limit=run.limit,
                    provenance=run.provenance,
                ),
                status=entry.status,
            )
        )
    return rows


def leaderboard_page(
    *,
    suite: str = "quick",
    board: str = "overall",
    filters: dict[str, Any] | None = None,
    score: str = "raw",
    ordering: str = "rank",
    page: int = 1,
    per_page: int = DEFAULT_PER_PAGE,
    not_ranked_limit: int = 100,
    chart: bool = False,
    provenance: str = "all",
    method: str = DEFAULT_METHOD,
) -> LeaderboardPage:
    """One page of the ranked board with the filtered not-ranked runs (and the chart data if asked).

    Raises LeaderboardError for an unknown suite, board, score mode or ordering. Queries: one for the
    cache generation, then (cache warm) 3 to load the shown models and runs, plus 1 for the model
    filters on a cache miss; the board itself is computed once per generation.
    """
    filters = filters or {}
    if score not in SCORE_MODES:
        raise LeaderboardError(f"Unknown score {score!r}; use raw or normalized.")
    generation, table_ready = board_table_meta()
    if table_ready:
        return _page_from_table(
            suite=suite,
            board=board,
            filters=filters,
            score=score,
            ordering=ordering or "rank",
            page=page,
            per_page=per_page,
            not_ranked_limit=not_ranked_limit,
            chart=chart,
            provenance=provenance,
            method=method,
            generation=generation,
        )
    core = board_core(suite=suite, board=board, provenance=provenance, method=method)
    ranked, not_ranked = _ranked_cached(core, filters=filters, score=score, ordering=ordering or "rank")
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    chosen = ranked[(page - 1) * per_page : page * per_page]
    nr_chosen = not_ranked[:not_ranked_limit]
    points, total_points = ([], 0)
    if chart:
        chart_key = (
            f"leaderboard:chart:{leaderboard_cache_generation()}:{suite}:{board}:{provenance}:{method}:{score}:"
            f"{_filters_key(filters)}"
        )
        points, total_points = _cached(chart_key, lambda: _chart(core, ranked, score))
    frontier = {p.repo_id for p in points if p.on_frontier}
    hydrated = _hydrate(
        core,
        [(core.ranked[r.position], r.rank, r.rank_worst) for r in chosen]
        + [(core.not_ranked[i], None, None) for i in nr_chosen],
    )
    rows, nr_rows = hydrated[: len(chosen)], hydrated[len(chosen) :]
    for row in rows:
        row.on_frontier = row.model.repo_id in frontier
    return LeaderboardPage(
        suite=suite,
        board=board,
        score=score,
        ordering=ordering or "rank",
        benchmarks=core.benchmarks,
        rows=rows,
        count=len(ranked),
        page=page,
        per_page=per_page,
        not_ranked=nr_rows,
        not_ranked_count=len(not_ranked),
        chart=points,
        chart_total=total_points,
        provenance=provenance,
        method=method,
    )


def _page_from_table(
    *,
    suite: str,
    board: str,
    filters: dict[str, Any],
    score: str,
    ordering: str,
    page: int,
    per_page: int,
    not_ranked_limit: int,
    chart: bool,
    provenance: str,
    method: str,
    generation: tuple[int, float],
) -> LeaderboardPage:
    """leaderboard_page over the maintained table's columnar copy (evals/selectors/leaderboard/columnar.py)."""
    from evals.selectors.leaderboard.columnar import (
        board_arrays,
        columnar_chart,
        columnar_core,
        columnar_entries,
        columnar_order,
    )

    arrays = board_arrays(suite=suite, board=board, provenance=provenance, method=method, generation=generation)
    order = columnar_order(arrays, filters=filters, score=score, ordering=ordering)
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    start, stop = (page - 1) * per_page, page * per_page
    chosen = [int(i) for i in order.indexes[start:stop]]
    ranks = list(zip(order.ranks[start:stop].tolist(), order.worsts[start:stop].tolist(), strict=True))
    nr_chosen = [int(i) for i in order.not_ranked[:not_ranked_limit]]
    points, total_points = columnar_chart(arrays, order, score) if chart else ([], 0)
    frontier = {p.repo_id for p in points if p.on_frontier}
    core = columnar_core(arrays)
    entries = {e.run_id: e for e in columnar_entries(arrays, chosen + nr_chosen)}
    wanted: list[tuple[CoreEntry, int | None, int | None]] = []
    for position, (rank, worst) in zip(chosen, ranks, strict=True):
        entry = entries.get(int(arrays.run_id[position]))
        if entry is not None:
            wanted.append((entry, rank, worst))
    for position in nr_chosen:
        entry = entries.get(int(arrays.run_id[position]))
        if entry is not None:
            wanted.append((entry, None, None))
    hydrated = _hydrate(core, wanted)
    rows = [row for row in hydrated if row.rank is not None]
    nr_rows = [row for row in hydrated if row.rank is None]
    for row in rows:
        row.on_frontier = row.model.repo_id in frontier
    return LeaderboardPage(
        suite=suite,
        board=board,
        score=score,
        ordering=ordering,
        benchmarks=arrays.benchmarks,
        rows=rows,
        count=len(order),
        page=page,
        per_page=per_page,
        not_ranked=nr_rows,
        not_ranked_count=len(order.not_ranked),
        chart=points,
        chart_total=total_points,
        provenance=provenance,
        method=method,
    )


def leaderboard_rows(
    *, suite: str = "quick", board: str = "overall", filters: dict[str, Any] | None = None
) -> list[LeaderboardRow]:
    """Every ranked row of a board, best first, with models and provenance (for exports and small boards).

    `filters` takes the model filters (see MODEL_FILTER_KEYS) plus optional `score` (raw|normalized)
    and `ordering`. Raises LeaderboardError.
    """
    filters = filters or {}
    score = filters.get("score") or "raw"
    ordering = filters.get("ordering") or "rank"
    if score not in SCORE_MODES:
        raise LeaderboardError(f"Unknown score {score!r}; use raw or normalized.")
    core = board_core(suite=suite, board=board)
    ranked, _ = _ranked_cached(core, filters=filters, score=score, ordering=ordering)
    return list(leaderboard_iter_rows(core, ranked))


def leaderboard_iter_rows(core: BoardCore, ranked: RankedOrder, chunk: int = 1000) -> Iterable[LeaderboardRow]:
    for start in range(0, len(ranked), chunk):
        part = ranked[start : start + chunk]
        yield from _hydrate(core, [(core.ranked[r.position], r.rank, r.rank_worst) for r in part])


def leaderboard_export(
    *,
    suite: str,
    board: str,
    filters: dict[str, Any],
    score: str = "raw",
    ordering: str = "rank",
    provenance: str = "all",
    method: str = DEFAULT_METHOD,
) -> tuple[list[str], Iterable[LeaderboardRow]]:
    """The board's benchmark keys and a lazy iterator over all filtered rows (hydrated in chunks)."""
    if score not in SCORE_MODES:
        raise LeaderboardError(f"Unknown score {score!r}; use raw or normalized.")
    core = board_core(suite=suite, board=board, provenance=provenance, method=method)
    ranked, _ = _ranked_cached(core, filters=filters, score=score, ordering=ordering or "rank")
    return core.benchmarks, leaderboard_iter_rows(core, ranked)
