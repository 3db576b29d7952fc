"""/compare/: two to four models side by side."""

from __future__ import annotations

import pytest

from tests.evals.factories import complete_run, model

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]


def test_compare_shows_metadata_scores_and_a_bar_chart_with_whiskers(client):
    complete_run(model("meta-llama/Llama-2-7b-hf", parameters=6_738_415_616, languages=["en"]), 0.6)
    complete_run(model("qwen/Qwen-7B", parameters=7_700_000_000, languages=["zh", "en"]), 0.65)

    response = client.get("/compare/?models=meta-llama/Llama-2-7b-hf&models=qwen/Qwen-7B")

    html = response.content.decode()
    assert response.status_code == 200
    assert "6.7B" in html and "7.7B" in html
    assert html.count('class="whisker"') == 2 * 10  # one per model and benchmark
    assert "<rect" in html
    assert "60.0" in html and "65.0" in html
    assert 'value="qwen/Qwen-7B"' in html  # the picker keeps the choice


def test_compare_names_models_that_are_not_in_the_registry(client):
    complete_run(model("a/a"), 0.5)
    html = client.get("/compare/?models=a/a&models=nobody/nothing").content.decode()
    assert "No model nobody/nothing in the registry." in html


def test_compare_is_case_insensitive_and_marks_models_without_runs(client):
    complete_run(model("a/a"), 0.5)
    model("b/unrun")
    html = client.get("/compare/?models=A/A&models=b/unrun").content.decode()
    assert "no run on this suite" in html
    assert "a/a" in html


def test_compare_without_models_shows_the_picker(client):
    response = client.get("/compare/")
    assert response.status_code == 200
    assert 'name="models"' in response.content.decode()


def test_compare_keeps_at_most_four_models(client):
    for i in range(5):
        complete_run(model(f"o/m{i}"), 0.5)
    html = client.get("/compare/?" + "&".join(f"models=o/m{i}" for i in range(5))).content.decode()
    assert "at most four models" in html
    assert 'href="/models/o/m4/"' not in html
