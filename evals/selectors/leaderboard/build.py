"""Computing a board from the runs: per model the counted run of a suite, board, provenance and method.

One aggregate query on PostgreSQL (per run: its results as arrays, the averages and their SE computed
in the database); on SQLite (the embedded default) through the ORM.
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from django.db.models import Avg, Case, Count, FloatField, StdDev, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from evals import stats
from evals.models import BenchmarkResult, EvalRun, ItemResult
from evals.selectors.leaderboard.boards import (
    DEFAULT_METHOD,
    RUN_METHODS,
    RUN_PROVENANCES,
    LeaderboardError,
    board_benchmarks,
    random_baseline,
)
from evals.selectors.leaderboard.cache import _cached, leaderboard_cache_generation
from evals.selectors.revisions import ranked_run_ids


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


class Averages(NamedTuple):
    """The averages of a run's board results and their SE (raw 0..1 and normalised 0..100)."""

    average: float | None
    average_se: float | None
    average_normalized: float | None
    average_normalized_se: float | None


class RunResults(NamedTuple):
    """One run of the suite with its board results aligned with the board's keys (None where missing)."""

    run_id: int
    model_pk: int
    is_partial: bool
    finished_at: Any  # epoch seconds from the aggregate query, a datetime from the ORM
    repo_id: str
    parameters: int | None
    values: tuple[float | None, ...]
    stderrs: tuple[float | None, ...]
    ns: tuple[int | None, ...]
    metrics: tuple[str, ...]
    present: int  # how many of the board's benchmarks the run has
    averages: Averages | None  # computed in the database, when every result has its SE


def board_check(*, suite: str, board: str, provenance: str, method: str) -> list[str]:
    """The board's benchmark keys; raises LeaderboardError for an unknown suite, board, provenance or method."""
    keys = board_benchmarks(suite=suite, board=board)
    if provenance not in RUN_PROVENANCES:
        raise LeaderboardError(f"Unknown provenance {provenance!r}; use one of {', '.join(RUN_PROVENANCES)}.")
    if method not in RUN_METHODS:
        raise LeaderboardError(f"Unknown method {method!r}; use one of {', '.join(RUN_METHODS)}.")
    return keys


def board_core(*, suite: str, board: str, provenance: str = "all", method: str = DEFAULT_METHOD) -> BoardCore:
    """The computed board of runs of a provenance and method (cached); raises LeaderboardError for an unknown
    suite, board, provenance or method."""
    keys = board_check(suite=suite, board=board, provenance=provenance, method=method)
    key = f"leaderboard:core:{leaderboard_cache_generation()}:{suite}:{board}:{provenance}:{method}"
    return _cached(
        key,
        lambda: board_core_compute(suite=suite, board=board, keys=keys, provenance=provenance, method=method),
        memo="core",
    )


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


def _ranked_runs(
    suite: str, provenance: str, method: str = DEFAULT_METHOD, model_ids: Collection[int] | None = None
) -> Any:
    """The runs that may rank (evals.selectors.revisions) of the provenances and the method asked for, as a
    subquery (of the given models only, if any)."""
    runs = ranked_run_ids(suite=suite).filter(provenance__in=RUN_PROVENANCES[provenance], method=method)
    if model_ids is not None:
        runs = runs.filter(model_id__in=list(model_ids))
    return runs


def _runs_postgresql(
    suite: str,
    keys: list[str],
    baselines: list[float],
    provenance: str = "all",
    method: str = DEFAULT_METHOD,
    model_ids: Collection[int] | None = None,
) -> list[RunResults]:
    """One aggregate query: per run its board results as arrays, with the averages and their SE
    computed in the database (a board of 1,000,000 results arrives as 100,000 rows)."""
    if any(b >= 1 for b in baselines):
        return _runs_orm(suite, keys, provenance, method, model_ids)
    import psycopg
    from django.db import connection

    k = len(keys)
    rows: list[RunResults] = []
    connection.ensure_connection()
    # Only runs of a revision that may rank (evals.selectors.revisions: the same rule as the ORM path).
    ranked_sql, ranked_params = _ranked_runs(suite, provenance, method, model_ids).query.sql_with_params()
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
            if len(benches) == k:
                rows.append(
                    RunResults(
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
                        Averages(avg, avg_se, avg_n, avg_n_se) if n_se == k else None,
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
) -> RunResults:
    position = {key: i for i, key in enumerate(keys)}
    values: list[float | None] = [None] * len(keys)
    ses: list[float | None] = [None] * len(keys)
    ns: list[int | None] = [None] * len(keys)
    metrics: list[str] = [""] * len(keys)
    present = 0
    for bench, value, se, n, metric in results:
        i = position[bench]
        values[i], ses[i], ns[i], metrics[i] = value, se, n, metric
        present += 1
    return RunResults(
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


def _runs_orm(
    suite: str,
    keys: list[str],
    provenance: str = "all",
    method: str = DEFAULT_METHOD,
    model_ids: Collection[int] | None = None,
) -> list[RunResults]:
    """The same rows through the ORM (SQLite, the embedded default): results row by row."""
    eligible = _ranked_runs(suite, provenance, method, model_ids)  # the revision rule, as in the SQL path
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


def board_runs(
    *,
    suite: str,
    keys: list[str],
    baselines: list[float],
    provenance: str = "all",
    method: str = DEFAULT_METHOD,
    model_ids: Collection[int] | None = None,
) -> list[RunResults]:
    """Every run that may rank on the board (of the given models only, if any), its results aligned with
    `keys`; standard errors missing on a result come from its items (one aggregate query for all)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        runs = _runs_postgresql(suite, keys, baselines, provenance, method, model_ids)
    else:
        runs = _runs_orm(suite, keys, provenance, method, model_ids)
    missing_se = [
        (run.run_id, keys[i], run.metrics[i])
        for run in runs
        if None in run.stderrs
        for i in range(len(keys))
        if run.values[i] is not None and run.stderrs[i] is None
    ]
    if missing_se:
        found_se = _item_stderrs(missing_se)
        for index, run in enumerate(runs):
            if None in run.stderrs:
                ses = tuple(found_se.get((run.run_id, keys[i]), se) for i, se in enumerate(run.stderrs))
                runs[index] = run._replace(stderrs=ses, averages=None)
    return runs


def expected_shape(runs: Iterable[RunResults], k: int) -> tuple[int | None, ...]:
    """The board's item count per benchmark: the most common n among complete full runs (ties: the
    larger). A run scored on other items (an older sample of the suite) is not comparable."""
    shapes: Counter[tuple[int | None, ...]] = Counter(run.ns for run in runs if not run.is_partial and run.present == k)
    expected: list[int | None] = []
    for i in range(k):
        per_n: Counter[int] = Counter()
        for shape, count in shapes.items():
            n = shape[i]
            if n is not None:
                per_n[n] += count
        expected.append(max(per_n.items(), key=lambda kv: (kv[1], kv[0]))[0] if per_n else None)
    return tuple(expected)


def run_status(run: RunResults, k: int, expected: tuple[int | None, ...]) -> str:
    """ranked | partial | incomplete | not_comparable."""
    if run.is_partial:
        return "partial"
    if run.present != k:
        return "incomplete"
    if run.ns != expected:
        return "not_comparable"
    return "ranked"


def counted_runs(
    runs: Iterable[RunResults], k: int, expected: tuple[int | None, ...]
) -> dict[int, tuple[RunResults, str]]:
    """Per model the run that counts and its status: the latest ranked run, else the latest of the others
    (by finished_at, then id)."""
    best: dict[int, tuple[tuple[int, float, int], RunResults, str]] = {}
    for run in runs:
        status = run_status(run, k, expected)
        priority = (1 if status == "ranked" else 0, _timestamp(run.finished_at), run.run_id)
        current = best.get(run.model_pk)
        if current is None or priority > current[0]:
            best[run.model_pk] = (priority, run, status)
    return {model_pk: (run, status) for model_pk, (_p, run, status) in best.items()}


def board_core_compute(
    *, suite: str, board: str, keys: list[str], provenance: str = "all", method: str = DEFAULT_METHOD
) -> BoardCore:
    """The board computed from the runs (no cache)."""
    baselines = [random_baseline(key) for key in keys]
    if not keys:
        return BoardCore(suite, board, keys, baselines, {}, [], [], provenance=provenance, method=method)
    k = len(keys)
    runs = board_runs(suite=suite, keys=keys, baselines=baselines, provenance=provenance, method=method)
    shape = expected_shape(runs, k)
    ranked: list[CoreEntry] = []
    not_ranked: list[CoreEntry] = []
    for run, status in counted_runs(runs, k, shape).values():
        entry = core_entry(run, baselines, status)
        (ranked if status == "ranked" else not_ranked).append(entry)
    ranked.sort(key=lambda e: (-(e.average or 0.0), e.repo_id))
    not_ranked.sort(key=lambda e: e.repo_id)
    expected_n = {key: n for key, n in zip(keys, shape, strict=True) if n is not None}
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


def run_averages(run: RunResults, baselines: list[float]) -> Averages:
    """The averages of a run with every board result (raw and normalised) and their SE."""
    if run.averages is not None and None not in run.stderrs:
        return run.averages
    values = run.values
    normalized = [stats.normalize(v, b) for v, b in zip(values, baselines, strict=True)]
    norm_ses = [stats.normalized_stderr(se, b) for se, b in zip(run.stderrs, baselines, strict=True)]
    return Averages(
        stats.mean(values), stats.mean_stderr(run.stderrs), stats.mean(normalized), stats.mean_stderr(norm_ses)
    )


def core_entry(run: RunResults, baselines: list[float], status: str) -> CoreEntry:
    """A board line; averages only for a ranked run (from the database where it had every SE)."""
    averages = run_averages(run, baselines) if status == "ranked" else Averages(None, None, None, None)
    return CoreEntry(
        run.model_pk,
        run.run_id,
        run.repo_id,
        run.parameters,
        run.values,
        run.stderrs,
        run.ns,
        run.metrics,
        *averages,
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
    return {key: stats.sample_stderr(xs) for key, xs in values.items()}
