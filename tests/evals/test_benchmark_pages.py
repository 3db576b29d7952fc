"""/benchmarks/ and /benchmarks/<key>/."""

from __future__ import annotations

import pytest

from tests.evals.factories import complete_run, model

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]


def test_benchmark_list_shows_every_benchmark_with_metric_baseline_and_items(client):
    html = client.get("/benchmarks/").content.decode()
    assert 'href="/benchmarks/arc_easy/"' in html and 'href="/benchmarks/cmmlu/"' in html
    assert "2376" in html  # ARC-Easy test split
    assert "<code>acc_norm</code>" in html
    assert "CC-BY-NC-SA-4.0".lower() in html.lower() or "cc-by-nc-sa" in html.lower()


def test_benchmark_page_says_what_it_measures_and_how_it_is_prompted(client):
    complete_run(model("a/a"), 0.7)
    html = client.get("/benchmarks/ceval/").content.decode()
    assert "C-Eval" in html
    assert "以下是中国关于" in html  # the prompt format
    assert "1346" in html  # items in the val split
    assert "中文" in html
    assert 'href="/models/a/a/"' in html  # best ranked models on this benchmark


def test_unknown_benchmark_is_a_404(client):
    assert client.get("/benchmarks/nope/").status_code == 404
