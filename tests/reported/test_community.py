"""Community scores: `.eval_results/*.yaml` proposed in a model repo's OPEN pull requests, read by the Hub sync
as reported scores with `reported_by="community"` and the PR as their source; a closed or merged PR's scores
go at the next read. Round trip: a run published as a PR (evals/exchange/publish.py) comes back as community
scores equal to the run's values."""

from __future__ import annotations

import pytest

from evals.models import BenchmarkResult, ReportedScore
from registry.services.hub_sync import sync_hub
from tests.evals.factories import complete_run
from tests.hubfake import model_record

pytestmark = pytest.mark.django_db

REPO = "ladder-fixtures/Community-3B"
TOKEN = "hf_ladder_write_token_for_tests"
GSM8K_PR = b"""- dataset:
    id: openai/gsm8k
    task_id: main
  value: 31.4
  date: '2025-02-01'
  source:
    url: https://huggingface.co/spaces/someone/gsm8k-traces
    name: Eval traces
    user: someone
  notes: 8-shot
"""
HELLASWAG_MAIN = b"""- dataset:
    id: Rowan/hellaswag
  value: 0.55
"""


def _add_hub_model(fake_hub) -> None:
    """REPO on the fake Hub, with one developer `.eval_results` file on main."""
    record = model_record(
        REPO,
        config_file={"architectures": ["LlamaForCausalLM"], "model_type": "llama"},
        extra_files=(".eval_results/hellaswag.yaml",),
    )
    record["_files"] = {".eval_results/hellaswag.yaml": HELLASWAG_MAIN}
    fake_hub.add_model(record)


@pytest.fixture
def hub_model(fake_hub, settings):
    """A Hub model (with one developer `.eval_results` file on main) synced into the registry."""
    _add_hub_model(fake_hub)
    settings.HUB_SYNC_PR_INTERVAL_MINUTES = 0  # list the PRs at every sync (the interval has its own test)
    sync_hub(models=[REPO])
    from registry.models import LanguageModel

    return LanguageModel.objects.get(repo_id=REPO)


def _community():
    return {s.benchmark: s for s in ReportedScore.objects.filter(model__repo_id=REPO, reported_by="community")}


def test_a_published_run_reads_back_as_community_scores_equal_to_the_runs(hub_model, fake_hub, settings, sam_staff):
    from evals.exchange.publish import hub_publication_create

    scores = {"arc_challenge": (0.3912345678, 0.014, 1172), "mmlu": (0.4412345678, 0.004, 14042)}
    run = complete_run(hub_model, scores, benchmarks=list(scores))
    BenchmarkResult.objects.filter(run=run, benchmark="mmlu").update(n_shot=5)
    BenchmarkResult.objects.filter(run=run, benchmark="arc_challenge").update(n_shot=25)
    fake_hub.write_tokens.add(TOKEN)
    settings.HUB_WRITE_TOKEN = TOKEN
    settings.PUBLIC_URL = "https://ladder.example.org"
    publication = hub_publication_create(run_id=run.pk, user=sam_staff).publication

    sync = sync_hub(models=[REPO])

    assert sync.status == "succeeded"
    community = _community()
    assert set(community) == set(scores)
    for benchmark, (value, _stderr, _n) in scores.items():
        row = community[benchmark]
        assert row.value == pytest.approx(value, abs=1e-12) and row.benchmark_known
        assert row.origin == "hub_pr" and row.source_kind == "hub_eval_results" and not row.verified
        assert row.source_url == publication.pr_url and "pull request #1" in row.source_name
    assert (community["mmlu"].n_shot, community["arc_challenge"].n_shot) == (5, 25)
    # The developer's file on main is still the developer's.
    assert ReportedScore.objects.get(model=hub_model, benchmark="hellaswag").reported_by == "developer"


def test_a_model_new_to_the_registry_gets_its_developer_and_community_scores_from_its_first_sync(fake_hub):
    _add_hub_model(fake_hub)
    fake_hub.add_pull_request(REPO, {".eval_results/gsm8k.yaml": GSM8K_PR}, author="someone")

    run = sync_hub(authors=["ladder-fixtures"])  # listed and inserted in bulk, then its PRs read

    assert run.status == "succeeded" and run.created >= 1
    assert _community()["gsm8k"].value == 0.314
    assert ReportedScore.objects.get(model__repo_id=REPO, benchmark="hellaswag").reported_by == "developer"


def test_a_community_pr_is_read_while_open_and_its_scores_go_when_it_is_closed(hub_model, fake_hub):
    num = fake_hub.add_pull_request(REPO, {".eval_results/gsm8k.yaml": GSM8K_PR}, author="someone")
    sync_hub(models=[REPO])
    gsm8k = _community()["gsm8k"]
    assert (gsm8k.value, gsm8k.published_value, gsm8k.n_shot) == (0.314, 31.4, 8)
    assert gsm8k.source_url == f"{fake_hub.url}/{REPO}/discussions/{num}"
    assert gsm8k.source_name == "pull request #1 by someone: Eval traces"

    fake_hub.set_pull_request_status(REPO, num, "closed")
    sync_hub(models=[REPO])

    assert _community() == {}
    assert ReportedScore.objects.filter(model=hub_model, benchmark="hellaswag").exists()


def test_a_merged_prs_scores_stop_being_community_and_come_back_as_the_developers(hub_model, fake_hub):
    num = fake_hub.add_pull_request(REPO, {".eval_results/gsm8k.yaml": GSM8K_PR})
    sync_hub(models=[REPO])
    assert set(_community()) == {"gsm8k"}

    fake_hub.set_pull_request_status(REPO, num, "merged")  # its file lands on main (a new commit)
    sync_hub(models=[REPO])

    assert _community() == {}
    merged = ReportedScore.objects.get(model=hub_model, benchmark="gsm8k")
    assert merged.reported_by == "developer" and merged.origin == "hub" and merged.value == 0.314


def test_unchanged_open_prs_are_listed_but_their_files_are_not_read_again(hub_model, fake_hub):
    fake_hub.add_pull_request(REPO, {".eval_results/gsm8k.yaml": GSM8K_PR})
    sync_hub(models=[REPO])
    pr_sha = fake_hub.pull_requests(REPO)[0]["sha"]
    fake_hub.requests.clear()

    sync_hub(models=[REPO])

    assert len(fake_hub.requests_to(f"/api/models/{REPO}/discussions")) == 1
    assert fake_hub.requests_to(f"/api/models/{REPO}/tree/{pr_sha}") == []
    assert fake_hub.requests_to(f"/{REPO}/resolve/{pr_sha}/") == []
    assert set(_community()) == {"gsm8k"}

    fake_hub.add_pull_request(REPO, {".eval_results/mmlu.yaml": b"- dataset:\n    id: cais/mmlu\n  value: 0.6\n"})
    sync_hub(models=[REPO])

    assert set(_community()) == {"gsm8k", "mmlu"}


def test_open_prs_are_listed_at_most_once_per_interval(hub_model, fake_hub, settings):
    settings.HUB_SYNC_PR_INTERVAL_MINUTES = 60
    sync_hub(models=[REPO])  # lists the PRs (none yet) and starts the interval
    fake_hub.add_pull_request(REPO, {".eval_results/gsm8k.yaml": GSM8K_PR})
    fake_hub.requests.clear()

    sync_hub(models=[REPO])

    assert fake_hub.requests_to(f"/api/models/{REPO}/discussions") == []
    assert _community() == {}  # read at the next sync after the interval

    from django.core.cache import cache

    cache.clear()  # the interval has passed
    sync_hub(models=[REPO])
    assert set(_community()) == {"gsm8k"}


def test_a_pr_whose_files_cannot_be_read_keeps_the_earlier_scores_and_the_sync_succeeds(hub_model, fake_hub):
    fake_hub.add_pull_request(REPO, {".eval_results/gsm8k.yaml": GSM8K_PR})
    sync_hub(models=[REPO])
    fake_hub.add_pull_request(REPO, {".eval_results/mmlu.yaml": b"- dataset:\n    id: cais/mmlu\n  value: 0.6\n"})
    second_sha = fake_hub.pull_requests(REPO)[1]["sha"]
    fake_hub.add_fault("malformed", path=f"/api/models/{REPO}/tree/{second_sha}")  # unreadable listing

    sync = sync_hub(models=[REPO])

    assert sync.status == "succeeded"
    assert set(_community()) == {"gsm8k"}
    fake_hub.clear_faults()
    sync_hub(models=[REPO])
    assert set(_community()) == {"gsm8k", "mmlu"}
