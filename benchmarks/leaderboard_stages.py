"""Where one leaderboard request's time goes: one client, in process, against a board leaderboard_load.py filled.

Run after `benchmarks/leaderboard_load.py --board --models N --keep` (which leaves the scratch database):

    .venv/bin/python benchmarks/leaderboard_stages.py [--db ladder_load] [--requests 300]

It prints, over the same kind of varied requests as the load benchmark (random filters, ordering, score, board,
page of 50; no response cache):
1. p50/p90 of whole requests through Django's test client, API and page apart (no HTTP, no queueing);
   once with the row memo off and once with it on (LADDER_LEADERBOARD_ROW_MEMO, starting empty), with the share
   of rows the memo answered;
2. p50/p90 of each stage of an API request: the generation query, masks and order, the frontier, the chart (the
   page's only), reading the page's rows back and hydrating them and their JSON when they are not in the memo
   (cold), and the same from the memo.
The first request of each board (loading its columns, or reading its saved copy) is left out of the figures.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _summary(name: str, values: list[float]) -> str:
    values = sorted(values)
    return f"{name:12s} n={len(values):4d}  p50 {statistics.median(values):6.1f} ms  p90 {values[int(len(values) * 0.9)]:6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="ladder_load")
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.db}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ["LADDER_LEADERBOARD_CACHE_TTL"] = "0"
    import django

    django.setup()
    from django.test import Client

    # The load benchmark's request mix, read from the script beside this one.
    spec = importlib.util.spec_from_file_location("leaderboard_load", ROOT / "benchmarks" / "leaderboard_load.py")
    assert spec is not None and spec.loader is not None
    load = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(load)
    varied_board_path = load.varied_board_path

    from django.conf import settings

    from evals.api.leaderboard_serializers import leaderboard_row_json
    from evals.selectors.leaderboard import columnar, read

    rng = random.Random(1)
    paths = [varied_board_path(rng) for _ in range(args.requests)]
    client = Client(HTTP_HOST="127.0.0.1")
    for board in ("overall", "en", "zh"):  # load each board's columns first: not part of a request's figure
        client.get(f"/api/v1/leaderboard/?board={board}")

    def forget_rows(size: int) -> None:
        """Drop every board's row memo (RowMemo): new ones get this size (0 = off)."""
        settings.LEADERBOARD_ROW_MEMO = size
        for arrays in columnar._loaded.values():
            arrays.memo.pop("rows", None)

    memo_size = settings.LEADERBOARD_ROW_MEMO
    for label, size in (("row memo off", 0), (f"row memo {memo_size} rows, starting empty", memo_size)):
        forget_rows(size)
        whole: dict[str, list[float]] = {"API": [], "page": []}
        for path in paths:
            started = time.perf_counter()
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            whole["API" if path.startswith("/api/") else "page"].append((time.perf_counter() - started) * 1000)
        memos = [a.memo["rows"] for a in columnar._loaded.values() if "rows" in a.memo]
        hits, misses = sum(m.hits for m in memos), sum(m.misses for m in memos)
        share = f", rows from the memo {hits / max(1, hits + misses):.0%}" if size else ""
        print(f"whole requests, one client, in process ({label}{share})")
        for name, values in whole.items():
            print("  " + _summary(name, values))

    stages: dict[str, list[float]] = {
        name: [] for name in ("generation", "order", "frontier", "chart", "rows cold", "json cold", "rows", "json")
    }
    forget_rows(0)
    for path in paths:
        query = dict(parse_qsl(urlsplit(path).query))
        board, score, ordering = query.pop("board", "overall"), query.pop("score"), query.pop("ordering")
        page = int(query.pop("page"))
        query.pop("per_page")
        marks = [time.perf_counter()]
        arrays = read.board_current(suite="quick", board=board)
        marks.append(time.perf_counter())
        order = columnar.columnar_order(arrays, filters=query, score=score, ordering=ordering)
        marks.append(time.perf_counter())
        frontier = columnar.columnar_frontier(arrays, order, score).frontier_positions()
        marks.append(time.perf_counter())
        columnar.columnar_chart(arrays, order, score)
        marks.append(time.perf_counter())
        start, stop = (page - 1) * 50, page * 50
        positions = order.indexes[start:stop].tolist()
        ranks = order.rank_range(start, stop)
        rows = read.board_rows_at(arrays, positions, ranks, frontier)  # read back and hydrated
        marks.append(time.perf_counter())
        b",".join(leaderboard_row_json(row) for row in rows)  # serialized
        marks.append(time.perf_counter())
        memo = read.RowMemo(len(positions))
        for position, row in zip(positions, rows, strict=True):
            memo.put(position, row)
        arrays.memo["rows"] = memo
        rows = read.board_rows_at(arrays, positions, ranks, frontier)  # from the memo
        marks.append(time.perf_counter())
        b",".join(leaderboard_row_json(row) for row in rows)  # JSON kept with the rows
        marks.append(time.perf_counter())
        arrays.memo.pop("rows", None)
        for i, name in enumerate(stages):
            stages[name].append((marks[i + 1] - marks[i]) * 1000)
    print("stages of an API request (a page of 50 rows; cold: not in the memo; the chart is the page's only)")
    for name, values in stages.items():
        print("  " + _summary(name, values))
    forget_rows(memo_size)


if __name__ == "__main__":
    main()
