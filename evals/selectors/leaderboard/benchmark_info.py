"""The public facts of benchmarks and suites (item counts from LADDER_DATA_DIR, the suites that use them)."""

from __future__ import annotations

import functools
import os
from typing import Any

from django.conf import settings

from evals.selectors.leaderboard.boards import benchmarks, suite_boards, suites


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
