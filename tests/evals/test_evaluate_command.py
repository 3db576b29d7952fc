"""`manage.py evaluate`: in-process runs stored like any other, the --json document, --enqueue, clear errors."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from evals.models import EvalRun
from registry.models import LanguageModel
from tests.evals.runfixtures import SMOL_ID, make_smollm2

pytestmark = pytest.mark.django_db


def _evaluate(*args: str) -> str:
    out = StringIO()
    call_command("evaluate", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_json_prints_the_documented_document_and_stores_the_run(endpoint_model):
    out = _evaluate(
        endpoint_model.repo_id,
        "--suite",
        "quick",
        "--benchmarks",
        "arc_easy,mmlu",
        "--limit",
        "5",
        "--backend",
        "openai",
        "--batch-size",
        "2",
        "--json",
    )
    doc = json.loads(out)
    assert set(doc) == {"model", "suite", "backend", "results", "average"}
    assert (doc["model"], doc["suite"], doc["backend"]) == (endpoint_model.repo_id, "quick", "openai")
    assert set(doc["results"]) == {"arc_easy", "mmlu"}
    arc, mmlu = doc["results"]["arc_easy"], doc["results"]["mmlu"]
    assert set(arc) == {"acc", "acc_norm", "stderr", "n"} and arc["n"] == 5
    assert "acc" in mmlu and "acc_norm" not in mmlu and mmlu["n"] == 5  # MMLU defines acc only
    assert doc["average"] == pytest.approx((arc["acc"] + mmlu["acc"]) / 2)
    run = EvalRun.objects.get()
    assert run.status == EvalRun.Status.SUCCEEDED and run.batch_size == 2 and run.limit == 5 and run.is_partial


def test_plain_output_lists_each_benchmark_and_the_average(endpoint_model):
    out = _evaluate(endpoint_model.repo_id, "--benchmarks", "arc_easy", "--limit", "3", "--backend", "openai")
    assert "arc_easy" in out and "acc=" in out and "(n=3)" in out and "average" in out
    assert f"run {EvalRun.objects.get().pk} stored" in out


def test_a_failed_run_is_a_command_error_with_the_reason(endpoint_model, fake_openai):
    fake_openai.mode = "error500"
    with pytest.raises(CommandError, match="failed: Model backend error.*HTTP 503"):
        _evaluate(endpoint_model.repo_id, "--benchmarks", "arc_easy", "--limit", "3", "--backend", "openai")
    assert EvalRun.objects.get().status == EvalRun.Status.FAILED


def test_enqueue_stores_the_run_and_prints_its_id(endpoint_model, django_capture_on_commit_callbacks):
    from tests.evals.test_workers import purge_queues

    with django_capture_on_commit_callbacks(execute=True):
        out = _evaluate(endpoint_model.repo_id, "--limit", "3", "--backend", "openai", "--enqueue")
    run = EvalRun.objects.get()
    assert out.strip() == str(run.pk)
    assert run.status == EvalRun.Status.QUEUED and run.dispatched_at is not None
    purge_queues()


def test_an_unknown_model_that_is_on_the_hub_is_registered_first(fake_hub, django_capture_on_commit_callbacks):
    from tests.evals.test_workers import purge_queues

    with django_capture_on_commit_callbacks(execute=True):
        out = _evaluate("HuggingFaceTB/SmolLM2-135M", "--limit", "2", "--enqueue")
    model = LanguageModel.objects.get(repo_id="HuggingFaceTB/SmolLM2-135M")
    run = EvalRun.objects.get(pk=int(out))
    assert run.model == model and run.revision_sha == model.hub_sha != ""
    purge_queues()


def test_a_model_in_neither_the_registry_nor_the_hub_is_a_clear_error(fake_hub):
    with pytest.raises(CommandError, match="not in the registry, and the Hub says: not found"):
        _evaluate("ladder-fixtures/nothing-here", "--limit", "2")
    with pytest.raises(CommandError, match="not a Hub model id"):
        _evaluate("no-slash-here")
    assert not EvalRun.objects.exists()


def test_bad_options_are_clear_errors(endpoint_model):
    with pytest.raises(CommandError, match="closed model: use --backend openai"):
        _evaluate(endpoint_model.repo_id)
    with pytest.raises(CommandError, match="Unknown suite"):
        _evaluate(endpoint_model.repo_id, "--backend", "openai", "--suite", "nope")
    with pytest.raises(CommandError, match="not part of suite quick"):
        _evaluate(endpoint_model.repo_id, "--backend", "openai", "--benchmarks", "arc_easy,bogus")
    with pytest.raises(CommandError, match="batch-size"):
        _evaluate(endpoint_model.repo_id, "--backend", "openai", "--batch-size", "0")


@pytest.mark.slow
def test_smollm2_in_process_on_real_arc_easy_items():
    make_smollm2()
    doc = json.loads(_evaluate(SMOL_ID, "--benchmarks", "arc_easy", "--limit", "6", "--device", "cpu", "--json"))
    arc = doc["results"]["arc_easy"]
    assert doc["model"] == SMOL_ID and doc["backend"] == "transformers" and arc["n"] == 6
    assert 0.0 <= arc["acc"] <= 1.0 and 0.0 <= arc["acc_norm"] <= 1.0
    run = EvalRun.objects.get()
    assert run.revision_sha and run.device == "cpu" and run.settings["methods"] == {"arc_easy": "loglikelihood"}


def test_an_identical_complete_run_that_succeeded_is_reported_not_repeated(endpoint_model, fake_openai):
    from evals.models import BenchmarkResult

    done = EvalRun.objects.create(
        model=endpoint_model, suite="quick", backend="openai", benchmarks=["arc_easy"], status="succeeded"
    )
    BenchmarkResult.objects.create(
        run=done,
        benchmark="arc_easy",
        metrics={"acc": 0.5, "acc_norm": 0.25},
        primary_metric="acc",
        value=0.5,
        stderr=0.1,
        n=100,
    )
    doc = json.loads(_evaluate(endpoint_model.repo_id, "--backend", "openai", "--json"))
    assert doc["results"] == {"arc_easy": {"acc": 0.5, "acc_norm": 0.25, "stderr": 0.1, "n": 100}}
    assert doc["average"] == 0.5
    assert EvalRun.objects.count() == 1 and fake_openai.requests == []


def _evaluate_with_stderr(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("evaluate", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def alice_api(api_client, alice):
    from rest_framework.authtoken.models import Token

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=alice).key}")
    return api_client


def test_a_run_submitted_through_the_api_is_the_identical_run_the_command_reports(
    alice_api, fake_hub, monkeypatch, django_capture_on_commit_callbacks
):
    from tests.evals.test_workers import purge_queues

    monkeypatch.delenv("HF_TOKEN", raising=False)
    submitted = alice_api.post("/api/v1/evaluations/", {"model": "HuggingFaceTB/SmolLM2-135M"}, format="json")
    assert submitted.status_code == 202, submitted.content
    run_id = submitted.json()["id"]

    with django_capture_on_commit_callbacks(execute=True):
        out, err = _evaluate_with_stderr("HuggingFaceTB/SmolLM2-135M", "--enqueue")
    assert out.strip() == str(run_id)
    assert f"an identical complete run exists: run {run_id} (queued)" in err
    assert EvalRun.objects.count() == 1
    purge_queues()


def test_a_run_the_command_queued_is_the_duplicate_the_api_answers_with(
    alice_api, fake_hub, monkeypatch, django_capture_on_commit_callbacks
):
    from tests.evals.test_workers import purge_queues

    monkeypatch.delenv("HF_TOKEN", raising=False)
    with django_capture_on_commit_callbacks(execute=True):
        out, _err = _evaluate_with_stderr("HuggingFaceTB/SmolLM2-135M", "--enqueue")
    run_id = int(out)

    again = alice_api.post("/api/v1/evaluations/", {"model": "HuggingFaceTB/SmolLM2-135M"}, format="json")
    assert again.status_code == 200, again.content
    assert again.json()["id"] == run_id and again.json()["duplicate"] is True
    assert EvalRun.objects.count() == 1
    purge_queues()


def test_the_command_refuses_what_the_submission_service_refuses(endpoint_model, fake_hub):
    with pytest.raises(CommandError, match="needs an API endpoint configured"):
        _evaluate("HuggingFaceTB/SmolLM2-135M", "--backend", "openai", "--limit", "2")
    with pytest.raises(CommandError, match="limit must be a whole number"):
        _evaluate(endpoint_model.repo_id, "--backend", "openai", "--limit", "0")
    assert not EvalRun.objects.exists()
