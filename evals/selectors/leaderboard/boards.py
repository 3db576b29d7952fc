"""Suites, boards and their benchmarks; the leaderboard's names and limits."""

from __future__ import annotations

from typing import Any

from evals.stats import Z95, interval, mean_stderr, normalize
from registry.selectors.models import FILTER_KEYS

__all__ = ["Z95", "interval", "mean_stderr", "normalize"]

BOARDS = ("overall", "en", "zh")
SCORE_MODES = ("raw", "normalized")
# The model filters: the registry's one definition (registry.selectors.models.ModelFilters).
MODEL_FILTER_KEYS = FILTER_KEYS
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
