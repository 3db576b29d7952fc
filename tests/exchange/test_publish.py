"""Publishing a measured run to its model's Hub repo: ONE pull request of `.eval_results/<benchmark>.yaml`
files, made by the real huggingface_hub client (preupload + NDJSON commit with create_pr) against the fake
Hub, which records what it received. Errors leave a failed attempt with no pull request, never a token."""

from __future__ import annotations

import logging

import pytest
import yaml
from django.urls import reverse

from evals.models import BenchmarkResult, EvalRun, HubPublication
from registry.services.reported import eval_results_facts
from tests.evals.factories import complete_run
from tests.helpers import wait_for
from tests.hubfake import model_record

pytestmark = pytest.mark.django_db

REPO = "ladder-fixtures/Publish-1B"
TOKEN = "hf_ladder_write_token_for_tests"
PUBLIC_URL = "https://ladder.example.org"
SCORES = {
    "arc_easy": (0.6234567891, 0.0099, 2376),
    "mmlu": (0.4567891234, 0.0041, 14042),
    "truthfulqa_mc2": (0.4123, 0.0151, 817),
}


@pytest.fixture
def hub_model(fake_hub, settings):
    """A Hub model synced into the registry, a write token the fake Hub accepts, and a public address."""
    from registry.services.hub_sync import hub_model_sync

    fake_hub.add_model(model_record(REPO, config_file={"architectures": ["LlamaForCausalLM"], "model_type": "llama"}))
    fake_hub.write_tokens.add(TOKEN)
    settings.HUB_WRITE_TOKEN = TOKEN
    settings.PUBLIC_URL = PUBLIC_URL
    model, _ = hub_model_sync(repo_id=REPO)
    return model


@pytest.fixture
def run(hub_model) -> EvalRun:
    """A succeeded, measured, complete run of three benchmarks (MMLU 5-shot)."""
    run = complete_run(hub_model, SCORES, benchmarks=list(SCORES))
    BenchmarkResult.objects.filter(run=run, benchmark="mmlu").update(n_shot=5)
    return run


def _publish(run, user):
    from evals.exchange.publish import hub_publication_create

    return hub_publication_create(run_id=run.pk, user=user)


def test_publishing_opens_one_pull_request_with_an_eval_results_file_per_benchmark(run, sam_staff, fake_hub):
    outcome = _publish(run, sam_staff)

    # The fake Hub received exactly one commit, as a pull request, adding one file per benchmark.
    assert len(fake_hub.commits) == 1
    commit = fake_hub.commits[0]
    assert commit["repo"] == REPO and commit["create_pr"] is True and commit["revision"] == "main"
    assert set(commit["files"]) == {f".eval_results/{b}.yaml" for b in SCORES}
    assert f"run #{run.pk}" in commit["summary"] and f"{PUBLIC_URL}/runs/{run.pk}/" in commit["description"]
    # Each file is the Hub's format: a list of {dataset: {id, task_id[, revision]}, value, date, source, notes}.
    mmlu = yaml.safe_load(commit["files"][".eval_results/mmlu.yaml"])
    assert mmlu == [
        {
            "dataset": {"id": "cais/mmlu", "task_id": "mmlu", "revision": mmlu[0]["dataset"]["revision"]},
            "value": SCORES["mmlu"][0],
            "date": run.finished_at.date().isoformat(),
            "source": {"url": f"{PUBLIC_URL}/runs/{run.pk}/", "name": f"LLM Ladder run #{run.pk}"},
            "notes": mmlu[0]["notes"],
        }
    ]
    assert len(mmlu[0]["dataset"]["revision"]) == 40 and mmlu[0]["notes"].startswith("5-shot, acc, 14042 items")
    arc = yaml.safe_load(commit["files"][".eval_results/arc_easy.yaml"])[0]
    assert arc["dataset"]["id"] == "allenai/ai2_arc" and arc["dataset"]["task_id"] == "arc_easy"
    # The publication names the PR the Hub opened, and its commit.
    publication = outcome.publication
    assert outcome.created and publication.status == "published" and publication.requested_by == sam_staff
    assert publication.pr_num == 1 and publication.pr_url == f"{fake_hub.url}/{REPO}/discussions/1"
    assert publication.commit_sha == commit["sha"] and publication.files == sorted(commit["files"])
    # The Hub serves the PR: an open discussion, a refs/pr/1 ref at the commit, the files at that ref.
    assert [(p["num"], p["status"]) for p in fake_hub.pull_requests(REPO)] == [(1, "open")]


def test_the_published_files_read_back_as_the_runs_scores(run, sam_staff, fake_hub):
    from evals.reported import reported_benchmark

    _publish(run, sam_staff)

    facts = eval_results_facts(run.model_id, REPO, fake_hub.commits[0]["files"])
    read = {reported_benchmark(f.dataset_id, f.dataset_config)[0]: (f.published_value, f.n_shot) for f in facts}
    assert read == {
        "arc_easy": (SCORES["arc_easy"][0], 0),
        "mmlu": (SCORES["mmlu"][0], 5),
        "truthfulqa_mc2": (0.4123, 0),
    }
    assert {f.source_url for f in facts} == {f"{PUBLIC_URL}/runs/{run.pk}/"}


def test_publishing_the_same_run_twice_returns_the_existing_pull_request(run, sam_staff, fake_hub):
    first = _publish(run, sam_staff)

    second = _publish(run, sam_staff)

    assert not second.created and second.publication.pk == first.publication.pk
    assert len(fake_hub.commits) == 1 and len(fake_hub.pull_requests(REPO)) == 1
    assert HubPublication.objects.count() == 1


def test_the_api_publishes_for_staff_and_answers_the_existing_pr_the_second_time(run, sam_staff, api_client, fake_hub):
    api_client.force_authenticate(sam_staff)
    url = reverse("evals-api:evaluation-publish", args=[run.pk])

    created = api_client.post(url)
    again = api_client.post(url)

    assert created.status_code == 201, created.content
    assert (
        created.json()["pr_url"] == f"{fake_hub.url}/{REPO}/discussions/1" and created.json()["status"] == "published"
    )
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    assert len(fake_hub.commits) == 1
    assert TOKEN not in created.content.decode()


def test_the_api_refuses_non_staff_and_anonymous_callers_and_sends_nothing(run, alice, api_client, fake_hub):
    url = reverse("evals-api:evaluation-publish", args=[run.pk])
    anonymous = api_client.post(url)
    api_client.force_authenticate(alice)

    refused = api_client.post(url)

    assert anonymous.status_code == 401 and refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert fake_hub.commits == [] and not HubPublication.objects.exists()


def test_publishing_without_a_write_token_says_so_and_records_nothing(run, sam_staff, api_client, fake_hub, settings):
    settings.HUB_WRITE_TOKEN = ""
    api_client.force_authenticate(sam_staff)

    response = api_client.post(reverse("evals-api:evaluation-publish", args=[run.pk]))

    assert response.status_code == 503 and response.json()["error"]["code"] == "hub_write_token_missing"
    assert "LADDER_HUB_WRITE_TOKEN" in response.json()["error"]["message"]
    assert not HubPublication.objects.exists() and fake_hub.commits == []


@pytest.mark.parametrize(
    ("setup", "status", "code"),
    [
        ("unknown_token", 502, "hub_token_refused"),  # the Hub answers 401
        ("read_only_token", 502, "hub_token_refused"),  # the Hub answers 403
        ("repo_gone", 502, "hub_repo_not_found"),  # 404
        ("server_error", 503, "hub_unavailable"),  # 503 on the commit
    ],
)
def test_a_hub_error_is_a_clear_error_and_leaves_a_failed_attempt_without_a_pr(
    run, sam_staff, api_client, fake_hub, settings, caplog, setup, status, code
):
    if setup == "unknown_token":
        settings.HUB_WRITE_TOKEN = "hf_not_a_token_the_hub_knows"
    elif setup == "read_only_token":
        fake_hub.write_tokens.discard(TOKEN)
        fake_hub.read_tokens.add(TOKEN)
    elif setup == "repo_gone":
        fake_hub.remove_model(REPO)
    else:
        fake_hub.add_fault("server_error", model=REPO, method="POST", skip=1, times=1)  # preupload passes
    api_client.force_authenticate(sam_staff)

    with caplog.at_level(logging.DEBUG):
        response = api_client.post(reverse("evals-api:evaluation-publish", args=[run.pk]))

    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    (attempt,) = HubPublication.objects.all()
    assert attempt.status == "failed" and attempt.error.startswith(code)
    assert attempt.pr_num is None and attempt.pr_url == "" and attempt.commit_sha == ""
    assert fake_hub.pull_requests(REPO) == [] and fake_hub.commits == []
    secret = settings.HUB_WRITE_TOKEN
    assert secret not in response.content.decode() and secret not in attempt.error and secret not in caplog.text


def test_after_a_failure_a_new_attempt_opens_the_pull_request(run, sam_staff, fake_hub, settings):
    from evals.exchange.publish import PublishError

    fake_hub.write_tokens.clear()
    with pytest.raises(PublishError):
        _publish(run, sam_staff)
    fake_hub.write_tokens.add(TOKEN)

    outcome = _publish(run, sam_staff)

    assert outcome.created and outcome.publication.pr_num == 1
    assert list(HubPublication.objects.order_by("pk").values_list("status", flat=True)) == ["failed", "published"]


def test_a_commit_whose_answer_timed_out_is_found_by_its_title_instead_of_opened_twice(run, sam_staff, fake_hub):
    from huggingface_hub.utils import close_session

    from evals.exchange.publish import PublishError

    close_session()  # the shared client is made again with this test's short timeout (HUB_TIMEOUT = 2 s)
    fake_hub.add_fault("hang", model=REPO, method="POST", skip=1, times=1, hang_seconds=3)  # the commit hangs
    with pytest.raises(PublishError) as timed_out:
        _publish(run, sam_staff)
    assert timed_out.value.code == "hub_unavailable" and timed_out.value.status == 503
    # The Hub still opens the PR after the client gave up.
    wait_for(lambda: fake_hub.pull_requests(REPO), timeout=10, what="the Hub to open the pull request")

    outcome = _publish(run, sam_staff)

    assert len(fake_hub.commits) == 1 and len(fake_hub.pull_requests(REPO)) == 1
    assert outcome.publication.status == "published" and outcome.publication.pr_num == 1
    assert outcome.publication.commit_sha == fake_hub.commits[0]["sha"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"status": EvalRun.Status.FAILED}, "run_not_finished"),
        ({"provenance": "imported"}, "run_not_measured"),
        ({"is_partial": True}, "run_partial"),
    ],
)
def test_only_succeeded_complete_measured_runs_are_published(run, sam_staff, fake_hub, change, code):
    from evals.exchange.publish import PublishError

    EvalRun.objects.filter(pk=run.pk).update(**change)

    with pytest.raises(PublishError) as refused:
        _publish(run, sam_staff)

    assert refused.value.code == code and refused.value.status == 409
    assert fake_hub.commits == [] and not HubPublication.objects.exists()


def test_the_admin_action_publishes_selected_runs_and_shows_the_pr(run, sam_staff, client, fake_hub):
    client.force_login(sam_staff)

    response = client.post(
        reverse("admin:evals_evalrun_changelist"),
        {"action": "publish_runs", "_selected_action": [run.pk]},
        follow=True,
    )

    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert shown == [f"#{run.pk}: pull request opened: {fake_hub.url}/{REPO}/discussions/1"]
    assert len(fake_hub.commits) == 1


def test_the_run_page_offers_staff_a_publish_button_then_links_the_pr(run, sam_staff, alice, client, fake_hub):
    page = reverse("evals:run-detail", args=[run.pk])
    client.force_login(alice)
    assert 'data-action="publish"' not in client.get(page).content.decode()
    client.force_login(sam_staff)
    assert 'data-action="publish"' in client.get(page).content.decode()

    response = client.post(reverse("evals:run-publish", args=[run.pk]), follow=True)

    html = response.content.decode()
    assert response.status_code == 200 and 'data-action="publish"' not in html
    assert f'href="{fake_hub.url}/{REPO}/discussions/1"' in html and len(fake_hub.commits) == 1


def test_a_non_staff_post_to_the_publish_page_is_refused(run, alice, client, fake_hub):
    client.force_login(alice)

    response = client.post(reverse("evals:run-publish", args=[run.pk]))

    assert response.status_code == 403 and fake_hub.commits == []


def test_a_pending_attempt_left_by_a_killed_process_does_not_block_publishing_forever(run, sam_staff, fake_hub):
    from datetime import timedelta

    from django.utils import timezone

    from evals.exchange.publish import PublishError

    stuck = HubPublication.objects.create(run=run, repo_id=REPO)
    with pytest.raises(PublishError) as busy:
        _publish(run, sam_staff)
    assert busy.value.code == "publication_in_progress" and fake_hub.commits == []
    HubPublication.objects.filter(pk=stuck.pk).update(created_at=timezone.now() - timedelta(minutes=20))

    outcome = _publish(run, sam_staff)

    assert outcome.created and outcome.publication.pr_num == 1 and len(fake_hub.commits) == 1
    stuck.refresh_from_db()
    assert stuck.status == "failed" and stuck.pr_url == ""
