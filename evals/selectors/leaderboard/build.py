"""Reading a board's runs from the database (maintain.py writes the board rows from them).

One aggregate query on PostgreSQL (per run: its results as arrays, the averages and their SE computed
in the database); on SQLite (the embedded default) through the ORM.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Collection, Iterable
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
)
from evals.selectors.revisions import ranked_run_ids


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
