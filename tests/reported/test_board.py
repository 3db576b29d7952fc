"""The leaderboard's provenance switch, the reported board, the claim check and the scores API."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from evals.selectors.leaderboard import leaderboard_cache_bump
from registry.models import LanguageModel
from tests.evals.factories import complete_run


def _ids(rows: list[dict]) -> list[str]:
    return [row["model"]["id"] for row in rows]


def test_a_fresh_install_opens_on_the_published_mmlu_figures_of_the_seed_systems(catalog):
    html = Client().get("/").content.decode()

    assert 'data-provenance="reported"' in html
    assert "These are published numbers" in html
    assert "Scores from our own runs" not in html  # no claim that these numbers are ours
    board = html.split('id="reported-board"')[1]
    assert board.index("GPT-4") < board.index("Llama 2 70B") < board.index("Mistral-7B")
    assert 'href="https://arxiv.org/abs/2303.08774"' in board  # GPT-4's technical report, linked
    assert "No model has a complete evaluation" not in html


def test_the_reported_board_ranks_one_benchmark_at_a_time_with_shots_and_sources(catalog, api_client):
    mmlu = api_client.get("/api/v1/leaderboard/", {"provenance": "reported"}).json()
    ceval = api_client.get("/api/v1/leaderboard/", {"provenance": "reported", "benchmark": "ceval"}).json()

    assert mmlu["benchmark"] == "mmlu" and mmlu["usual_shots"] == 5 and "published numbers" in mmlu["note"]
    assert mmlu["results"][0]["rank"] == 1
    top = next(row for row in mmlu["results"] if row["model"]["id"] == "openai/gpt-4")
    assert top["score"]["published_value"] == 86.4 and top["score"]["n_shot"] == 5
    assert top["score"]["source"] == {
        "kind": "tech_report",
        "name": "GPT-4 Technical Report",
        "url": "https://arxiv.org/abs/2303.08774",
    }
    values = [row["score"]["value"] for row in mmlu["results"]]
    assert values == sorted(values, reverse=True) and len(set(_ids(mmlu["results"]))) == len(values)
    assert ceval["benchmark"] == "ceval"
    assert _ids(ceval["results"]) != _ids(mmlu["results"])
    assert {"key": "ceval", "name": "C-Eval", "figures": 18} in mmlu["benchmarks"]


def test_a_shot_count_keeps_only_figures_made_with_it(catalog, api_client):
    five = api_client.get("/api/v1/leaderboard/", {"provenance": "reported", "benchmark": "ceval", "shots": 5}).json()
    zero = api_client.get("/api/v1/leaderboard/", {"provenance": "reported", "benchmark": "ceval", "shots": 0}).json()

    assert {row["score"]["n_shot"] for row in five["results"]} == {5}
    assert {row["score"]["n_shot"] for row in zero["results"]} == {0}
    chatglm = {row["model"]["id"]: row["score"]["published_value"] for row in zero["results"]}["THUDM/chatglm-6b"]
    assert chatglm == 38.9


def test_the_api_default_stays_measured_and_imported_even_on_a_fresh_install(catalog, api_client):
    body = api_client.get("/api/v1/leaderboard/").json()

    assert body["provenance"] == "all" and body["count"] == 0 and "suite" in body


def _quick_models() -> tuple[LanguageModel, LanguageModel]:
    return (
        LanguageModel.objects.get(repo_id="meta-llama/Llama-2-7b-hf"),
        LanguageModel.objects.get(repo_id="THUDM/chatglm-6b"),
    )


def test_measured_and_imported_runs_rank_together_and_each_provenance_alone(catalog, api_client):
    llama, chatglm = _quick_models()
    complete_run(llama, 0.55, revision_sha=llama.hub_sha)
    complete_run(chatglm, 0.45, revision_sha=chatglm.hub_sha, provenance="imported")
    leaderboard_cache_bump()

    both = api_client.get("/api/v1/leaderboard/").json()
    measured = api_client.get("/api/v1/leaderboard/", {"provenance": "measured"}).json()
    imported = api_client.get("/api/v1/leaderboard/", {"provenance": "imported"}).json()
    page = Client().get("/").content.decode()
    export = b"".join(Client().get("/api/v1/leaderboard.csv").streaming_content).decode()
    csv_rows = list(csv.DictReader(io.StringIO(export)))

    assert _ids(both["results"]) == ["meta-llama/Llama-2-7b-hf", "THUDM/chatglm-6b"]
    assert [r["run"]["provenance"] for r in both["results"]] == ["measured", "imported"]
    assert _ids(measured["results"]) == ["meta-llama/Llama-2-7b-hf"]
    assert _ids(imported["results"]) == ["THUDM/chatglm-6b"]
    assert 'data-provenance="reported"' not in page.split("lb-provenance")[0]  # the default is now our runs
    assert 'class="badge imported"' in page and page.count('class="badge imported"') == 1
    assert [(r["model"], r["provenance"]) for r in csv_rows] == [
        ("meta-llama/Llama-2-7b-hf", "measured"),
        ("THUDM/chatglm-6b", "imported"),
    ]


def test_the_claim_check_flags_a_published_value_outside_our_95_interval(catalog, api_client):
    _, chatglm = _quick_models()
    # ChatGLM-6B's README: MMLU 40.63, 0-shot. Ours: 30% on 100 items, interval about 21-39: contradicted.
    run = complete_run(chatglm, {"mmlu": 0.30}, revision_sha=chatglm.hub_sha)
    leaderboard_cache_bump()

    board = api_client.get("/api/v1/leaderboard/", {"provenance": "reported", "shots": 0}).json()
    flagged = api_client.get("/api/v1/leaderboard/", {"provenance": "reported", "claim": "contradicted"}).json()
    page = Client().get("/", {"provenance": "reported", "claim": "contradicted"}).content.decode()

    claim = {row["model"]["id"]: row["claim"] for row in board["results"]}["THUDM/chatglm-6b"]
    assert claim["status"] == "contradicted" and claim["run_id"] == run.pk and claim["provenance"] == "measured"
    assert claim["difference"] == pytest.approx(0.1063, abs=1e-6)
    assert _ids(flagged["results"]) == ["THUDM/chatglm-6b"]
    assert page.count("<tr data-model=") == 1 and "contradicted" in page and "+10.6" in page


def test_a_published_value_inside_our_interval_is_consistent_and_other_shots_are_not_compared(catalog, api_client):
    _, chatglm = _quick_models()
    complete_run(chatglm, {"ceval": 0.37}, revision_sha=chatglm.hub_sha)  # C-Eval 0-shot 38.9: inside

    scores = api_client.get("/api/v1/models/THUDM/chatglm-6b/scores/").json()

    ceval = next(b for b in scores["benchmarks"] if b["benchmark"] == "ceval")
    claims = {r["n_shot"]: r["claims"] for r in ceval["reported"]}
    assert [c["status"] for c in claims[0]] == ["consistent"] and claims[5] == []
    assert not ceval["contradicted"]


def test_the_scores_api_returns_every_score_of_a_model_with_its_provenance_and_source(catalog, api_client):
    llama, _ = _quick_models()
    measured = complete_run(llama, {"mmlu": 0.44}, revision_sha=llama.hub_sha)
    imported = complete_run(llama, {"mmlu": 0.46}, revision_sha=llama.hub_sha, provenance="imported")

    body = api_client.get("/api/v1/models/meta-llama/Llama-2-7b-hf/scores/").json()
    missing = api_client.get("/api/v1/models/nobody/nothing/scores/")

    assert body["model"] == "meta-llama/Llama-2-7b-hf"
    mmlu = next(b for b in body["benchmarks"] if b["benchmark"] == "mmlu")
    assert [s["run_id"] for s in mmlu["measured"]] == [measured.pk]
    assert [s["run_id"] for s in mmlu["imported"]] == [imported.pk]
    assert mmlu["measured"][0]["ci95"][0] < 0.44 < mmlu["measured"][0]["ci95"][1]
    assert mmlu["reported"][0]["published_value"] == 45.3 and mmlu["reported"][0]["n_shot"] == 5
    assert mmlu["reported"][0]["source"]["url"] == "https://arxiv.org/abs/2307.09288"
    assert {b["benchmark"] for b in body["benchmarks"]} >= {"mmlu", "hellaswag", "gsm8k"}
    assert missing.status_code == 404 and missing.json()["error"]["code"]


def test_the_model_page_shows_reported_imported_and_measured_side_by_side(catalog):
    llama, _ = _quick_models()
    complete_run(llama, {"mmlu": 0.44}, revision_sha=llama.hub_sha)
    complete_run(llama, {"mmlu": 0.46}, revision_sha=llama.hub_sha, provenance="imported")

    html = Client().get("/models/meta-llama/Llama-2-7b-hf/").content.decode()

    section = html.split('id="scores"')[1]
    row = section.split('data-benchmark="mmlu"')[1].split("</tr>")[0]
    assert "45.3" in row and "5-shot" in row and "https://arxiv.org/abs/2307.09288" in row
    assert "46.0" in row and "44.0" in row  # imported, then measured, each with its interval
    assert row.count("–") >= 2  # intervals drawn as lo–hi


def test_the_empty_measured_board_says_how_to_fill_it_and_shows_runs_in_progress(catalog, make_queued_run):
    run = make_queued_run()

    html = Client().get("/", {"provenance": "all"}).content.decode()

    assert "No model has a complete evaluation on this suite yet." in html
    assert 'href="/submit/"' in html and "import_results" in html and 'href="/syncs/"' in html
    assert "Queued and running" in html and f'href="/runs/{run.pk}/"' in html
    assert '<span data-field="done">40</span> / <span data-field="total">100</span>' in html


@pytest.fixture
def make_queued_run(catalog):
    from evals.models import EvalRun

    def make() -> EvalRun:
        model = LanguageModel.objects.get(repo_id="HuggingFaceTB/SmolLM2-135M-Instruct")
        return EvalRun.objects.create(
            model=model, suite="quick", status="running", progress_done=40, progress_total=100, benchmarks=["mmlu"]
        )

    return make


def test_the_reported_board_downloads_as_csv_with_sources(catalog):
    response = Client().get("/api/v1/leaderboard.csv", {"provenance": "reported", "benchmark": "mmlu"})

    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert response["Content-Type"].startswith("text/csv")
    gpt4 = next(row for row in rows if row["model"] == "openai/gpt-4")
    assert rows[0]["rank"] == "1" and gpt4["provenance"] == "reported" and gpt4["published_value"] == "86.4"
    assert gpt4["source_url"] == "https://arxiv.org/abs/2303.08774" and gpt4["n_shot"] == "5"


def test_an_unknown_benchmark_or_claim_is_a_400_naming_the_parameter(catalog, api_client):
    bad = api_client.get("/api/v1/leaderboard/", {"provenance": "reported", "benchmark": "nope"})
    worse = api_client.get("/api/v1/leaderboard/", {"provenance": "reported", "claim": "maybe"})

    assert bad.status_code == 400 and bad.json()["error"]["field"] == "benchmark"
    assert worse.status_code == 400 and worse.json()["error"]["field"] == "claim"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_reported_board_and_model_scores_render_in_english_and_chinese(catalog, language):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)

    board = client.get("/", {"provenance": "reported", "benchmark": "cmmlu"})
    model = client.get("/models/THUDM/chatglm-6b/")

    assert board.status_code == 200 and model.status_code == 200
    assert "https://github.com/haonan-li/CMMLU/blob/master/README.md" in board.content.decode()
    assert 'id="scores"' in model.content.decode()
