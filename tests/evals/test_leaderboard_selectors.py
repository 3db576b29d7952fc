"""The leaderboard selectors: which runs rank, scores, intervals, tie-aware ranks, filters, boards, cache."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.utils import timezone

from evals.models import BenchmarkResult, EvalRun
from evals.selectors.leaderboard import (
    LeaderboardError,
    board_benchmarks,
    leaderboard_cache_bump,
    leaderboard_page,
    leaderboard_rows,
    model_evaluation_summary,
    normalize,
    rank_intervals,
)
from evals.selectors.leaderboard.maintain import board_models_refresh
from evals.suites import SUITES
from tests.evals.factories import complete_run, items, model

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]
QUICK = list(SUITES["quick"].benchmarks)


def tight(value: float, se: float = 0.005, n: int = 100) -> dict[str, tuple[float, float, int]]:
    return {b: (value, se, n) for b in QUICK}


def ranks() -> dict[str, tuple[int, int]]:
    return {row.model.repo_id: (row.rank, row.rank_worst) for row in leaderboard_rows(suite="quick")}


def test_models_with_overlapping_intervals_share_a_rank():
    complete_run(model("a/top"), tight(0.80))
    complete_run(model("b/close"), tight(0.795))  # overlaps a/top: statistically tied
    complete_run(model("c/far"), tight(0.50))

    assert ranks() == {"a/top": (1, 2), "b/close": (1, 2), "c/far": (3, 3)}


def test_rank_is_one_plus_models_whose_interval_lies_entirely_above():
    # Wide intervals: b overlaps a and c, but c is entirely below a.
    complete_run(model("a/a"), tight(0.70, se=0.08))
    complete_run(model("b/b"), tight(0.62, se=0.08))
    complete_run(model("c/c"), tight(0.55, se=0.08))
    got = ranks()
    assert got["a/a"][0] == 1
    assert got["b/b"][0] == 1
    assert got["c/c"][0] == 2


def test_rank_intervals_match_a_brute_force_count():
    bounds = [(0.1, 0.3), (0.25, 0.5), (0.45, 0.6), (0.61, 0.7), (0.2, 0.9)]
    brute = [(1 + sum(lo_j > hi for lo_j, _ in bounds), sum(hi_j >= lo for _, hi_j in bounds)) for lo, hi in bounds]
    assert rank_intervals(bounds) == brute


def test_average_interval_combines_benchmark_errors_as_root_sum_of_squares_over_k():
    scores = {b: (0.5 + 0.02 * i, 0.01 * (i + 1), 100) for i, b in enumerate(QUICK)}
    complete_run(model("a/a"), scores)
    (row,) = leaderboard_rows(suite="quick")

    k = len(QUICK)
    mean = sum(v for v, _, _ in scores.values()) / k
    se = math.sqrt(sum(s * s for _, s, _ in scores.values())) / k
    assert row.average == pytest.approx(mean)
    assert row.ci95 == pytest.approx((mean - 1.96 * se, mean + 1.96 * se))
    first = QUICK[0]
    assert row.scores[first].ci95 == pytest.approx((0.5 - 1.96 * 0.01, 0.5 + 1.96 * 0.01))


def test_normalized_scores_follow_the_open_llm_leaderboard_v2_formula():
    assert normalize(0.25, 0.25) == 0
    assert normalize(0.625, 0.25) == pytest.approx(50.0)
    assert normalize(0.10, 0.25) == 0  # below chance clamps to 0
    assert normalize(0.4, 0.0) == pytest.approx(40.0)

    complete_run(model("a/a"), tight(0.625))
    (row,) = leaderboard_rows(suite="quick")
    from evals.benchmarks import BENCHMARKS

    expected = [normalize(0.625, BENCHMARKS[b].random_baseline) for b in QUICK]
    assert row.scores["arc_easy"].normalized == pytest.approx(50.0)
    assert row.average_normalized == pytest.approx(sum(expected) / len(expected))


def test_only_complete_succeeded_runs_rank_and_partial_ones_are_listed_as_not_ranked():
    complete_run(model("a/full"), 0.6)
    complete_run(model("b/partial"), {"arc_easy": 0.9}, is_partial=True, limit=10, benchmarks=["arc_easy"])
    incomplete = complete_run(model("c/missing"), 0.7)
    BenchmarkResult.objects.filter(run=incomplete, benchmark=QUICK[-1]).delete()
    complete_run(model("d/failed"), 0.99, status=EvalRun.Status.FAILED)

    page = leaderboard_page(suite="quick")

    assert [row.model.repo_id for row in page.rows] == ["a/full"]
    assert {row.model.repo_id: row.status for row in page.not_ranked} == {
        "b/partial": "partial",
        "c/missing": "incomplete",
    }
    assert all(row.rank is None for row in page.not_ranked)


def test_the_latest_complete_run_of_a_model_counts():
    m = model("a/a")
    complete_run(m, 0.9, finished_at=timezone.now() - timedelta(days=2))
    newer = complete_run(m, 0.4, finished_at=timezone.now() - timedelta(days=1))
    complete_run(m, 0.99, is_partial=True, limit=5)  # newest, but partial: does not displace it

    (row,) = leaderboard_rows(suite="quick")
    assert row.run.id == newer.id
    assert row.average == pytest.approx(0.4)
    assert leaderboard_page(suite="quick").not_ranked == []


def test_a_run_scored_on_other_items_is_not_comparable():
    complete_run(model("a/a"), 0.6, n=100)
    complete_run(model("b/b"), 0.6, n=100)
    complete_run(model("c/old-sample"), 0.7, n=50)

    page = leaderboard_page(suite="quick")
    assert {r.model.repo_id for r in page.rows} == {"a/a", "b/b"}
    assert [(r.model.repo_id, r.status) for r in page.not_ranked] == [("c/old-sample", "not_comparable")]


def test_stderr_comes_from_the_items_when_the_result_has_none(django_assert_max_num_queries):
    run = complete_run(model("a/a"), 0.6)
    first = QUICK[0]
    BenchmarkResult.objects.filter(run=run, benchmark=first).update(stderr=None, value=0.75)
    outcomes = [1.0] * 75 + [0.0] * 25
    items(run, first, outcomes)

    (row,) = leaderboard_rows(suite="quick")
    mean = sum(outcomes) / len(outcomes)
    sd = math.sqrt(sum((x - mean) ** 2 for x in outcomes) / (len(outcomes) - 1))
    assert row.scores[first].stderr == pytest.approx(sd / math.sqrt(len(outcomes)))
    assert row.scores[first].ci95[0] == pytest.approx(0.75 - 1.96 * sd / 10)


def test_filters_are_the_registry_model_filters():
    complete_run(model("open/en-7b", weights="open", parameters=7_000_000_000, languages=["en"]), 0.6)
    complete_run(model("open/zh-1b", weights="open", parameters=1_000_000_000, languages=["zh", "en"]), 0.5)
    complete_run(model("closed/big", weights="closed", parameters=None, languages=["en", "zh"]), 0.8)

    def ids(**filters):
        return [r.model.repo_id for r in leaderboard_rows(suite="quick", filters=filters)]

    assert ids(weights="open") == ["open/en-7b", "open/zh-1b"]
    assert ids(language="zh") == ["closed/big", "open/zh-1b"]
    assert ids(size="edge") == ["open/zh-1b"]
    assert ids(min_params=5_000_000_000) == ["open/en-7b"]
    assert ids(search="ZH") == ["open/zh-1b"]
    assert ids(organization="closed") == ["closed/big"]


def test_ranks_are_computed_among_the_filtered_models():
    complete_run(model("closed/best", weights="closed"), tight(0.9))
    complete_run(model("open/second", weights="open"), tight(0.7))
    assert ranks()["open/second"][0] == 2
    (row,) = leaderboard_rows(suite="quick", filters={"weights": "open"})
    assert (row.model.repo_id, row.rank) == ("open/second", 1)


def test_language_boards_average_only_their_benchmarks():
    zh = board_benchmarks(suite="quick", board="zh")
    assert set(zh) == {"ceval", "cmmlu"}
    assert "ceval" not in board_benchmarks(suite="quick", board="en")
    scores = {b: (0.9 if b in zh else 0.3, 0.01, 100) for b in QUICK}
    complete_run(model("zh/strong"), scores)

    (zh_row,) = leaderboard_rows(suite="quick", board="zh")
    (en_row,) = leaderboard_rows(suite="quick", board="en")
    assert zh_row.average == pytest.approx(0.9)
    assert en_row.average == pytest.approx(0.3)
    assert set(zh_row.scores) == set(zh)


def test_a_finished_run_shows_once_its_board_rows_are_written():
    complete_run(model("a/a"), 0.5)
    assert len(leaderboard_rows(suite="quick")) == 1
    finished = complete_run(model("b/b"), 0.6)
    assert len(leaderboard_rows(suite="quick")) == 1  # written around the services: its board rows are not
    # What the evals services do when a run finishes: its model's board rows, then the cache bump.
    board_models_refresh([finished.model_id])
    leaderboard_cache_bump()
    assert [r.model.repo_id for r in leaderboard_rows(suite="quick")] == ["b/b", "a/a"]


def test_every_row_carries_its_provenance():
    run = complete_run(model("a/a"), 0.5, revision_sha="abc123", engine_version="0.3.1")
    (row,) = leaderboard_rows(suite="quick")
    assert (row.run.id, row.run.sha, row.run.engine_version, row.run.suite) == (run.id, "abc123", "0.3.1", "quick")
    assert row.run.settings["seed"] == 1234


def test_unknown_suite_board_and_ordering_are_refused_with_a_clear_message():
    with pytest.raises(LeaderboardError, match="Unknown suite 'nope'"):
        leaderboard_rows(suite="nope")
    with pytest.raises(LeaderboardError, match="Unknown board 'fr'"):
        leaderboard_rows(suite="quick", board="fr")
    with pytest.raises(LeaderboardError, match="Unknown ordering"):
        leaderboard_page(suite="quick", ordering="-likes")


def test_orderings_sort_by_the_chosen_column():
    complete_run(model("a/small", parameters=1_000_000_000), {b: 0.4 if b != "mmlu" else 0.9 for b in QUICK})
    complete_run(model("b/big", parameters=70_000_000_000), 0.6)

    def order(ordering):
        return [r.model.repo_id for r in leaderboard_page(suite="quick", ordering=ordering).rows]

    assert order("rank") == ["b/big", "a/small"]
    assert order("-mmlu") == ["a/small", "b/big"]
    assert order("parameters") == ["a/small", "b/big"]
    assert order("-name") == ["b/big", "a/small"]


def test_pareto_frontier_marks_models_no_smaller_model_beats():
    complete_run(model("a/tiny", parameters=100_000_000), 0.3)
    complete_run(model("b/mid-weak", parameters=3_000_000_000), 0.25)
    complete_run(model("c/mid-strong", parameters=7_000_000_000), 0.5)
    page = leaderboard_page(suite="quick", chart=True)
    frontier = {p.repo_id for p in page.chart if p.on_frontier}
    assert frontier == {"a/tiny", "c/mid-strong"}


def test_model_summary_has_history_and_the_counted_run_with_intervals():
    m = model("a/a")
    complete_run(model("b/b"), tight(0.9))
    run = complete_run(m, tight(0.5))
    complete_run(m, 0.2, is_partial=True, limit=3, status=EvalRun.Status.FAILED)

    summary = model_evaluation_summary(model=m)
    assert len(summary.runs) == 2
    (suite,) = summary.suites
    assert (suite.suite, suite.run.id, suite.rank, suite.ranked_count) == ("quick", run.id, 2, 2)
    assert all(s.ci95 is not None for s in suite.scores)


def test_the_postgresql_aggregate_and_the_portable_path_read_the_same_runs():
    from evals.selectors.leaderboard import _runs_orm, _runs_postgresql, _timestamp, random_baseline

    complete_run(model("a/a"), tight(0.7))
    complete_run(model("b/b"), {"arc_easy": 0.5}, is_partial=True, limit=3)
    keys = QUICK
    baselines = [random_baseline(k) for k in keys]

    def comparable(rows):
        return {r[0]: (*r[:3], pytest.approx(_timestamp(r[3])), *r[4:11]) for r in rows}

    assert comparable(_runs_postgresql("quick", keys, baselines)) == comparable(_runs_orm("quick", keys))
    (full,) = [row for row in _runs_postgresql("quick", keys, baselines) if row[11]]
    assert full[11][0] == pytest.approx(0.7)  # the average computed in the database


def test_the_python_item_stderr_matches_the_database_aggregate():
    from django.db.models import FloatField
    from django.db.models.fields.json import KeyTextTransform
    from django.db.models.functions import Cast

    from evals.models import ItemResult
    from evals.selectors.leaderboard import _item_stderrs, _item_stderrs_python

    run = complete_run(model("a/a"), 0.6)
    items(run, "arc_easy", [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0])
    wanted = {(run.id, "arc_easy")}
    portable = _item_stderrs_python(
        ItemResult.objects.filter(run=run).annotate(v=Cast(KeyTextTransform("acc", "metrics"), FloatField())), wanted
    )
    assert portable == pytest.approx(_item_stderrs([(run.id, "arc_easy", "acc")]))
