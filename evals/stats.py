"""The leaderboard's statistics, free of Django: normalisation, intervals, means and tie-aware ranks.

* Normalisation (Open LLM Leaderboard v2): norm = max(0, (raw - b) / (1 - b)) * 100, b the benchmark's
  random baseline; a standard error scales by 100 / (1 - b) (the clamp at 0 is left out of the SE).
* 95% interval: value +- 1.96 SE.
* Mean of k benchmark scores: the plain mean; benchmarks are independent samples, so the SE of the mean
  of means is sqrt(sum SE_b^2) / k (unknown when any SE is unknown).
* Rank (as Chatbot Arena): 1 + the number of rows whose interval lies entirely above this one (their
  lower bound > this upper bound); the worst rank is the number of rows whose interval is not entirely
  below (their upper bound >= this lower bound), self included. Tied rows share a rank, and
  rank..worst is the range the row could hold. Both come from binary searches over the sorted bounds.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Z95 = 1.96


def normalize(value: float | None, baseline: float) -> float | None:
    """Open LLM Leaderboard v2 normalisation of a raw 0..1 score to 0..100 (None stays None)."""
    if value is None:
        return None
    if baseline >= 1:
        return 0.0
    return max(0.0, (value - baseline) / (1 - baseline)) * 100


def normalized_stderr(stderr: float | None, baseline: float) -> float | None:
    """The standard error of a normalised score: SE * 100 / (1 - b) (0 for a baseline of 1)."""
    if stderr is None:
        return None
    if baseline >= 1:
        return 0.0
    return stderr * 100 / (1 - baseline)


def interval(value: float | None, stderr: float | None, z: float = Z95) -> tuple[float, float] | None:
    """value +- z * SE, or None when either is unknown."""
    if value is None or stderr is None:
        return None
    return (value - z * stderr, value + z * stderr)


def bounds(value: float, stderr: float | None, z: float = Z95) -> tuple[float, float]:
    """The interval used for ranking: a score without an SE is a point (lo == hi == value)."""
    if stderr is None:
        return (value, value)
    return (value - z * stderr, value + z * stderr)


def mean(values: Sequence[float | None]) -> float | None:
    """The plain mean, or None when there are no values or any is unknown."""
    if not values:
        return None
    total = 0.0
    for value in values:
        if value is None:
            return None
        total += value
    return total / len(values)


def mean_stderr(stderrs: Sequence[float | None]) -> float | None:
    """SE of the mean of k independent means: sqrt(sum SE_b^2) / k (None if any SE is unknown)."""
    if not stderrs:
        return None
    squares = 0.0
    for se in stderrs:
        if se is None:
            return None
        squares += se * se
    return math.sqrt(squares) / len(stderrs)


def sample_stderr(values: Sequence[float]) -> float | None:
    """Sample standard deviation / sqrt(n) of per-item scores (None below two items)."""
    n = len(values)
    if n < 2:
        return None
    average = sum(values) / n
    return math.sqrt(sum((x - average) ** 2 for x in values) / (n - 1)) / math.sqrt(n)


def rank_range(sorted_los: Sequence[float], sorted_his: Sequence[float], lo: float, hi: float) -> tuple[int, int]:
    """(rank, worst rank) of the interval (lo, hi) among rows whose bounds are given sorted ascending.

    rank = 1 + #{j: lo_j > hi}, worst = #{j: hi_j >= lo}."""
    n = len(sorted_los)
    return 1 + n - bisect.bisect_right(sorted_los, hi), n - bisect.bisect_left(sorted_his, lo)


def rank_intervals(intervals: Sequence[tuple[float, float]]) -> list[tuple[int, int]]:
    """(rank, worst rank) per (lo, hi) among all the given intervals, in O(n log n)."""
    los = sorted(lo for lo, _hi in intervals)
    his = sorted(hi for _lo, hi in intervals)
    return [rank_range(los, his, lo, hi) for lo, hi in intervals]


def rank_arrays(
    los: npt.NDArray[np.float64], his: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """rank_intervals over arrays of lower and upper bounds: (ranks, worst ranks), without a Python loop."""
    return rank_among_sorted(np.sort(los), np.sort(his), los, his)


def rank_among_sorted(
    sorted_los: npt.NDArray[np.float64],
    sorted_his: npt.NDArray[np.float64],
    los: npt.NDArray[np.float64],
    his: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(ranks, worst ranks) of the intervals (los, his) among a field of intervals given by its bounds,
    each sorted ascending (the field may be larger than the rows asked about)."""
    n = len(sorted_los)
    ranks = 1 + n - np.searchsorted(sorted_los, his, side="right")
    worsts = n - np.searchsorted(sorted_his, los, side="left")
    return ranks.astype(np.int64), worsts.astype(np.int64)
