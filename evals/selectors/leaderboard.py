"""The leaderboard: one primary score per benchmark, intervals, averages and tie-aware ranks.

How a board is computed (per suite, per board = overall | en | zh):

* Only runs of a revision that may rank count at all (evals/selectors/revisions.py: the model's current
  Hub commit, a revision staff marked, or weights that are not the Hub's); runs of other revisions
  (pull requests, old commits) appear only in the model's history.
* Eligible runs: status succeeded, not partial, same suite, every benchmark of the board present with
  the board's usual item count (the suite's fixed sample, so every ranked model saw the same items).
  For each model the latest eligible run counts (by finished_at, then id). A model without one but
  with a partial, incomplete or non-comparable run is listed under "not ranked", marked as such.
* Score of a benchmark: BenchmarkResult.value of its primary metric (lm-eval's usual metric), 0..1.
  Normalized as the Open LLM Leaderboard v2 does: norm = max(0, (raw - b) / (1 - b)) * 100 with b the
  benchmark's random baseline.
* Standard error of a benchmark: BenchmarkResult.stderr (sample std / sqrt(n) over the items, stored
  when the run finishes); where it is missing, one aggregate SQL query over the ItemResult metrics of
  the primary metric (Avg / StdDev / Count). 95% interval: value +- 1.96 * SE.
* Average: the plain mean of the k benchmark scores (raw 0..1 and normalized 0..100). Benchmarks are
  independent samples, so the SE of the mean of means is sqrt(sum_b SE_b^2) / k; interval +- 1.96 SE.
* Rank (as Chatbot Arena): 1 + the number of models whose interval lies entirely above this one's
  (their lower bound > this upper bound), among the rows shown (after filters). Statistically tied
  models share a rank. `rank_worst` = the number of models whose interval is not entirely below this
  one (its upper bound >= this lower bound), self included: the rank range is rank..rank_worst.
  Both come from binary searches over the sorted bounds, O(n log n).

The board is read with one aggregate query on PostgreSQL (per run: its results as arrays, the averages
and their SE computed in the database); on SQLite (the embedded default) through the ORM.

Caching: everything derived from the runs lives under a generation number kept in the Django cache;
`leaderboard_cache_bump()` (the evals services call it when a run finishes, is cancelled, retried or
deleted) makes every cached board stale at once. Cached: the board ("core": one compact tuple per
model) and each filtered ranked order (memoised per process, and also stored in the Django cache when
it is shared, e.g. Redis), the size chart per filter, the API JSON and the rendered page body per
query. `LADDER_LEADERBOARD_CACHE_TTL` (seconds, default 300; 0 = no caching) bounds staleness when a
bump cannot reach a process: with the default local-memory cache each web process has its own
generation, so a run finished by a worker shows after at most the TTL; set CACHE_URL to Redis to
share it. Tests that write runs directly must call leaderboard_cache_bump() (cache.clear() alone
keeps the per-process memo).
"""

from __future__ import annotations

import bisect
import functools
import gc
import hashlib
import json
import math
import os
import threading
import time
from array import array
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db.models import Avg, Case, Count, FloatField, Q, StdDev, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from evals.models import BenchmarkResult, EvalRun, ItemResult
from evals.selectors.revisions import ranked_run_ids, runs_with_revision_rank
from evals.selectors.runs import run_settings_public
from registry.models import LanguageModel
from registry.selectors.models import model_filter, model_queryset

Z95 = 1.96
BOARDS = ("overall", "en", "zh")
SCORE_MODES = ("raw", "normalized")
# Model filters understood by registry.selectors.models.model_filter, in the order forms show them.
MODEL_FILTER_KEYS = (
    "search",
    "weights",
    "language",
    "license",
    "commercial",
    "organization",
    "min_params",
    "max_params",
    "size",
    "modality",
    "base",
)
ORDERING_FIELDS = ("rank", "average", "average_normalized", "name", "parameters")
# The measured board's provenance switch (reported scores have their own board: selectors/reported.py).
# "all" = measured and imported runs ranked together (imported rows marked).
RUN_PROVENANCES = {"all": ("measured", "imported"), "measured": ("measured",), "imported": ("imported",)}
# How multiple choice was scored (EvalRun.method, evals/generative.py): each method ranks on its own board,
# never averaged with the other; a run that mixes both ranks on neither.
RUN_METHODS = ("loglikelihood", "generative")
DEFAULT_METHOD = "loglikelihood"
DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 500


class LeaderboardError(ValueError):
    """A request the leaderboard cannot answer (unknown suite, board or ordering); the message says why."""


# --- suites and benchmarks (helper 3's data in code) ------------------------------------------


def suites() -> dict[str, Any]:
    from evals.suites import SUITES

    return SUITES


def benchmarks() -> dict[str, Any]:
    from evals.benchmarks import BENCHMARKS

    return BENCHMARKS


def board_benchmarks(*, suite: str, board: str) -> list[str]:
    """The benchmark keys of a board within a suite, in the suite's order; raises LeaderboardError."""
    all_suites = suites()
    if suite not in all_suites:
        raise LeaderboardError(f"Unknown suite {suite!r}; known suites: {', '.join(sorted(all_suites))}.")
    if board not in BOARDS:
        raise LeaderboardError(f"Unknown board {board!r}; known boards: {', '.join(BOARDS)}.")
    specs = benchmarks()
    keys = [key for key in all_suites[suite].benchmarks if key in specs]
    if board != "overall":
        keys = [key for key in keys if getattr(specs[key], "language", "en") == board]
    return keys


def suite_boards(*, suite: str) -> list[str]:
    """The boards that have at least one benchmark in this suite."""
    return [board for board in BOARDS if board_benchmarks(suite=suite, board=board)]


def random_baseline(key: str) -> float:
    spec = benchmarks().get(key)
    value = getattr(spec, "random_baseline", 0.0) if spec is not None else 0.0
    return float(value or 0.0)


def normalize(value: float | None, baseline: float) -> float | None:
    """Open LLM Leaderboard v2 normalization: max(0, (raw - b) / (1 - b)) * 100."""
    if value is None:
        return None
    if baseline >= 1:
        return 0.0
    return max(0.0, (value - baseline) / (1 - baseline)) * 100


def interval(value: float | None, stderr: float | None) -> tuple[float, float] | None:
    if value is None or stderr is None:
        return None
    return (value - Z95 * stderr, value + Z95 * stderr)


def mean_stderr(stderrs: Sequence[float | None]) -> float | None:
    """SE of the mean of k independent means: sqrt(sum SE_b^2) / k (None if any SE is unknown)."""
    if not stderrs or any(se is None for se in stderrs):
        return None
    return math.sqrt(sum(se * se for se in stderrs)) / len(stderrs)  # type: ignore[operator]


# --- the cached core --------------------------------------------------------------------------


class CoreEntry(NamedTuple):
    """One model's line in a computed board; compact so 100,000 of them cache cheaply."""

    model_pk: int
    run_id: int
    repo_id: str
    parameters: int | None
    values: tuple[float | None, ...]  # per board benchmark, raw 0..1
    stderrs: tuple[float | None, ...]
    ns: tuple[int | None, ...]
    metrics: tuple[str, ...]
    average: float | None
    average_se: float | None
    average_normalized: float | None
    average_normalized_se: float | None
    status: str  # "ranked" | "partial" | "incomplete" | "not_comparable"


@dataclass
class BoardCore:
    suite: str
    board: str
    benchmarks: list[str]
    baselines: list[float]
    expected_n: dict[str, int]
    ranked: list[CoreEntry]
    not_ranked: list[CoreEntry]
    computed_at: float = field(default_factory=time.time)
    provenance: str = "all"
    method: str = DEFAULT_METHOD


_GENERATION_KEY = "leaderboard:generation"
# Per-process memo, two LRUs so that many filtered orders never push the boards themselves out.
_memos: dict[str, OrderedDict[str, Any]] = {"core": OrderedDict(), "ranked": OrderedDict()}
_MEMO_SIZES = {"core": 12, "ranked": 48}
_memo_lock = threading.Lock()


def _ttl() -> int:
    """settings.LEADERBOARD_CACHE_TTL (env LADDER_LEADERBOARD_CACHE_TTL, default 300 s).

    0 turns every leaderboard cache off (each request computes the board: for measurements)."""
    return int(settings.LEADERBOARD_CACHE_TTL)


_last_generation: list[int] = []


def leaderboard_cache_generation() -> int:
    """The current generation (shared through the Django cache).

    If the key was evicted (a full local-memory cache culls entries), the last value this process saw
    is put back rather than a new one, so an eviction does not throw every computed board away; with
    no value seen yet it starts from the clock, so it never reuses keys of an older generation.
    """
    generation = cache.get(_GENERATION_KEY)
    if generation is None:
        cache.add(_GENERATION_KEY, _last_generation[-1] if _last_generation else time.time_ns(), timeout=None)
        generation = cache.get(_GENERATION_KEY) or 0
    if not _last_generation or _last_generation[-1] != generation:
        _last_generation[:] = [int(generation)]
    return int(generation)


def leaderboard_cache_bump() -> None:
    """Make every cached board stale (call after a run finishes, is cancelled, retried or deleted).

    Cheap and safe to call inside or outside a transaction; with a shared cache backend (Redis) it
    reaches every web process at once, otherwise the TTL bounds staleness.
    """
    try:
        cache.incr(_GENERATION_KEY)
    except ValueError:
        cache.add(_GENERATION_KEY, time.time_ns(), timeout=None)
    with _memo_lock:
        for memo in _memos.values():
            memo.clear()


def _cached(key: str, compute: Callable[[], Any], *, memo: str | None = None) -> Any:
    """compute() cached under key: in the per-process memo `memo` ("core" | "ranked") if given, and
    in the Django cache unless that is per-process too."""
    if _ttl() <= 0:
        return compute()
    now = time.monotonic()
    store = _memos[memo] if memo else None
    if store is not None:
        with _memo_lock:
            hit = store.get(key)
            if hit is not None and hit[0] > now:
                store.move_to_end(key)
                return hit[1]
    # A memoised value in a per-process (local-memory) cache would only be a pickled second copy.
    shared = not (memo and _cache_is_local())
    value = cache.get(key) if shared else None
    if value is None:
        value = compute()
        if shared:
            cache.set(key, value, timeout=_ttl())
    if store is not None:
        with _memo_lock:
            store[key] = (now + _ttl(), value)
            while len(store) > _MEMO_SIZES[memo]:  # type: ignore[index]
                store.popitem(last=False)
    return value


def _cache_is_local() -> bool:
    """True for per-process backends (local memory, dummy), where only the memo is worth keeping."""
    from django.core.cache import caches

    return type(caches["default"]).__name__ in ("LocMemCache", "DummyCache")


def board_core(*, suite: str, board: str, provenance: str = "all", method: str = DEFAULT_METHOD) -> BoardCore:
    """The computed board of runs of a provenance and method (cached); raises LeaderboardError for an unknown
    suite, board, provenance or method."""
    keys = board_benchmarks(suite=suite, board=board)
    if provenance not in RUN_PROVENANCES:
        raise LeaderboardError(f"Unknown provenance {provenance!r}; use one of {', '.join(RUN_PROVENANCES)}.")
    if method not in RUN_METHODS:
        raise LeaderboardError(f"Unknown method {method!r}; use one of {', '.join(RUN_METHODS)}.")
    key = f"leaderboard:core:{leaderboard_cache_generation()}:{suite}:{board}:{provenance}:{method}"
    return _cached(
        key,
        lambda: _long_lived(
            _board_core_compute(suite=suite, board=board, keys=keys, provenance=provenance, method=method)
        ),
        memo="core",
    )


def _long_lived(core: BoardCore) -> BoardCore:
    """Move the new board (hundreds of thousands of tuples) out of the cyclic garbage collector's
    reach: otherwise every full collection walks it again (over a second for 100,000 models). The
    tuples are acyclic, so reference counting still frees them when the board is dropped. Garbage
    cycles are collected first so that none is frozen with it (frozen objects are never walked again,
    so this collection only walks what is new since the last board)."""
    gc.collect()
    gc.freeze()
    return core


# One row per run of the suite, its board results aligned with the board's keys (None where missing):
# (run_id, model_pk, is_partial, finished_at, repo_id, parameters, values, stderrs, ns, metrics,
#  present, averages computed in the database or None).
_RunRow = tuple[Any, ...]

_PG_CORE_SQL = """
WITH k(benchmark, pos, baseline) AS (SELECT * FROM unnest(%s::text[], %s::int[], %s::float8[]))
SELECT r.id, r.model_id, r.is_partial, extract(epoch FROM r.finished_at)::float8, m.repo_id, m.parameters,
       array_agg(k.benchmark ORDER BY k.pos), array_agg(b.value ORDER BY k.pos),
       array_agg(b.stderr ORDER BY k.pos), array_agg(b.n ORDER BY k.pos),
       array_agg(b.primary_metric ORDER BY k.pos),
       count(b.stderr), avg(b.value), sqrt(sum(b.stderr * b.stderr)) / count(*),
       avg(greatest(0, (b.value - k.baseline) / (1 - k.baseline)) * 100),
       sqrt(sum(power(b.stderr * 100 / (1 - k.baseline), 2))) / count(*)
FROM evals_evalrun r
JOIN registry_languagemodel m ON m.id = r.model_id
JOIN evals_benchmarkresult b ON b.run_id = r.id
JOIN k ON k.benchmark = b.benchmark
WHERE r.suite = %s AND r.status = %s AND r.id IN ({ranked_runs})
GROUP BY r.id, m.id
"""


def _ranked_runs(suite: str, provenance: str, method: str = DEFAULT_METHOD) -> Any:
    """The runs that may rank (evals.selectors.revisions) of the provenances and the method asked for, as a
    subquery."""
    return ranked_run_ids(suite=suite).filter(provenance__in=RUN_PROVENANCES[provenance], method=method)


def _runs_postgresql(
    suite: str, keys: list[str], baselines: list[float], provenance: str = "all", method: str = DEFAULT_METHOD
) -> list[_RunRow]:
    """One aggregate query: per run its board results as arrays, with the averages and their SE
    computed in the database (a board of 1,000,000 results arrives as 100,000 rows)."""
    if any(b >= 1 for b in baselines):
        return _runs_orm(suite, keys, provenance, method)
    import psycopg
    from django.db import connection

    k = len(keys)
    rows: list[_RunRow] = []
    connection.ensure_connection()
    # Only runs of a revision that may rank (evals.selectors.revisions: the same rule as the ORM path).
    ranked_sql, ranked_params = _ranked_runs(suite, provenance, method).query.sql_with_params()
    sql = _PG_CORE_SQL.format(ranked_runs=ranked_sql)
    # A binary cursor: arrays and numbers arrive without text parsing.
    started = time.monotonic()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            sql,
            [keys, list(range(k)), baselines, suite, str(EvalRun.Status.SUCCEEDED), *ranked_params],
            binary=True,
        )
        if connection.queries_logged:  # this cursor bypasses Django's wrapper: keep query counts honest
            connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
        for (
            run_id,
            model_pk,
            partial,
            finished,
            repo_id,
            params,
            benches,
            values,
            ses,
            ns,
            metrics,
            n_se,
            avg,
            avg_se,
            avg_n,
            avg_n_se,
        ) in cursor.fetchall():
            present = len(benches)
            if present == k:
                averages = (avg, avg_se, avg_n, avg_n_se) if n_se == k else None
                rows.append(
                    (
                        run_id,
                        model_pk,
                        partial,
                        finished,
                        repo_id,
                        params,
                        tuple(values),
                        tuple(ses),
                        tuple(ns),
                        tuple(metrics),
                        k,
                        averages,
                    )
                )
            else:
                rows.append(
                    _aligned(
                        keys,
                        run_id,
                        model_pk,
                        partial,
                        finished,
                        repo_id,
                        params,
                        zip(benches, values, ses, ns, metrics, strict=True),
                    )
                )
    return rows


def _aligned(
    keys: list[str],
    run_id: int,
    model_pk: int,
    partial: bool,
    finished: Any,
    repo_id: str,
    params: int | None,
    results: Iterable[tuple[str, float, float | None, int, str]],
) -> _RunRow:
    position = {key: i for i, key in enumerate(keys)}
    values: list[Any] = [None] * len(keys)
    ses: list[Any] = [None] * len(keys)
    ns: list[Any] = [None] * len(keys)
    metrics: list[str] = [""] * len(keys)
    present = 0
    for bench, value, se, n, metric in results:
        i = position[bench]
        values[i], ses[i], ns[i], metrics[i] = value, se, n, metric
        present += 1
    return (
        run_id,
        model_pk,
        partial,
        finished,
        repo_id,
        params,
        tuple(values),
        tuple(ses),
        tuple(ns),
        tuple(metrics),
        present,
        None,
    )


def _runs_orm(suite: str, keys: list[str], provenance: str = "all", method: str = DEFAULT_METHOD) -> list[_RunRow]:
    """The same rows through the ORM (SQLite, the embedded default): results row by row."""
    eligible = _ranked_runs(suite, provenance, method)  # the revision rule, as in the SQL path
    runs = list(
        EvalRun.objects.filter(id__in=eligible)
        .order_by()
        .values_list("id", "model_id", "is_partial", "finished_at", "model__repo_id", "model__parameters")
    )
    results: dict[int, list[tuple[str, float, float | None, int, str]]] = defaultdict(list)
    rows = (
        BenchmarkResult.objects.filter(run__in=eligible, benchmark__in=keys)
        .order_by()
        .values_list("run_id", "benchmark", "value", "stderr", "n", "primary_metric")
    )
    for run_id, bench, value, stderr, n, metric in rows.iterator(chunk_size=20_000):
        results[run_id].append((bench, value, stderr, n, metric))
    return [_aligned(keys, *run, results[run[0]]) for run in runs if run[0] in results]


def _board_core_compute(
    *, suite: str, board: str, keys: list[str], provenance: str = "all", method: str = DEFAULT_METHOD
) -> BoardCore:
    baselines = [random_baseline(key) for key in keys]
    if not keys:
        return BoardCore(suite, board, keys, baselines, {}, [], [], provenance=provenance, method=method)
    from django.db import connection

    if connection.vendor == "postgresql":
        runs = _runs_postgresql(suite, keys, baselines, provenance, method)
    else:
        runs = _runs_orm(suite, keys, provenance, method)
    k = len(keys)

    # Standard errors missing on a result come from its items (one aggregate query for all).
    missing_se = [
        (run[0], keys[i], run[9][i])
        for run in runs
        if None in run[7]
        for i in range(k)
        if run[6][i] is not None and run[7][i] is None
    ]
    if missing_se:
        found_se = _item_stderrs(missing_se)
        for index, run in enumerate(runs):
            if None in run[7]:
                ses = tuple(found_se.get((run[0], keys[i]), se) for i, se in enumerate(run[7]))
                runs[index] = (*run[:7], ses, *run[8:11], None)

    # The board's item count per benchmark: the most common n among complete full runs (ties: the
    # larger). A run scored on other items (an older sample of the suite) is not comparable.
    shapes: Counter[tuple[int, ...]] = Counter(run[8] for run in runs if not run[2] and run[10] == k)
    expected: list[int | None] = []
    for i in range(k):
        per_n: Counter[int] = Counter()
        for shape, count in shapes.items():
            per_n[shape[i]] += count
        expected.append(max(per_n.items(), key=lambda kv: (kv[1], kv[0]))[0] if per_n else None)
    expected_shape = tuple(expected)

    best: dict[int, tuple[tuple[int, float, int], _RunRow, str]] = {}
    for run in runs:
        run_id, model_pk, is_partial, finished_at = run[0], run[1], run[2], run[3]
        if is_partial:
            status = "partial"
        elif run[10] != k:
            status = "incomplete"
        elif run[8] != expected_shape:
            status = "not_comparable"
        else:
            status = "ranked"
        priority = (1 if status == "ranked" else 0, _timestamp(finished_at), run_id)
        current = best.get(model_pk)
        if current is None or priority > current[0]:
            best[model_pk] = (priority, run, status)

    ranked: list[CoreEntry] = []
    not_ranked: list[CoreEntry] = []
    for _priority, run, status in best.values():
        averages = run[11] if status == "ranked" and None not in run[7] else None
        if averages is None:
            entry = _entry(run, baselines, status)
        else:
            entry = CoreEntry(run[1], run[0], run[4], run[5], run[6], run[7], run[8], run[9], *averages, status)
        (ranked if status == "ranked" else not_ranked).append(entry)
    ranked.sort(key=lambda e: (-(e.average or 0.0), e.repo_id))
    not_ranked.sort(key=lambda e: e.repo_id)
    expected_n = {key: n for key, n in zip(keys, expected_shape, strict=True) if n is not None}
    return BoardCore(
        suite, board, keys, baselines, expected_n, ranked, not_ranked, provenance=provenance, method=method
    )


def _timestamp(value: Any) -> float:
    """finished_at as seconds (the aggregate query sends epoch seconds, the ORM datetimes)."""
    if value is None:
        return 0.0
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def _entry(run: _RunRow, baselines: list[float], status: str) -> CoreEntry:
    """A core entry with its averages computed here (runs with an item-derived SE, or not ranked)."""
    values, stderrs = run[6], run[7]
    average = average_se = average_norm = average_norm_se = None
    if status == "ranked":
        average = sum(values) / len(values)
        average_se = mean_stderr(stderrs)
        normalized = [normalize(v, b) for v, b in zip(values, baselines, strict=True)]
        average_norm = sum(normalized) / len(normalized)  # type: ignore[arg-type]
        norm_ses = [
            None if se is None else se * 100 / (1 - b) if b < 1 else 0.0
            for se, b in zip(stderrs, baselines, strict=True)
        ]
        average_norm_se = mean_stderr(norm_ses)
    return CoreEntry(
        run[1],
        run[0],
        run[4],
        run[5],
        values,
        stderrs,
        run[8],
        run[9],
        average,
        average_se,
        average_norm,
        average_norm_se,
        status,
    )


def _item_stderrs(missing: list[tuple[int, str, str]]) -> dict[tuple[int, str], float | None]:
    """SE of the primary metric per (run, benchmark) from the stored items: one aggregate query."""
    metric_of = {bench: metric for _run, bench, metric in missing}
    value = Case(
        *[When(benchmark=bench, then=KeyTextTransform(metric, "metrics")) for bench, metric in metric_of.items()]
    )
    items = ItemResult.objects.filter(
        run_id__in={run for run, _b, _m in missing}, benchmark__in=list(metric_of)
    ).annotate(v=Cast(value, FloatField()))
    from django.db import connection

    if connection.vendor == "sqlite":  # SQLite has no STDDEV: the same numbers in Python
        return _item_stderrs_python(items, {(run, bench) for run, bench, _m in missing})
    rows = (
        items.values("run_id", "benchmark")
        .annotate(sd=StdDev("v", sample=True), n=Count("v"), mean=Avg("v"))
        .order_by()
    )
    wanted = {(run, bench) for run, bench, _m in missing}
    out: dict[tuple[int, str], float | None] = {}
    for row in rows:
        key = (row["run_id"], row["benchmark"])
        if key in wanted and row["n"]:
            out[key] = (row["sd"] or 0.0) / math.sqrt(row["n"]) if row["n"] > 1 else None
    return out


def _item_stderrs_python(items: Any, wanted: set[tuple[int, str]]) -> dict[tuple[int, str], float | None]:
    values: dict[tuple[int, str], list[float]] = defaultdict(list)
    for run_id, bench, v in items.values_list("run_id", "benchmark", "v").order_by().iterator():
        if v is not None and (run_id, bench) in wanted:
            values[(run_id, bench)].append(v)
    out: dict[tuple[int, str], float | None] = {}
    for key, xs in values.items():
        n = len(xs)
        if n > 1:
            mean = sum(xs) / n
            out[key] = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1)) / math.sqrt(n)
        else:
            out[key] = None
    return out


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
    index: int  # into core.ranked
    rank: int
    rank_worst: int


class RankedOrder:
    """A filtered, ordered board as three int arrays (index into core.ranked, rank, worst rank):
    about 1 MB for 100,000 rows, cheap to keep and to pickle, unlike 100,000 tuples."""

    __slots__ = ("indexes", "ranks", "worsts")

    def __init__(self, rows: Sequence[_Ranked] = ()) -> None:
        self.indexes = array("l", (r.index for r in rows))
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


def rank_intervals(bounds: Sequence[tuple[float, float]]) -> list[tuple[int, int]]:
    """(rank, worst rank) per (lo, hi): rank = 1 + #{j: lo_j > hi_i}, worst = #{j: hi_j >= lo_i}."""
    los = sorted(lo for lo, _hi in bounds)
    his = sorted(hi for _lo, hi in bounds)
    n = len(bounds)
    return [(1 + n - bisect.bisect_right(los, hi), n - bisect.bisect_left(his, lo)) for lo, hi in bounds]


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
    bounds = []
    for i in keep:
        value, se = _score_of(core.ranked[i], score)
        bounds.append((value, value) if se is None else (value - Z95 * se, value + Z95 * se))
    ranks = rank_intervals(bounds)
    rows = [_Ranked(i, r, w) for i, (r, w) in zip(keep, ranks, strict=True)]
    name, descending = _ordering_key(ordering, core.benchmarks)

    def by_score(r: _Ranked) -> tuple[Any, ...]:
        e = core.ranked[r.index]
        return (-_score_of(e, score)[0], e.repo_id)

    if name == "rank":
        rows.sort(key=lambda r: (r.rank, *by_score(r)))
        if descending:
            rows.reverse()
    elif name in ("average", "average_normalized"):
        mode = "raw" if name == "average" else "normalized"
        rows.sort(key=lambda r: _score_of(core.ranked[r.index], mode)[0], reverse=descending)
    elif name == "name":
        rows.sort(key=lambda r: core.ranked[r.index].repo_id.lower(), reverse=descending)
    elif name == "parameters":
        with_params = [r for r in rows if core.ranked[r.index].parameters]
        without = [r for r in rows if not core.ranked[r.index].parameters]
        with_params.sort(key=lambda r: core.ranked[r.index].parameters or 0, reverse=descending)
        rows = with_params + without  # unknown sizes last either way
    else:
        position = core.benchmarks.index(name)
        rows.sort(key=lambda r: core.ranked[r.index].values[position] or 0.0, reverse=descending)
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
        e = core.ranked[r.index]
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
            ci = interval(entry.values[i], entry.stderrs[i])
            scores[key] = Score(
                benchmark=key,
                value=entry.values[i],
                normalized=normalize(entry.values[i], baseline),
                stderr=entry.stderrs[i],
                ci95=ci,
                ci95_normalized=(normalize(ci[0], baseline), normalize(ci[1], baseline)) if ci else None,  # type: ignore[arg-type]
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
                ci95=interval(entry.average, entry.average_se),
                ci95_normalized=interval(entry.average_normalized, entry.average_normalized_se),
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
        [(core.ranked[r.index], r.rank, r.rank_worst) for r in chosen]
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
        yield from _hydrate(core, [(core.ranked[r.index], r.rank, r.rank_worst) for r in part])


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


# --- model page and compare ------------------------------------------------------------------


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
        core = board_core(suite=suite, board="overall", method=method)
    except LeaderboardError:
        return None
    ranked, _nr = _ranked_cached(core, filters={}, score="raw", ordering="rank")
    for r in ranked:
        entry = core.ranked[r.index]
        if entry.model_pk == model.pk:
            (row,) = _hydrate(core, [(entry, r.rank, r.rank_worst)])
            return _summary(suite, row, len(ranked), method)
    for entry in core.not_ranked:
        if entry.model_pk == model.pk:
            (row,) = _hydrate(core, [(entry, None, None)])
            return _summary(suite, row, len(ranked), method)
    return None


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
        core = board_core(suite=suite, board="overall")
    except LeaderboardError:
        return []
    return [e.repo_id for e in core.ranked[:limit]]


# --- benchmarks and suites -------------------------------------------------------------------


def benchmark_item_count(key: str) -> int | None:
    """Items in the benchmark's evaluation split, counted in its LADDER_DATA_DIR file (None if absent)."""
    spec = benchmarks().get(key)
    data_dir = getattr(settings, "LADDER_DATA_DIR", "") or os.environ.get("LADDER_DATA_DIR", "")
    if spec is None or not data_dir:
        return None
    from evals.data import split_file

    return _count_lines(str(split_file(spec, spec.eval_split, str(data_dir))))


@functools.lru_cache(maxsize=64)
def _count_lines(path: str) -> int | None:
    try:
        with open(path, "rb") as handle:
            return sum(1 for line in handle if line.strip())
    except OSError:
        return None


def benchmark_info(key: str) -> dict[str, Any]:
    """The public facts of one benchmark plus its item count and the suites (-> n-shot) that use it.

    Raises KeyError for an unknown key."""
    spec = benchmarks()[key]
    data = spec.as_dict() if hasattr(spec, "as_dict") else {"key": key, "name": getattr(spec, "name", key)}
    data["item_count"] = benchmark_item_count(key)
    data["suites"] = {
        suite_key: int(getattr(suite, "n_shot", {}).get(key, 0))
        for suite_key, suite in suites().items()
        if key in suite.benchmarks
    }
    data["sample_sizes"] = {
        suite_key: getattr(suite, "sample_size", None)
        for suite_key, suite in suites().items()
        if key in suite.benchmarks
    }
    return data


def benchmark_infos() -> list[dict[str, Any]]:
    return [benchmark_info(key) for key in benchmarks()]


def suite_infos() -> list[dict[str, Any]]:
    out = []
    for key, suite in suites().items():
        out.append(
            {
                "key": key,
                "name": str(suite.name),
                "description": str(getattr(suite, "description", "")),
                "benchmarks": list(suite.benchmarks),
                "n_shot": dict(getattr(suite, "n_shot", {})),
                "sample_size": getattr(suite, "sample_size", None),
                "seed": getattr(suite, "seed", None),
                "boards": suite_boards(suite=key),
            }
        )
    return out


def leaderboard_cached(namespace: str, params: dict[str, Any], compute: Callable[[], Any]) -> Any:
    """`compute()` cached under the current generation for these params (rendered pages, API bodies)."""
    digest = hashlib.sha1(json.dumps(params, sort_keys=True, default=str).encode(), usedforsecurity=False).hexdigest()
    return _cached(f"leaderboard:{namespace}:{leaderboard_cache_generation()}:{digest}", compute)


def leaderboard_cache_peek(namespace: str, params: dict[str, Any]) -> Any:
    """A value stored by leaderboard_cache_put under the current generation, or None."""
    if _ttl() <= 0:
        return None
    return cache.get(_namespaced_key(namespace, params))


def leaderboard_cache_put(namespace: str, params: dict[str, Any], value: Any) -> None:
    if _ttl() > 0:
        cache.set(_namespaced_key(namespace, params), value, timeout=_ttl())


def _namespaced_key(namespace: str, params: dict[str, Any]) -> str:
    digest = hashlib.sha1(json.dumps(params, sort_keys=True, default=str).encode(), usedforsecurity=False).hexdigest()
    return f"leaderboard:{namespace}:{leaderboard_cache_generation()}:{digest}"
