"""The Hub sync reads published scores: the card's `model-index` and the repo's `.eval_results/*.yaml`.

Fixtures follow the formats as the Hub documents them: the model-index the Open LLM Leaderboard's bot
writes into cards (dataset type/config/args.num_few_shot, metrics with `verified`, a source), and
`.eval_results/*.yaml` (huggingface.co/docs/hub/eval-results: a list of {dataset: {id, task_id},
value, verifyToken, date, source: {url, name, user}, notes}).
"""

from __future__ import annotations

import pytest

from evals.models import ReportedScore
from registry.services.hub_sync import sync_hub
from tests.hubfake import model_record

pytestmark = pytest.mark.django_db

REPO = "ladder-fixtures/Reported-7B"
BOARD_URL = "https://huggingface.co/spaces/open-llm-leaderboard/open_llm_leaderboard?query=ladder-fixtures/Reported-7B"
MODEL_INDEX = [
    {
        "name": "Reported-7B",
        "results": [
            {
                "task": {"type": "text-generation", "name": "Text Generation"},
                "dataset": {
                    "name": "AI2 Reasoning Challenge (25-Shot)",
                    "type": "ai2_arc",
                    "config": "ARC-Challenge",
                    "split": "test",
                    "args": {"num_few_shot": 25},
                },
                "metrics": [{"type": "acc_norm", "value": 53.07, "name": "normalized accuracy"}],
                "source": {"url": BOARD_URL, "name": "Open LLM Leaderboard"},
            },
            {
                "task": {"type": "text-generation", "name": "Text Generation"},
                "dataset": {
                    "name": "MMLU (5-Shot)",
                    "type": "cais/mmlu",
                    "config": "all",
                    "split": "test",
                    "args": {"num_few_shot": 5},
                },
                "metrics": [{"type": "acc", "value": 46.87, "name": "accuracy", "verified": False}],
                "source": {"url": BOARD_URL, "name": "Open LLM Leaderboard"},
            },
        ],
    }
]
GSM8K_YAML = b"""- dataset:
    id: openai/gsm8k
    task_id: main
  value: 14.2
  verifyToken: eyJhbGciOiJIUzI1NiJ9.ladder-fixture
  date: '2025-01-15'
  source:
    url: https://huggingface.co/spaces/ladder-fixtures/gsm8k-traces
    name: Eval traces
    user: ladder-fixtures
"""
GPQA_YAML = b"""- dataset:
    id: Idavidrein/gpqa
    task_id: gpqa_diamond
  value: 0.312
  notes: no-tools
"""


def _record(card_data=None, files=None):
    files = (
        files if files is not None else {".eval_results/gsm8k.yaml": GSM8K_YAML, ".eval_results/gpqa.yaml": GPQA_YAML}
    )
    record = model_record(
        REPO,
        card_data={"license": "apache-2.0", "language": ["en"], "model-index": MODEL_INDEX, **(card_data or {})},
        tags=["license:apache-2.0"],
        safetensors={"BF16": 7_000_000_000},
        config_file={"architectures": ["LlamaForCausalLM"], "model_type": "llama"},
        extra_files=tuple(files),
    )
    record["_files"] = dict(files)
    return record


def test_sync_reads_the_cards_model_index_and_eval_results_into_reported_scores(fake_hub):
    fake_hub.add_model(_record())

    run = sync_hub(authors=["ladder-fixtures"])

    assert run.status == "succeeded"
    scores = {s.benchmark: s for s in ReportedScore.objects.filter(model__repo_id=REPO)}
    assert set(scores) == {"arc_challenge", "mmlu", "gsm8k", "Idavidrein/gpqa:gpqa_diamond"}
    arc = scores["arc_challenge"]
    assert (arc.published_value, arc.n_shot, arc.metric, arc.benchmark_known) == (53.07, 25, "acc_norm", True)
    assert arc.source_kind == "hub_model_index" and arc.source_url == BOARD_URL
    assert arc.source_name == "Open LLM Leaderboard" and arc.reported_by == "third_party" and not arc.verified
    assert scores["mmlu"].value == 0.4687 and scores["mmlu"].n_shot == 5
    gsm8k = scores["gsm8k"]
    assert gsm8k.verified and gsm8k.source_kind == "hub_eval_results" and gsm8k.published.isoformat() == "2025-01-15"
    assert gsm8k.source_url == "https://huggingface.co/spaces/ladder-fixtures/gsm8k-traces" and gsm8k.value == 0.142
    gpqa = scores["Idavidrein/gpqa:gpqa_diamond"]
    assert not gpqa.benchmark_known and gpqa.value == 0.312 and gpqa.setting == "no-tools" and not gpqa.verified
    assert gpqa.source_url.endswith(f"{REPO}/blob/{fake_hub.model(REPO)['sha']}/.eval_results/gpqa.yaml")


def test_an_unchanged_model_costs_no_request_for_its_published_scores(fake_hub):
    fake_hub.add_model(_record())
    sync_hub(authors=["ladder-fixtures"])
    assert len(fake_hub.requests_to(f"/{REPO}/resolve/")) == 3  # config.json and the two results files
    before = {s.pk: s.updated_at for s in ReportedScore.objects.all()}
    fake_hub.requests.clear()

    run = sync_hub(authors=["ladder-fixtures"])

    assert run.unchanged >= 1 and run.updated == 0
    assert fake_hub.requests_to(f"/{REPO}/") == [] and fake_hub.requests_to(f"/api/models/{REPO}") == []
    assert {s.pk: s.updated_at for s in ReportedScore.objects.all()} == before


def test_a_new_commit_replaces_the_hubs_published_scores_of_the_model(fake_hub):
    fake_hub.add_model(_record())
    sync_hub(authors=["ladder-fixtures"])
    record = _record(files={})
    record["cardData"]["model-index"][0]["results"].pop()  # MMLU removed from the card

    fake_hub.push_commit(REPO, cardData=record["cardData"], siblings=record["siblings"], _files={})
    sync_hub(authors=["ladder-fixtures"])

    assert list(ReportedScore.objects.filter(model__repo_id=REPO).values_list("benchmark", flat=True)) == [
        "arc_challenge"
    ]


def test_a_malformed_results_file_is_skipped_and_the_model_still_syncs(fake_hub):
    fake_hub.add_model(
        _record(files={".eval_results/bad.yaml": b"- dataset: [unclosed", ".eval_results/gpqa.yaml": GPQA_YAML})
    )

    run = sync_hub(authors=["ladder-fixtures"])

    assert run.status == "succeeded"
    assert set(ReportedScore.objects.filter(model__repo_id=REPO).values_list("benchmark", flat=True)) == {
        "arc_challenge",
        "mmlu",
        "Idavidrein/gpqa:gpqa_diamond",
    }


def test_syncing_one_model_reads_its_published_scores_too(fake_hub):
    from registry.services.hub_sync import hub_model_sync

    fake_hub.add_model(_record())

    _, outcome = hub_model_sync(repo_id=REPO)

    assert outcome == "created"
    assert ReportedScore.objects.filter(model__repo_id=REPO, origin="hub").count() == 4
