"""The board's read side two ways, side by side: the in-process columnar copy against SQL on the BoardEntry table.

Issue #11 asked to measure both and keep the faster; the app reads through the columnar copy
(evals/selectors/leaderboard/columnar.py). This script computes, for the same varied requests as the load
benchmark (random filters, ordering, score, board, page of 50; leaderboard_load.varied_board_path), one page
of ranked rows two ways, in process, one request after another:

1. columnar: what the app does, read.board_current (the generation query, the copy held in memory),
   columnar.columnar_order (filter masks, ordering) and rank_range for the page's rows;
2. SQL: one statement on evals_boardentry: the filters as a WHERE clause on the table's columns, "ranked"
   as kind = 'complete' and ns equal to the board's usual item counts (computed once per board, as the
   columnar copy does once per generation), the ordering as ORDER BY with the same tie rules, the page as
   LIMIT/OFFSET, the count of ranked and of not-ranked rows, and the page's exact tie-aware ranks among
   the filtered ranked rows: the filtered bounds sorted (array_agg ... ORDER BY) and binary-searched
   (width_bucket), as evals.stats.rank_among_sorted does with numpy.

Both give page rows' ids, (rank, worst rank) per row, and the two counts; the script asserts they are equal
for every request, then prints p50/p90 per way and their ratio, for all requests, for the rank ordering and
for the rank ordering with a filter. Neither way hydrates the rows (the same one query by id for both). The
first request of each board (loading its columns; warming PostgreSQL's buffers) is left out of the figures.

Run after `benchmarks/leaderboard_load.py --board --models 100000 --keep --db ladder_load100k`, which leaves
the scratch database; this script only reads it and ANALYZEs it (with --index it adds an index and drops it
afterwards; --explain prints the plans of the first three statements):

    .venv/bin/python benchmarks/leaderboard_sql.py [--db ladder_load100k] [--requests 200] [--index] [--explain]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SUITE, PROVENANCE, METHOD = "quick", "all", "loglikelihood"
PER_PAGE = 50
# Bounds sorted for the rank searches, per score mode (BoardEntry's columns).
BOUNDS = {"raw": ("lo", "hi"), "normalized": ("lo_normalized", "hi_normalized")}
# A page in the board's base order ends with the best raw average, then the id in code point order.
BASE_ORDER = 'COALESCE(average, 0) DESC, repo_id COLLATE "C"'
COMMERCIAL = ("yes", "restricted")  # columnar._COMMERCIAL
# --index: the index an SQL read side would reach for (a board's rows in bound order), to see whether the
# planner takes it; the bounds have to be of the filtered ranked rows, so the rows are read either way.
EXTRA_INDEX = (
    "CREATE INDEX IF NOT EXISTS bench_boardentry_lo ON evals_boardentry (suite, board, provenance, method, lo)"
)

# The filters and cases the load benchmark's mix leaves out (license, modality, base, on_hub, upper case,
# unknown values, a page past the end), checked both ways but not timed.
OTHER_REQUESTS: list[tuple[str, dict[str, Any], str, str, int]] = [
    ("overall", {"license": "MIT"}, "raw", "rank", 2),
    ("overall", {"license": "llama2", "commercial": "true"}, "normalized", "-parameters", 1),
    ("overall", {"commercial": "false", "modality": "TEXT"}, "raw", "-rank", 3),
    ("en", {"on_hub": "true", "organization": "ORG7"}, "raw", "name", 1),
    ("zh", {"on_hub": "false"}, "raw", "rank", 1),
    ("overall", {"base": "ORG1/Model-1001"}, "normalized", "rank", 1),
    ("overall", {"language": "ZH", "weights": "OPEN"}, "normalized", "average_normalized", 5),
    ("overall", {"language": "fr"}, "raw", "rank", 1),
    ("overall", {"search": "  MODEL-77 "}, "raw", "-name", 1),
    ("overall", {"min_params": "70B"}, "raw", "-arc_easy", 2),
    ("en", {"size": "edge", "max_params": "1B"}, "normalized", "-average", 1),
    ("overall", {}, "raw", "rank", 3000),
    ("overall", {}, "normalized", "-rank", 1),
]


def _truthy(value: Any) -> bool:
    return str(value).lower() in {"1", "true", "yes", "on"}


def filter_sql(filters: dict[str, Any]) -> tuple[list[str], list[Any]]:
    """The request's model filters as conditions on BoardEntry's columns (columnar.board_mask's meaning:
    case-insensitive codes, languages as the stored codes, parameter bounds from ModelFilters)."""
    from registry.selectors.models import ModelFilters

    where: list[str] = []
    params: list[Any] = []

    def equals(column: str, value: Any, *, stored_lower: bool = False) -> None:
        # A choice column holds lower-case values only: the plain column lets the planner use its statistics.
        where.append(f"{column} = %s" if stored_lower else f"LOWER({column}) = %s")
        params.append(str(value).lower())

    for key, value in filters.items():
        if key == "on_hub":
            if value not in (None, ""):
                where.append("on_hub" if _truthy(value) else "NOT on_hub")
            continue
        if not value or key in ("size", "min_params", "max_params"):
            continue
        if key == "weights":
            equals("weights", value, stored_lower=True)
        elif key == "language":
            where.append("languages @> %s::jsonb")
            params.append(json.dumps([str(value).lower()]))
        elif key == "license":
            equals("license_key", value)
        elif key == "commercial":
            if _truthy(value):
                where.append("LOWER(commercial_use) IN (%s, %s)")
                params.extend(COMMERCIAL)
        elif key == "organization":
            equals("organization_slug", value)
        elif key == "modality":
            equals("modality", value, stored_lower=True)
        elif key == "base":
            wanted = str(value).lower()
            where.append("(LOWER(repo_id) = %s OR LOWER(base_repo_id) = %s OR LOWER(base_model_ref) = %s)")
            params.extend([wanted] * 3)
        elif key == "search":
            text = str(value).strip().lower()
            if text:
                where.append("(STRPOS(LOWER(repo_id), %s) > 0 OR STRPOS(LOWER(name), %s) > 0)")
                params.extend([text, text])
        else:
            raise ValueError(f"unknown filter {key!r}")
    size_keys = {key: filters.get(key) for key in ("size", "min_params", "max_params")}
    if any(value not in (None, "", False) for value in size_keys.values()):
        low, below = ModelFilters.parse_partial(size_keys)[0].parameter_bounds()
        if low is not None or below is not None:
            where.append("parameters IS NOT NULL")
        if low is not None:
            where.append("parameters >= %s")
            params.append(low)
        if below is not None:
            where.append("parameters < %s")
            params.append(below)
    return where, params


def order_sql(name: str, descending: bool, score: str, benchmarks: list[str]) -> str:
    """ORDER BY for one ordering, with columnar._permutation_compute's tie rules (ties keep the base order;
    the rank ordering breaks rank ties by the score, then the id, and "-rank" reverses all of it)."""
    average = "average_normalized" if score == "normalized" else "average"
    direction = "DESC" if descending else "ASC"
    if name == "rank":
        if descending:
            return f'rank DESC, COALESCE({average}, 0) ASC, repo_id COLLATE "C" DESC'
        return f'rank ASC, COALESCE({average}, 0) DESC, repo_id COLLATE "C"'
    if name == "parameters":  # sizes first (unknown or 0 last, in the base order)
        return f"(parameters IS NULL OR parameters = 0), parameters {direction}, {BASE_ORDER}"
    if name == "name":
        return f'LOWER(repo_id) COLLATE "C" {direction}, {BASE_ORDER}'
    if name in ("average", "average_normalized"):
        return f"COALESCE({name}, 0) {direction}, {BASE_ORDER}"
    index = benchmarks.index(name)
    return f'COALESCE(("values" ->> {index})::float8, 0) {direction}, {BASE_ORDER}'


def usual_ns(cursor: Any, board: str, k: int) -> str:
    """The board's usual item counts as BoardEntry.ns holds them (JSON): per benchmark the most common n among
    the complete rows, ties the larger (columnar._expected_shape), null where no complete row has one."""
    modes = ", ".join(f"MODE() WITHIN GROUP (ORDER BY (ns ->> {i})::float8 DESC)" for i in range(k))
    cursor.execute(
        f"SELECT {modes} FROM evals_boardentry WHERE suite = %s AND board = %s AND provenance = %s "
        "AND method = %s AND kind = 'complete'",
        [SUITE, board, PROVENANCE, METHOD],
    )
    return json.dumps([None if n is None else int(n) for n in cursor.fetchone()])


def page_statement(
    board: str, ns: str, benchmarks: list[str], filters: dict[str, Any], score: str, ordering: str, page: int
) -> tuple[str, list[Any]]:
    """The one statement that answers a request on the table, and its parameters."""
    from evals.selectors.leaderboard.read import _ordering_key

    name, descending = _ordering_key(ordering, benchmarks)
    lo, hi = BOUNDS[score]
    where, params = filter_sql(filters)
    conditions = " AND ".join(["suite = %s", "board = %s", "provenance = %s", "method = %s", *where])
    rank = "1 + b.n - WIDTH_BUCKET(f.hi, b.los)"  # 1 + the rows whose lower bound lies above this upper bound
    worst = "WIDTH_BUCKET(-f.lo, b.neg_his)"  # the rows whose upper bound is not below this lower bound
    # Only the rank ordering needs every filtered row's rank; the others rank the page's rows alone.
    ranked_rows = f"SELECT f.*, {rank} AS rank FROM f" if name == "rank" else "SELECT * FROM f"
    sql = f"""
        WITH f AS MATERIALIZED (
            SELECT id, repo_id, parameters, "values", average, average_normalized, {lo} AS lo, {hi} AS hi,
                   kind = 'complete' AND ns = %s::jsonb AS ranked
            FROM evals_boardentry WHERE {conditions}
        ), b AS (
            SELECT COUNT(*) FILTER (WHERE ranked) AS n, COUNT(*) FILTER (WHERE NOT ranked) AS others,
                   ARRAY_AGG(lo ORDER BY lo) FILTER (WHERE ranked) AS los,
                   ARRAY_AGG(-hi ORDER BY hi DESC) FILTER (WHERE ranked) AS neg_his
            FROM f
        )
        SELECT b.n, b.others, p.id, p.rank, p.worst FROM b LEFT JOIN LATERAL (
            SELECT f.id, {rank} AS rank, {worst} AS worst, ROW_NUMBER() OVER () AS position
            FROM ({ranked_rows} WHERE ranked ORDER BY {order_sql(name, descending, score, benchmarks)}
                  LIMIT %s OFFSET %s) f
        ) p ON TRUE
        ORDER BY p.position
    """
    return sql, [ns, SUITE, board, PROVENANCE, METHOD, *params, PER_PAGE, (page - 1) * PER_PAGE]


def sql_page(cursor: Any, *request: Any) -> tuple[int, int, list[tuple[int, int, int]]]:
    """(ranked count, not-ranked count, [(id, rank, worst rank)] of the page): page_statement's answer."""
    cursor.execute(*page_statement(*request))
    rows = cursor.fetchall()
    count, others = rows[0][0], rows[0][1]
    return count, others, [(row[2], row[3], row[4]) for row in rows if row[2] is not None]


def columnar_page(
    board: str, filters: dict[str, Any], score: str, ordering: str, page: int
) -> tuple[int, int, list[tuple[int, int, int]]]:
    """The same answer as the app computes it (read.leaderboard_page's first steps)."""
    from evals.selectors.leaderboard import columnar, read

    arrays = read.board_current(suite=SUITE, board=board, provenance=PROVENANCE, method=METHOD)
    order = columnar.columnar_order(arrays, filters=filters, score=score, ordering=ordering)
    start, stop = (page - 1) * PER_PAGE, page * PER_PAGE
    ranks = order.rank_range(start, stop)
    pks = arrays.pk[order.indexes[start:stop]].tolist()
    return len(order), len(order.not_ranked), [(pk, r, w) for pk, (r, w) in zip(pks, ranks, strict=True)]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _line(label: str, columnar_ms: list[float], sql_ms: list[float]) -> str:
    if not columnar_ms:
        return f"  {label:26s} n=   0"
    c50, c90 = statistics.median(columnar_ms), _percentile(columnar_ms, 0.9)
    s50, s90 = statistics.median(sql_ms), _percentile(sql_ms, 0.9)
    return (
        f"  {label:26s} n={len(columnar_ms):4d}  columnar p50 {c50:7.2f} ms p90 {c90:7.2f} ms  "
        f"SQL p50 {s50:8.2f} ms p90 {s90:8.2f} ms  SQL/columnar p50 {s50 / c50:6.1f}x p90 {s90 / c90:6.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="ladder_load100k")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--index", action="store_true", help="add an index for the SQL side (dropped afterwards)")
    parser.add_argument("--explain", action="store_true", help="print the plan of a few statements")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.db}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ["LADDER_LEADERBOARD_SNAPSHOT_DIR"] = ""  # no saved copies written: the copy is read from the table
    import django

    django.setup()
    from django.db import connection

    from evals.selectors.leaderboard import board_benchmarks, read

    # The load benchmark's request mix, read from the script beside this one.
    spec = importlib.util.spec_from_file_location("leaderboard_load", ROOT / "benchmarks" / "leaderboard_load.py")
    assert spec is not None and spec.loader is not None
    load = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(load)
    rng = random.Random(args.seed)
    requests = []
    for _ in range(args.requests):
        query = dict(parse_qsl(urlsplit(load.varied_board_path(rng)).query))
        board, score, ordering = query.pop("board", "overall"), query.pop("score"), query.pop("ordering")
        page = int(query.pop("page"))
        query.pop("per_page")
        requests.append((board, query, score, ordering, page))

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        jit = cursor.fetchone()[0]
        cursor.execute("SHOW work_mem")
        work_mem = cursor.fetchone()[0]
        cursor.execute("ANALYZE evals_boardentry")  # fresh planner statistics, whatever was written since the load
        if args.index:
            started = time.perf_counter()
            cursor.execute(EXTRA_INDEX)
            cursor.execute("ANALYZE evals_boardentry")
            print(f"added index bench_boardentry_lo ({time.perf_counter() - started:.0f} s): {EXTRA_INDEX}")
        try:
            boards = {}
            for board in ("overall", "en", "zh"):
                benchmarks = board_benchmarks(suite=SUITE, board=board)
                ns = usual_ns(cursor, board, len(benchmarks))
                arrays = read.board_current(suite=SUITE, board=board, provenance=PROVENANCE, method=METHOD)
                assert json.loads(ns) == [arrays.expected_n.get(key) for key in benchmarks], (board, ns)
                boards[board] = (benchmarks, ns)
                # The first request of a board loads its columns and warms the buffers: not in the figures.
                columnar_page(board, {}, "raw", "rank", 1)
                sql_page(cursor, board, ns, benchmarks, {}, "raw", "rank", 1)
            if args.explain:
                for board, filters, score, ordering, page in requests[:3]:
                    print(f"\n{board} {filters} {score} {ordering} page {page}")
                    benchmarks, ns = boards[board]
                    _explain(cursor, board, ns, benchmarks, filters, score, ordering, page)

            timings: dict[str, list[float]] = {"columnar": [], "sql": []}
            groups: dict[str, list[int]] = {"all": [], "rank": [], "rank, filtered": []}
            for i, (board, filters, score, ordering, page) in enumerate(requests):
                benchmarks, ns = boards[board]
                started = time.perf_counter()
                mine = columnar_page(board, filters, score, ordering, page)
                middle = time.perf_counter()
                theirs = sql_page(cursor, board, ns, benchmarks, filters, score, ordering, page)
                done = time.perf_counter()
                assert mine == theirs, (board, filters, score, ordering, page, mine[:2], theirs[:2])
                timings["columnar"].append((middle - started) * 1000)
                timings["sql"].append((done - middle) * 1000)
                groups["all"].append(i)
                if ordering.lstrip("-") == "rank":
                    groups["rank"].append(i)
                    if filters:
                        groups["rank, filtered"].append(i)
            for board, filters, score, ordering, page in OTHER_REQUESTS:  # checked, not timed
                benchmarks, ns = boards[board]
                mine = columnar_page(board, filters, score, ordering, page)
                theirs = sql_page(cursor, board, ns, benchmarks, filters, score, ordering, page)
                assert mine == theirs, (board, filters, score, ordering, page, mine[:2], theirs[:2])
        finally:
            if args.index:
                cursor.execute("DROP INDEX IF EXISTS bench_boardentry_lo")
                print("dropped index bench_boardentry_lo")

    print(
        f"{len(OTHER_REQUESTS)} requests with the filters the load mix leaves out matched (not timed); "
        f"{len(requests)} requests on {args.db} (page of {PER_PAGE}, one after another, in process; "
        f"PostgreSQL jit={jit}, work_mem={work_mem}): all {len(requests)} matched "
        "(same rows in the same order, same ranks, same counts)"
    )
    for label, indexes in groups.items():
        print(
            _line(label, [timings["columnar"][i] for i in indexes], [timings["sql"][i] for i in indexes]),
        )


def _explain(cursor: Any, *request: Any) -> None:
    """EXPLAIN ANALYZE of the statement sql_page runs."""
    sql, params = page_statement(*request)
    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
    print("\n".join(row[0] for row in cursor.fetchall()))


if __name__ == "__main__":
    main()
