"""/api/v1/leaderboard/, /api/v1/leaderboard.csv, /api/v1/benchmarks/, /api/v1/suites/."""

from __future__ import annotations

import csv
import io
import json

import pytest

from evals.api.leaderboard_serializers import leaderboard_row_data
from evals.selectors.leaderboard import leaderboard_cache_bump, leaderboard_page
from evals.selectors.leaderboard.maintain import board_models_refresh, board_rebuild
from evals.suites import SUITES
from tests.evals.factories import complete_run, model

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]
QUICK = list(SUITES["quick"].benchmarks)


def test_leaderboard_api_serves_ranked_rows_with_intervals_and_provenance(api_client):
    run = complete_run(
        model("meta-llama/Llama-2-7b-hf", parameters=6_738_415_616, languages=["en"]),
        0.6,
        revision_sha="01c7f73d771dfac7d292323805ebc428287df4f9",
        engine_version="0.4.0",
    )
    complete_run(model("b/b", weights="closed", parameters=None), 0.3)

    response = api_client.get("/api/v1/leaderboard/?suite=quick")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2 and body["benchmarks"] == QUICK
    top = body["results"][0]
    assert top["rank"] == 1
    assert top["model"] == {
        "id": "meta-llama/Llama-2-7b-hf",
        "name": "Llama-2-7b-hf",
        "organization": "meta-llama",
        "weights": "open",
        "parameters": 6_738_415_616,
        "parameters_display": "6.7B",
        "license": "apache-2.0",
        "commercial_use": "yes",
        "languages": ["en"],
        "modality": "text",
        "base_model": None,
    }
    assert top["average"] == pytest.approx(0.6)
    lo, hi = top["ci95"]
    assert lo < 0.6 < hi
    arc = top["scores"]["arc_easy"]
    assert arc["value"] == pytest.approx(0.6) and arc["metric"] == "acc" and arc["n"] == 100
    assert arc["normalized"] == pytest.approx((0.6 - 0.25) / 0.75 * 100, abs=1e-3)
    assert arc["ci95"][0] < 0.6 < arc["ci95"][1]
    assert top["run"]["id"] == run.id
    assert top["run"]["sha"] == "01c7f73d771dfac7d292323805ebc428287df4f9"
    assert top["run"]["engine_version"] == "0.4.0"
    assert top["run"]["suite"] == "quick"
    assert top["run"]["settings"]["seed"] == 1234
    assert body["results"][1]["rank"] == 2


def test_leaderboard_api_filters_by_weights_and_language_and_lists_partial_runs_apart(api_client):
    complete_run(model("open/zh", weights="open", languages=["zh"]), 0.5)
    complete_run(model("closed/en", weights="closed", languages=["en"]), 0.7)
    complete_run(model("open/partial", languages=["zh"]), {"ceval": 0.9}, is_partial=True, limit=5)

    body = api_client.get("/api/v1/leaderboard/", {"weights": "open", "language": "zh"}).json()

    assert [r["model"]["id"] for r in body["results"]] == ["open/zh"]
    assert [(r["model"]["id"], r["status"], r["rank"]) for r in body["not_ranked"]] == [
        ("open/partial", "partial", None)
    ]


def test_leaderboard_api_zh_board_averages_the_chinese_benchmarks_only(api_client):
    complete_run(model("a/a"), {b: 0.8 if b in ("ceval", "cmmlu") else 0.3 for b in QUICK})
    body = api_client.get("/api/v1/leaderboard/", {"board": "zh"}).json()
    assert body["benchmarks"] == ["ceval", "cmmlu"]
    assert body["results"][0]["average"] == pytest.approx(0.8)


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"suite": "nope"}, "suite", "Unknown suite 'nope'"),
        ({"board": "fr"}, "board", "not a valid choice"),
        ({"weights": "sometimes"}, "weights", "not a valid choice"),
        ({"min_params": "lots"}, "min_params", "parameter count"),
        ({"ordering": "-likes"}, "ordering", "Unknown ordering"),
        ({"per_page": "100000"}, "per_page", "less than or equal to 500"),
        ({"suite": "open-llm-v1", "board": "zh"}, "board", "has no benchmarks"),
    ],
)
def test_leaderboard_api_rejects_bad_queries_with_a_clear_400(api_client, query, field, message):
    response = api_client.get("/api/v1/leaderboard/", query)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] and error["field"] == field
    assert message in " ".join(error["fields"][field])
    assert message in error["message"]


def test_a_repeated_query_shows_a_newly_finished_run_after_the_bump(api_client):
    complete_run(model("a/a"), 0.5)
    assert api_client.get("/api/v1/leaderboard/?board=en").json()["count"] == 1
    finished = complete_run(model("b/b"), 0.6)
    # What the evals services do when a run finishes: its model's board rows, then the cache bump.
    board_models_refresh([finished.model_id])
    leaderboard_cache_bump()
    body = api_client.get("/api/v1/leaderboard/?board=en").json()
    assert [r["model"]["id"] for r in body["results"]] == ["b/b", "a/a"]


def test_leaderboard_api_accepts_parameter_counts_in_b_and_m(api_client):
    complete_run(model("a/small", parameters=500_000_000), 0.4)
    complete_run(model("b/big", parameters=13_000_000_000), 0.6)
    body = api_client.get("/api/v1/leaderboard/", {"min_params": "1B", "max_params": "20B"}).json()
    assert [r["model"]["id"] for r in body["results"]] == ["b/big"]


def test_leaderboard_api_paginates_with_next_links(api_client):
    for i in range(5):
        complete_run(model(f"org/m{i}"), 0.3 + i * 0.1)
    body = api_client.get("/api/v1/leaderboard/", {"per_page": 2}).json()
    assert body["count"] == 5 and len(body["results"]) == 2 and body["previous"] is None
    second = api_client.get(body["next"]).json()
    assert [r["model"]["id"] for r in second["results"]] == ["org/m2", "org/m1"]


@pytest.mark.parametrize("n_models", [10, 50])
def test_leaderboard_api_query_count_does_not_grow_with_models(api_client, django_assert_num_queries, n_models):
    for i in range(n_models):
        complete_run(model(f"org/m{i:03}", languages=["en", "zh"]), 0.2 + i / 100)
    board_rebuild()  # what migrate's `rebuild_leaderboard --if-stale` does
    first = {"per_page": 5}
    # Cold: the board table's generation, its columnar copy (one query), then the page's rows with their runs
    # (one join).
    with django_assert_num_queries(3):
        assert api_client.get("/api/v1/leaderboard/", first).json()["count"] == n_models
    # Warm: the body is cached under the current generation.
    with django_assert_num_queries(0):
        assert api_client.get("/api/v1/leaderboard/", first).status_code == 200
    # Columnar copy loaded, the same rows hydrated and kept (RowMemo): only the generation.
    with django_assert_num_queries(1):
        assert api_client.get("/api/v1/leaderboard/", {**first, "weights": "open"}).json()["count"] == n_models
    # Rows not shown before: generation, page's rows with their runs.
    with django_assert_num_queries(2):
        assert len(api_client.get("/api/v1/leaderboard/", {**first, "page": 2}).json()["results"]) == 5


def test_leaderboard_api_rows_are_the_rows_serialized_with_their_frontier_and_come_again_from_the_memo(
    api_client, django_assert_num_queries
):
    complete_run(model("org/small", parameters=1_000_000_000), 0.5)
    complete_run(model("org/big", parameters=7_000_000_000), 0.7)
    complete_run(model("org/bigger-worse", parameters=13_000_000_000), 0.4)
    complete_run(model("org/unsized", parameters=None), 0.6)
    complete_run(model("org/partial"), 0.9, is_partial=True, limit=10)
    board_rebuild()

    body = api_client.get("/api/v1/leaderboard/").json()

    page = leaderboard_page(suite="quick")
    assert body["results"] == json.loads(json.dumps([leaderboard_row_data(row) for row in page.rows]))
    assert body["not_ranked"] == json.loads(json.dumps([leaderboard_row_data(row) for row in page.not_ranked]))
    assert [r["model"]["id"] for r in body["not_ranked"]] == ["org/partial"]
    # The score/size Pareto frontier: no smaller model scores higher; a model without a size is not on it.
    assert {r["model"]["id"]: r["on_frontier"] for r in body["results"]} == {
        "org/big": True,
        "org/unsized": False,
        "org/small": True,
        "org/bigger-worse": False,
    }
    # Another ordering of rows already shown: the generation is the one query, the rows and their JSON are
    # the memoized ones, with this request's ranks.
    with django_assert_num_queries(1):
        by_name = api_client.get("/api/v1/leaderboard/", {"ordering": "name"}).json()
    assert [r["model"]["id"] for r in by_name["results"]] == sorted(r["model"]["id"] for r in body["results"])
    assert sorted(by_name["results"], key=lambda r: r["model"]["id"]) == sorted(
        body["results"], key=lambda r: r["model"]["id"]
    )
    # Filtered, the ranks and the frontier are the filtered rows' own.
    big_only = api_client.get("/api/v1/leaderboard/", {"min_params": "5B"}).json()
    assert [(r["model"]["id"], r["rank"], r["on_frontier"]) for r in big_only["results"]] == [
        ("org/big", 1, True),
        ("org/bigger-worse", 2, False),
    ]


def test_leaderboard_csv_exports_every_filtered_row_with_a_header_and_provenance(api_client):
    run = complete_run(model("a/a", weights="open"), 0.6, revision_sha="deadbeef")
    complete_run(model("b/b", weights="closed"), 0.7)

    response = api_client.get("/api/v1/leaderboard.csv", {"weights": "open"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="leaderboard-quick-overall.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1
    assert rows[0]["model"] == "a/a" and rows[0]["rank"] == "1"
    assert float(rows[0]["arc_easy"]) == pytest.approx(0.6)
    assert float(rows[0]["average_ci95_low"]) < 0.6
    assert rows[0]["run_id"] == str(run.id) and rows[0]["model_sha"] == "deadbeef"


def test_leaderboard_csv_rejects_bad_queries(api_client):
    response = api_client.get("/api/v1/leaderboard.csv", {"suite": "nope"})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"  # errors are JSON, not CSV
    error = response.json()["error"]
    assert error["field"] == "suite" and "Unknown suite" in error["fields"]["suite"][0]


def test_benchmark_api_describes_each_benchmark_with_item_count_and_baseline(api_client):
    body = api_client.get("/api/v1/benchmarks/").json()
    by_key = {b["key"]: b for b in body}
    assert set(by_key) >= set(QUICK)
    arc = api_client.get("/api/v1/benchmarks/arc_easy/").json()
    assert arc["primary_metric"] == "acc" and arc["random_baseline"] == 0.25 and arc["language"] == "en"
    assert arc["item_count"] == 2376  # lines of the offline test split
    assert arc["prompt_format"] and arc["license"] and arc["hf_dataset"] == "allenai/ai2_arc"
    assert arc["suites"]["quick"] == 0
    assert by_key["ceval"]["language"] == "zh"


def test_benchmark_api_answers_404_for_an_unknown_benchmark(api_client):
    response = api_client.get("/api/v1/benchmarks/nope/")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found" and "Unknown benchmark 'nope'" in error["message"]


def test_suite_api_lists_suites_with_their_boards(api_client):
    body = {s["key"]: s for s in api_client.get("/api/v1/suites/").json()}
    assert body["quick"]["benchmarks"] == QUICK and body["quick"]["sample_size"] == 100
    assert body["quick"]["boards"] == ["overall", "en", "zh"]
    assert body["open-llm-v1"]["boards"] == ["overall", "en"]


def test_openapi_schema_documents_the_leaderboard_parameters(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    params = {p["name"] for p in schema["paths"]["/api/v1/leaderboard/"]["get"]["parameters"]}
    assert {"suite", "board", "weights", "language", "min_params", "ordering", "commercial"} <= params
