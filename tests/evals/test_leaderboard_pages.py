"""The leaderboard page (/) and the evaluation section of the model page."""

from __future__ import annotations

import re

import pytest
from django.template import Context, Template

from evals.models import EvalRun
from evals.selectors.leaderboard.maintain import board_rebuild
from tests.evals.factories import complete_run, model

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]


def page(client, **query) -> str:
    response = client.get("/", query)
    assert response.status_code == 200
    return response.content.decode()


def table_ids(html: str) -> list[str]:
    body = html.split('<table class="lb-table">', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<th scope="row" class="model">\s*<a href="/models/([^"]+)/"', body)


def test_leaderboard_page_ranks_models_with_scores_intervals_badges_and_size(client):
    complete_run(model("meta-llama/Llama-2-7b-hf", parameters=6_738_415_616, languages=["en"]), 0.6)
    complete_run(model("openai/gpt-4", weights="closed", parameters=None), 0.85)

    html = page(client)

    assert table_ids(html) == ["openai/gpt-4", "meta-llama/Llama-2-7b-hf"]
    assert "6.7B" in html
    assert '<span class="badge closed">closed</span>' in html
    assert '<span class="badge open">open</span>' in html
    assert '<span class="badge lang">en</span>' in html
    assert "apache-2.0" in html
    assert "<strong>60.0</strong>" in html and "±" in html  # score with the half-width of its interval
    assert "<svg" in html and "dot frontier-dot" in html  # the size chart marks the Pareto frontier


def test_leaderboard_page_keeps_filters_in_the_url_and_sorting_links_keep_them(client):
    complete_run(model("open/a", weights="open", languages=["zh"]), 0.5)
    complete_run(model("closed/b", weights="closed", languages=["en"]), 0.7)

    html = page(client, weights="open", search="a")

    assert table_ids(html) == ["open/a"]
    assert 'value="open" selected' in html  # the form shows the active filter
    assert re.search(r'href="\?[^"]*weights=open[^"]*ordering=name"', html.replace("&amp;", "&"))


def test_leaderboard_page_sorts_by_a_benchmark_column(client):
    complete_run(model("a/a"), {**dict.fromkeys(["arc_easy"], 0.9), **{b: 0.5 for b in _others("arc_easy")}})
    complete_run(model("b/b"), 0.6)
    assert table_ids(page(client, ordering="-arc_easy")) == ["a/a", "b/b"]
    assert table_ids(page(client, ordering="arc_easy")) == ["b/b", "a/a"]


def _others(key: str) -> list[str]:
    from evals.suites import SUITES

    return [b for b in SUITES["quick"].benchmarks if b != key]


def test_board_tabs_switch_to_the_chinese_board(client):
    complete_run(model("a/a"), 0.5)
    html = page(client)
    assert 'href="?board=zh"' in html and "中文" in html
    zh = page(client, board="zh")
    assert "C-Eval" in zh or "ceval" in zh
    assert "ARC-Easy" not in zh.split("<table", 1)[1].split("</table>", 1)[0]


def test_normalized_toggle_shows_normalized_scores(client):
    complete_run(model("a/a"), 0.625)
    html = page(client, score="normalized")
    assert "<strong>" in html and "Normalized scores" in html
    # ARC-Easy: (0.625 - 0.25) / 0.75 * 100 = 50.0
    assert re.search(r'<td class="score">50\.0 ', html)


def test_partial_runs_are_shown_in_the_not_ranked_section(client):
    complete_run(model("a/full"), 0.5)
    complete_run(model("b/quick-try"), {"arc_easy": 0.8}, is_partial=True, limit=10, benchmarks=["arc_easy"])
    html = page(client)
    assert table_ids(html) == ["a/full"]
    section = html.split('class="lb-unranked"', 1)[1]
    assert "b/quick-try" in section and "partial run" in section and "first 10 items" in section


def test_empty_leaderboard_tells_users_how_to_submit(client):
    html = page(client)
    assert "No model has a complete evaluation on this suite yet." in html
    assert 'href="/submit/"' in html


def test_bad_filter_is_reported_and_ignored(client):
    complete_run(model("a/a"), 0.5)
    for _ in range(2):  # the second answer comes from the cache and still says so
        html = page(client, weights="sometimes", min_params="lots")
        assert "were not understood" in html
        assert table_ids(html) == ["a/a"]


def test_leaderboard_page_works_in_chinese(client):
    complete_run(model("a/a"), 0.5)
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert 'lang="zh-hans"' in response.content.decode()


@pytest.mark.parametrize("n_models", [10, 50])
def test_leaderboard_page_query_count_does_not_grow_with_models(client, django_assert_num_queries, n_models):
    for i in range(n_models):
        complete_run(model(f"org/m{i:03}", languages=["en"], parameters=(i + 1) * 10**9), 0.2 + i / 100)
    board_rebuild()  # what migrate's `rebuild_leaderboard --if-stale` does
    # the board table's generation, its columnar copy, the page's rows (with the model fields shown) joined with
    # their runs, licenses and languages for the form, and the runs of the board's method flagged as degenerate
    # (listed above the board, not ranked)
    with django_assert_num_queries(6):
        assert len(table_ids(page(client))) == n_models
    with django_assert_num_queries(0):  # the rendered board is cached
        page(client)


def test_model_evaluations_tag_shows_history_and_scores_with_intervals():
    m = model("a/a")
    run = complete_run(m, 0.6, revision_sha="abcdef1234567890")
    failed = complete_run(m, 0.1, status=EvalRun.Status.FAILED, is_partial=True, limit=2)
    m.refresh_from_db()

    html = Template("{% load evals_extras %}{% model_evaluations model %}").render(Context({"model": m}))

    assert f'href="/runs/{run.id}/"' in html and f'href="/runs/{failed.id}/"' in html
    assert "failed" in html and "succeeded" in html
    assert "rank 1 of 1" in html
    assert re.search(r"<td>60\.0</td><td>\d+\.\d–\d+\.\d</td>", html)  # score and its 95% interval
    assert "abcdef1234567890" in html


def test_model_evaluations_tag_offers_to_submit_an_unevaluated_model():
    m = model("a/new")
    html = Template("{% load evals_extras %}{% model_evaluations model %}").render(Context({"model": m}))
    assert "has not been evaluated yet" in html and "/submit/?model=a/new" in html
