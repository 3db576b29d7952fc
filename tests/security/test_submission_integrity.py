"""Issue #8, holes 1, 2, 5a and 6: a submission evaluates what the model id names, and a refusal costs nothing.

- Hole 1 (revision swap): the revision is pinned to main (or what staff allowed), pull requests never;
  size and license are checked on the pinned revision's own metadata; only runs of the model's current
  Hub commit (or a revision staff marked) rank, other runs are labelled in the model's history.
- Hole 2 (size from untrusted text): the policy reads safetensors metadata or weight file sizes, never
  the card; the registry still shows a card's count, labelled with its source.
- Hole 5a (throttles): only accepted submissions use the daily quota; a separate per-minute limit
  guards the submit endpoint.
- Hole 6 (refused submissions write): a refused submission creates or updates nothing.

The Hub is tests/hubfake (a real HTTP server the real huggingface_hub client talks to); PostgreSQL and
Redis are real.
"""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from evals import services
from evals.models import EvalRun
from evals.selectors.leaderboard import leaderboard_cache_bump
from registry.models import AllowedRevision, LanguageModel
from registry.services.hub_sync import hub_model_sync, sync_hub
from tests.evals.factories import complete_run
from tests.hubfake import fixtures as hub_fixtures
from tests.hubfake import model_record

pytestmark = pytest.mark.django_db
fake_hub = hub_fixtures.fake_hub  # the fake Hub fixture, for this module

SMOL = "HuggingFaceTB/SmolLM2-135M"
SUBMIT_URL = "/api/v1/evaluations/"
HUGE = {"BF16": 405_000_000_000}


@pytest.fixture(autouse=True)
def _clean_state(monkeypatch, fresh_cache):
    monkeypatch.delenv("HF_TOKEN", raising=False)


@pytest.fixture
def token_client(api_client):
    def client_for(user):
        token, _ = Token.objects.get_or_create(user=user)
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return api_client

    return client_for


def refused(**kwargs) -> services.SubmissionError:
    with pytest.raises(services.SubmissionError) as excinfo:
        services.eval_run_submit(**kwargs)
    return excinfo.value


def board(client) -> dict[str, float]:
    """The quick suite's board as {model id: average} of its ranked rows."""
    response = client.get("/api/v1/leaderboard/?suite=quick")
    assert response.status_code == 200, response.content
    return {row["model"]["id"]: row["average"] for row in response.json()["results"]}


# -- hole 1: the revision is main's (or staff's), and only it ranks --------------------------------------


def test_a_pull_request_revision_is_refused_with_its_own_error_and_nothing_is_written(fake_hub, alice):
    """Must hold: `refs/pr/N` is always refused (code revision_pull_request), whatever it holds, and so
    is the PR's commit sha (a revision swap too); neither registers the model nor creates a run."""
    pr_sha = fake_hub.add_revision(SMOL, "refs/pr/1", safetensors=HUGE)

    error = refused(user=alice, model_id=SMOL, revision="refs/pr/1")
    assert error.code == "revision_pull_request" and error.field == "revision"
    assert "pull request" in error.message

    error = refused(user=alice, model_id=SMOL, revision=pr_sha)
    assert error.code == "revision_not_allowed" and error.field == "revision"
    assert "only the main branch is evaluated" in error.message

    assert not EvalRun.objects.exists()
    assert not LanguageModel.objects.filter(repo_id=SMOL).exists()


def test_branches_and_tags_need_staff_and_unknown_ones_are_not_found(fake_hub, alice):
    """Must hold: an existing branch is refused until staff allow it on the model; a name the Hub does
    not have is revision_not_found; an allowed tag pins the run to the tag's own commit."""
    hub_model_sync(repo_id=SMOL)
    tag_sha = fake_hub.add_revision(SMOL, "tag:v1.0")
    fake_hub.add_revision(SMOL, "dev")

    assert refused(user=alice, model_id=SMOL, revision="dev").code == "revision_not_allowed"
    assert refused(user=alice, model_id=SMOL, revision="v1.0").code == "revision_not_allowed"
    assert refused(user=alice, model_id=SMOL, revision="no-such-branch").code == "revision_not_found"
    assert not EvalRun.objects.exists()

    AllowedRevision.objects.create(model=LanguageModel.objects.get(repo_id=SMOL), revision="v1.0")
    run, created = services.eval_run_submit(user=alice, model_id=SMOL, revision="v1.0")
    assert created and run.revision == "v1.0" and run.revision_sha == tag_sha


def test_the_size_policy_reads_the_pinned_revisions_own_metadata(fake_hub, alice, sam_staff):
    """Must hold: a 405B checkpoint on a revision of a 135M model id is refused as too large, even when
    staff allowed that revision, because the policy reads that revision's metadata, not main's."""
    hub_model_sync(repo_id=SMOL)
    fake_hub.add_revision(SMOL, "big", safetensors=HUGE)
    AllowedRevision.objects.create(model=LanguageModel.objects.get(repo_id=SMOL), revision="big")

    error = refused(user=alice, model_id=SMOL, revision="big")

    assert error.code == "too_large" and "405,000,000,000" in error.message
    assert not EvalRun.objects.exists()
    assert LanguageModel.objects.get(repo_id=SMOL).parameters == 134_515_008  # main's count, untouched


def test_only_runs_of_the_current_main_rank_and_other_revisions_are_labelled(fake_hub, api_client, alice):
    """Must hold (the issue's reproduction): a run of another revision scoring 0.90 does not replace the
    main-branch score of 0.30 on /api/v1/leaderboard/; the model's history (API and page) labels it
    "not the current main: not ranked"."""
    model, _ = hub_model_sync(repo_id=SMOL)
    pr_sha = fake_hub.add_revision(SMOL, "refs/pr/1", safetensors=HUGE)
    main_run = complete_run(model, 0.30, revision_sha=model.hub_sha)
    swapped = complete_run(model, 0.90, revision="refs/pr/1", revision_sha=pr_sha)
    leaderboard_cache_bump()

    assert board(api_client) == {SMOL: pytest.approx(0.30)}

    listed = {r["id"]: r for r in api_client.get(f"{SUBMIT_URL}?model={SMOL}").json()["results"]}
    assert listed[main_run.pk]["revision_ranked"] is True and listed[main_run.pk]["revision_note"] == ""
    assert listed[swapped.pk]["revision_ranked"] is False
    assert pr_sha[:12] in listed[swapped.pk]["revision_note"] and "not ranked" in listed[swapped.pk]["revision_note"]
    detail = api_client.get(f"{SUBMIT_URL}{swapped.pk}/").json()
    assert detail["revision_ranked"] is False

    page = Client().get(f"/models/{SMOL}/").content.decode()
    assert page.count("not the current main: not ranked") == 1


def test_a_sync_to_a_new_commit_unranks_old_runs_at_once_and_staff_can_mark_a_revision(
    fake_hub, api_client, django_capture_on_commit_callbacks
):
    """Must hold: when a sync moves the model to a new Hub commit, the cached board drops runs of the old
    commit immediately (not after the cache TTL); staff marking that commit as ranked brings them back."""
    model, _ = hub_model_sync(repo_id=SMOL)
    old_sha = model.hub_sha
    complete_run(model, 0.30, revision_sha=old_sha)
    leaderboard_cache_bump()
    assert board(api_client) == {SMOL: pytest.approx(0.30)}  # now cached

    fake_hub.push_commit(SMOL, downloads=7)
    with django_capture_on_commit_callbacks(execute=True):  # what the sync's commit triggers
        sync_hub(authors=["HuggingFaceTB"])  # the periodic sync: a listing, written in bulk
    assert LanguageModel.objects.get(repo_id=SMOL).hub_sha != old_sha
    assert board(api_client) == {}

    with django_capture_on_commit_callbacks(execute=True):
        AllowedRevision.objects.create(model=model, revision=old_sha, ranked=True, note="the release we reviewed")
    assert board(api_client) == {SMOL: pytest.approx(0.30)}


# -- hole 2: sizes the policy can trust ---------------------------------------------------------------------


def test_a_bin_only_repo_is_sized_by_its_weight_files_never_by_its_card(fake_hub, alice):
    """Must hold: with no safetensors metadata the policy bounds the size from the weight files (16-bit
    assumed); a card saying "100M" over 40 GB of .bin files is refused as too large, a repo with no
    weight files at all is refused as unknown size, and a small .bin-only repo is accepted."""
    card = {"license": "apache-2.0", "parameters": "100M"}
    fake_hub.add_model(model_record("probe/bin-only", card_data=card, file_sizes={"pytorch_model.bin": 40 * 10**9}))
    fake_hub.add_model(model_record("probe/card-only", card_data=card))
    fake_hub.add_model(model_record("probe/small-bin", card_data=card, file_sizes={"pytorch_model.bin": 270 * 10**6}))

    error = refused(user=alice, model_id="probe/bin-only")
    assert error.code == "too_large" and "40,000,000,000 bytes" in error.message
    assert "20,000,000,000" in error.message  # 40 GB / 2 bytes per parameter

    error = refused(user=alice, model_id="probe/card-only")
    assert error.code == "unknown_size" and "model card" in error.message

    assert not LanguageModel.objects.filter(repo_id__startswith="probe/").exists()
    run, created = services.eval_run_submit(user=alice, model_id="probe/small-bin")
    assert created and run.revision_sha == fake_hub.model("probe/small-bin")["sha"]


def test_a_declared_quantization_lowers_the_bytes_per_parameter_so_the_bound_only_grows(fake_hub, alice):
    """Must hold: 9 GB of 4-bit weights (config says bits=4) may hold 18B parameters: refused, although
    the same bytes read as 16-bit would have passed (4.5B)."""
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "quantization_config": {"bits": 4}}
    fake_hub.add_model(
        model_record(
            "probe/gptq",
            card_data={"license": "apache-2.0"},
            config_file=config,
            file_sizes={"model-00001-of-00002.safetensors": 5 * 10**9, "model-00002-of-00002.safetensors": 4 * 10**9},
        )
    )

    error = refused(user=alice, model_id="probe/gptq")

    assert error.code == "too_large" and "18,000,000,000" in error.message


def test_the_registry_shows_a_card_count_labelled_with_its_source(fake_hub, api_client):
    """Must hold: a MoE card with no safetensors metadata and no config still gives the registry its
    "46.7B total parameters, 12.9B active", labelled as coming from the card."""
    card = {"license": "apache-2.0", "parameters": "46.7B total parameters, 12.9B active"}
    fake_hub.add_model(model_record("probe/moe-card", card_data=card, file_sizes={"consolidated.00.pt": 10**9}))

    hub_model_sync(repo_id="probe/moe-card")

    body = api_client.get("/api/v1/models/probe/moe-card/").json()
    assert body["parameters"] == 46_700_000_000 and body["active_parameters"] == 12_900_000_000
    assert body["parameters_source"] == "card"


# -- hole 5a: the quota counts accepted runs; the burst limit is separate -------------------------------------


def test_refused_submissions_never_use_the_daily_quota(fake_hub, token_client, sam_staff):
    """Must hold (the issue's reproduction): five refused POSTs (a duplicate, a Hub failure, bad JSON, a
    refused model, a pull request) leave a superuser's quota at what was accepted, and the next new
    submission is accepted (202), not locked out for 24 hours."""
    client = token_client(sam_staff)
    assert client.post(SUBMIT_URL, {"model": SMOL}, format="json").status_code == 202
    assert client.post(SUBMIT_URL, {"model": SMOL}, format="json").status_code == 200  # duplicate
    fault = fake_hub.add_fault("server_error", model="HuggingFaceTB/SmolLM2-135M-Instruct")
    assert client.post(SUBMIT_URL, {"model": "HuggingFaceTB/SmolLM2-135M-Instruct"}, format="json").status_code == 503
    fake_hub.faults.remove(fault)
    assert client.post(SUBMIT_URL, data="{not json", content_type="application/json").status_code == 400
    assert client.post(SUBMIT_URL, {"model": "mistralai/Mixtral-8x7B-v0.1"}, format="json").status_code == 400
    assert client.post(SUBMIT_URL, {"model": SMOL, "revision": "refs/pr/1"}, format="json").status_code == 400

    response = client.post(SUBMIT_URL, {"model": "HuggingFaceTB/SmolLM2-135M-Instruct"}, format="json")

    assert response.status_code == 202, response.content
    assert services.submission_quota(sam_staff)["used"] == 2


def test_submit_requests_have_their_own_per_minute_limit(fake_hub, token_client, alice, monkeypatch):
    """Must hold: the abuse guard is its own scope (submit_burst, per minute), answering 429 throttled
    with Retry-After; it is not the daily quota, which stays untouched by the refused requests."""
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "submit_burst", "3/minute")
    client = token_client(alice)
    for _ in range(3):
        assert client.post(SUBMIT_URL, {"model": "not a model"}, format="json").status_code == 400

    response = client.post(SUBMIT_URL, {"model": SMOL}, format="json")

    assert response.status_code == 429 and response.json()["error"]["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60
    assert services.submission_quota(alice)["used"] == 0


# -- hole 6: a refusal writes nothing -------------------------------------------------------------------


def test_an_over_quota_submission_does_not_register_the_model(fake_hub, alice):
    """Must hold: over the quota, the model the user named is not added to the registry."""
    from tests.evals.runfixtures import make_model

    other = make_model("acme/other")
    for _ in range(5):
        EvalRun.objects.create(model=other, suite="quick", submitted_by=alice, is_partial=True, limit=1)

    assert refused(user=alice, model_id=SMOL).code == "submission_limit"

    assert not LanguageModel.objects.filter(repo_id=SMOL).exists()
    assert EvalRun.objects.count() == 5


def test_a_policy_refused_submission_neither_creates_nor_updates_the_registry_row(fake_hub, alice):
    """Must hold: a model refused by the policy is not registered, and a registered model whose new
    commit is refused keeps its registry row as it was (same sha, same license)."""
    assert refused(user=alice, model_id="mistralai/Mixtral-8x7B-v0.1").code == "too_large"
    assert not LanguageModel.objects.filter(repo_id="mistralai/Mixtral-8x7B-v0.1").exists()

    before, _ = hub_model_sync(repo_id=SMOL)
    fake_hub.push_commit(SMOL, cardData={}, tags=["transformers", "llama", "text-generation"])

    assert refused(user=alice, model_id=SMOL).code == "unknown_license"

    after = LanguageModel.objects.get(repo_id=SMOL)
    assert (after.hub_sha, after.license_id, after.updated_at) == (before.hub_sha, before.license_id, before.updated_at)
    assert not EvalRun.objects.exists()
