"""The read side, for every surface (page, API, CSV, model pages, compare): filter, rank, order, page and
hydrate the maintained board through its columnar copy (columnar.py)."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, NamedTuple

from django.conf import settings

from evals import stats
from evals.models import BoardEntry
from evals.selectors.leaderboard.boards import (
    DEFAULT_METHOD,
    DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
    ORDERING_FIELDS,
    SCORE_MODES,
    LeaderboardError,
)
from evals.selectors.leaderboard.build import board_check
from evals.selectors.leaderboard.columnar import (
    BOARD_MODEL_COLUMNS,
    BoardArrays,
    BoardModel,
    ColumnarOrder,
    board_arrays,
    board_table_meta,
    columnar_chart,
    columnar_frontier,
    columnar_order,
)
from evals.selectors.leaderboard.maintain import board_ensure
from evals.selectors.runs import run_settings_public

# --- rows ------------------------------------------------------------------------------------


@dataclass(slots=True)
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


@dataclass(slots=True)
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
    model: BoardModel
    average: float | None
    average_normalized: float | None
    ci95: tuple[float, float] | None
    ci95_normalized: tuple[float, float] | None
    stderr: float | None
    scores: dict[str, Score]
    run: RunInfo
    status: str
    on_frontier: bool = False
    # Representations of the row that do not depend on rank or frontier (an API body's JSON, a page's HTML),
    # kept by the surface that renders them; shared by every copy of a memoized row (board_rows_at).
    rendered: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

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


def _ordering_key(ordering: str, benchmarks_: list[str]) -> tuple[str, bool]:
    descending = ordering.startswith("-")
    name = ordering.lstrip("-") or "rank"
    if name not in ORDERING_FIELDS and name not in benchmarks_:
        allowed = ", ".join([*ORDERING_FIELDS, *benchmarks_])
        raise LeaderboardError(f"Unknown ordering {ordering!r}; use one of {allowed} (prefix - for descending).")
    return name, descending


def board_current(*, suite: str, board: str, provenance: str = "all", method: str = DEFAULT_METHOD) -> BoardArrays:
    """The board's columnar copy at the table's current generation; raises LeaderboardError for an unknown
    suite, board, provenance or method. A table never built (a fresh install before migrate's
    `rebuild_leaderboard --if-stale` ran) is built here, once."""
    board_check(suite=suite, board=board, provenance=provenance, method=method)
    generation, ready = board_table_meta()
    if not ready:
        board_ensure()
        generation, _ready = board_table_meta()
    return board_arrays(suite=suite, board=board, provenance=provenance, method=method, generation=generation)


class RowMemo:
    """A board generation's hydrated rows by position, at most `size` (the oldest go first): a row is read
    back from the table and hydrated once per generation, not once per request that shows it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.rows: dict[int, LeaderboardRow] = {}
        self.hits = self.misses = 0
        self._lock = threading.Lock()

    def get(self, position: int) -> LeaderboardRow | None:
        row = self.rows.get(position)
        if row is None:
            self.misses += 1
        else:
            self.hits += 1
        return row

    def put(self, position: int, row: LeaderboardRow) -> None:
        if self.size <= 0:
            return
        with self._lock:
            while len(self.rows) >= self.size:
                del self.rows[next(iter(self.rows))]
            self.rows[position] = row


def row_memo(arrays: BoardArrays) -> RowMemo:
    """The memo of this board generation's hydrated rows (LADDER_LEADERBOARD_ROW_MEMO rows per board)."""
    memo: RowMemo | None = arrays.memo.get("rows")
    if memo is None:
        memo = arrays.memo.setdefault("rows", RowMemo(settings.LEADERBOARD_ROW_MEMO))
    return memo


def board_rows_at(
    arrays: BoardArrays,
    positions: Sequence[int],
    ranks: Sequence[tuple[int, int] | None],
    frontier: frozenset[int] = frozenset(),
    *,
    remember: bool = True,
) -> list[LeaderboardRow]:
    """The rows at these positions of the columnar copy with their ranks and frontier flags, hydrated from
    the memo or read back from the table (1 query for those not in it; `remember`: keep them in the memo);
    rows deleted since the copy was loaded are left out."""
    memo = row_memo(arrays)
    found: dict[int, LeaderboardRow | None] = {position: memo.get(position) for position in positions}
    missing = [position for position, held in found.items() if held is None]
    if missing:
        read = _rows_read(arrays, missing)
        for position in missing:  # in the order asked: the memo forgets the first taken first
            found[position] = row = read.get(position)
            if row is not None and remember:
                memo.put(position, row)
    rows = []
    for position, rank in zip(positions, ranks, strict=True):
        held = found[position]
        if held is not None:
            best, worst = rank if rank is not None else (None, None)
            rows.append(replace(held, rank=best, rank_worst=worst, on_frontier=position in frontier))
    return rows


# What a shown row needs of its BoardEntry and, through the join, of its run.
_ROW_FIELDS = (
    "pk",
    "model_id",
    "values",
    "stderrs",
    "ns",
    "metrics",
    "average",
    "average_se",
    "average_normalized",
    "average_normalized_se",
    "run_id",
    "run__revision_sha",
    "run__engine_version",
    "run__suite",
    "run__settings",
    "run__finished_at",
    "run__backend",
    "run__dtype",
    "run__is_partial",
    "run__limit",
    "run__provenance",
)


def _rows_read(arrays: BoardArrays, positions: list[int]) -> dict[int, LeaderboardRow]:
    """The rows at these positions, read back from the table with their runs (one query) and hydrated, by
    position; rows rewritten or deleted since the copy was loaded are left out until the next generation."""
    wanted = {int(arrays.pk[position]): position for position in positions}
    benchmarks, baselines = arrays.benchmarks, arrays.baselines
    rows = {}
    for line in BoardEntry.objects.filter(pk__in=list(wanted)).values_list(*_ROW_FIELDS, *BOARD_MODEL_COLUMNS):
        (pk, model_pk, values, stderrs, ns, metrics, average, average_se, average_n, average_n_se) = line[:10]
        position = wanted[pk]
        status = str(arrays.status[position])
        if status != "ranked":  # a row that does not rank shows no average
            average = average_se = average_n = average_n_se = None
        scores = {}
        for i, key in enumerate(benchmarks):
            value = values[i]
            if value is None:
                continue
            baseline = baselines[i]
            ci = stats.interval(value, stderrs[i])
            scores[key] = Score(
                benchmark=key,
                value=value,
                normalized=stats.normalize(value, baseline),
                stderr=stderrs[i],
                ci95=ci,
                ci95_normalized=(stats.normalize(ci[0], baseline), stats.normalize(ci[1], baseline)) if ci else None,  # type: ignore[arg-type]
                n=ns[i],
                metric=metrics[i],
                random_baseline=baseline,
            )
        run = line[10:21]
        rows[position] = LeaderboardRow(
            rank=None,
            rank_worst=None,
            model=BoardModel.from_columns(model_pk, dict(zip(BOARD_MODEL_COLUMNS, line[21:], strict=True))),
            average=average,
            average_normalized=average_n,
            ci95=stats.interval(average, average_se),
            ci95_normalized=stats.interval(average_n, average_n_se),
            stderr=average_se,
            scores=scores,
            run=RunInfo(
                id=run[0],
                sha=run[1],
                engine_version=run[2],
                suite=run[3],
                # Boards are public and cached for everyone: never the backend's weights path.
                settings=run_settings_public(run[4]),
                finished_at=run[5],
                backend=run[6],
                dtype=run[7],
                is_partial=run[8],
                limit=run[9],
                provenance=run[10],
            ),
            status=status,
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
    """One page of the ranked board, with the first `not_ranked_limit` filtered not-ranked runs on the first
    page (and the chart data if asked).

    Raises LeaderboardError for an unknown suite, board, score mode or ordering. Queries: one for the
    cache generation, then (cache warm) 3 to load the shown models and runs, plus 1 for the model
    filters on a cache miss; the board itself is computed once per generation.
    """
    filters = filters or {}
    if score not in SCORE_MODES:
        raise LeaderboardError(f"Unknown score {score!r}; use raw or normalized.")
    arrays = board_current(suite=suite, board=board, provenance=provenance, method=method)
    ordering = ordering or "rank"
    order = columnar_order(arrays, filters=filters, score=score, ordering=ordering)
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    start, stop = (page - 1) * per_page, page * per_page
    chosen = order.indexes[start:stop].tolist()
    ranks: list[tuple[int, int] | None] = list(order.rank_range(start, stop))
    # The rows that do not rank are listed with the first page of ranked ones (counted on every page).
    nr_chosen = order.not_ranked[:not_ranked_limit].tolist() if page == 1 else []
    points, total_points = columnar_chart(arrays, order, score) if chart else ([], 0)
    frontier = columnar_frontier(arrays, order, score).frontier_positions()
    hydrated = board_rows_at(arrays, chosen + nr_chosen, ranks + [None] * len(nr_chosen), frontier)
    rows = [row for row in hydrated if row.rank is not None]
    nr_rows = [row for row in hydrated if row.rank is None]
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
    _keys, rows = leaderboard_export(suite=suite, board=board, filters=filters, score=score, ordering=ordering)
    return list(rows)


def _iter_rows(arrays: BoardArrays, order: ColumnarOrder, chunk: int = 1000) -> Iterator[LeaderboardRow]:
    for start in range(0, len(order), chunk):
        stop = start + chunk
        # An export reads every row once: it does not push the rows pages show out of the memo.
        positions = order.indexes[start:stop].tolist()
        yield from board_rows_at(arrays, positions, list(order.rank_range(start, stop)), remember=False)


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
    arrays = board_current(suite=suite, board=board, provenance=provenance, method=method)
    order = columnar_order(arrays, filters=filters, score=score, ordering=ordering or "rank")
    return arrays.benchmarks, _iter_rows(arrays, order)
