"""evals.stats: the leaderboard's numbers, without a database."""

import math
import random

import numpy as np
import pytest

from evals import stats


def test_normalize_maps_the_random_baseline_to_zero_and_a_perfect_score_to_a_hundred():
    assert stats.normalize(0.25, 0.25) == 0.0
    assert stats.normalize(1.0, 0.25) == pytest.approx(100.0)
    assert stats.normalize(0.625, 0.25) == pytest.approx(50.0)


def test_normalize_clamps_scores_below_chance_at_zero_and_keeps_unknowns_unknown():
    assert stats.normalize(0.1, 0.25) == 0.0
    assert stats.normalize(None, 0.25) is None
    assert stats.normalize(0.9, 1.0) == 0.0


def test_normalized_stderr_scales_with_the_room_above_chance():
    assert stats.normalized_stderr(0.01, 0.5) == pytest.approx(2.0)
    assert stats.normalized_stderr(0.01, 0.0) == pytest.approx(1.0)
    assert stats.normalized_stderr(None, 0.5) is None


def test_interval_is_the_value_plus_or_minus_1_96_standard_errors():
    lo, hi = stats.interval(0.5, 0.01)
    assert (lo, hi) == (pytest.approx(0.4804), pytest.approx(0.5196))
    assert stats.interval(None, 0.01) is None
    assert stats.interval(0.5, None) is None


def test_bounds_of_a_score_without_an_error_is_a_point():
    assert stats.bounds(0.7, None) == (0.7, 0.7)
    assert stats.bounds(0.7, 0.1) == (pytest.approx(0.504), pytest.approx(0.896))


def test_mean_is_unknown_when_any_value_is():
    assert stats.mean([0.2, 0.4]) == pytest.approx(0.3)
    assert stats.mean([0.2, None]) is None
    assert stats.mean([]) is None


def test_mean_stderr_of_k_independent_means_is_the_root_sum_of_squares_over_k():
    assert stats.mean_stderr([0.03, 0.04]) == pytest.approx(0.025)
    assert stats.mean_stderr([0.03, None]) is None
    assert stats.mean_stderr([]) is None


def test_sample_stderr_is_the_sample_deviation_over_root_n():
    xs = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0]
    mean = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1))
    assert stats.sample_stderr(xs) == pytest.approx(sd / math.sqrt(len(xs)))
    assert stats.sample_stderr([1.0]) is None


def test_models_whose_intervals_overlap_share_a_rank_and_a_rank_range():
    # a is clearly first; b and c overlap each other; d is clearly last.
    intervals = [(0.80, 0.90), (0.60, 0.70), (0.65, 0.75), (0.10, 0.20)]
    assert stats.rank_intervals(intervals) == [(1, 1), (2, 3), (2, 3), (4, 4)]


def test_identical_scores_tie_on_the_same_rank():
    assert stats.rank_intervals([(0.5, 0.5), (0.5, 0.5), (0.4, 0.4)]) == [(1, 2), (1, 2), (3, 3)]


def test_a_wide_interval_spans_the_ranks_of_everything_it_overlaps():
    intervals = [(0.9, 0.95), (0.7, 0.75), (0.5, 0.55), (0.0, 1.0)]
    assert stats.rank_intervals(intervals)[3] == (1, 4)
    assert stats.rank_intervals(intervals)[0] == (1, 2)


def test_rank_arrays_equal_the_scalar_ranks_on_random_intervals():
    rng = random.Random(7)
    intervals = []
    for _ in range(500):
        value, se = rng.random(), rng.choice([0.0, 0.01, 0.05])
        intervals.append((round(value - se, 3), round(value + se, 3)))
    los = np.array([lo for lo, _hi in intervals])
    his = np.array([hi for _lo, hi in intervals])
    ranks, worsts = stats.rank_arrays(los, his)
    assert list(zip(ranks.tolist(), worsts.tolist(), strict=True)) == stats.rank_intervals(intervals)


def test_rank_range_reads_sorted_bounds():
    los, his = [0.1, 0.6, 0.8], [0.2, 0.7, 0.9]
    assert stats.rank_range(los, his, 0.65, 0.75) == (2, 2)
    assert stats.rank_range(los, his, 0.0, 1.0) == (1, 3)
