"""Submitting a model: the Hub checks, registration, duplicates, partial runs and every refusal's message.

The Hub is tests/hubfake (a real HTTP server the real huggingface_hub client talks to).
"""

from __future__ import annotations

import pytest

from evals import services
from evals.models import EvalRun
from registry.models import LanguageModel
from tests.evals.runfixtures import make_endpoint_model, make_smollm2

pytestmark = pytest.mark.django_db

SMOL_BASE = "HuggingFaceTB/SmolLM2-135M"


@pytest.fixture(autouse=True)
def _no_hub_token(monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)


def test_submit_checks_the_hub_registers_the_model_and_pins_its_sha(fake_hub, alice):
    run, created = services.eval_run_submit(user=alice, model_id=SMOL_BASE)
    assert created
    model = LanguageModel.objects.get(repo_id=SMOL_BASE)
    assert run.model == model and run.status == EvalRun.Status.QUEUED
    assert (
        run.revision == "main" and run.revision_sha == fake_hub.model(SMOL_BASE)["sha"] and len(run.revision_sha) == 40
    )
    assert run.suite == "quick" and not run.is_partial and run.submitted_by == alice
    assert run.settings["n_shot"]["arc_easy"] == 0 and run.settings["sample_size"] == 100
    assert run.engine_version


def test_a_duplicate_submission_returns_the_existing_run(fake_hub, alice, sam_staff):
    first, created = services.eval_run_submit(user=alice, model_id=SMOL_BASE)
    second, created_again = services.eval_run_submit(user=sam_staff, model_id=SMOL_BASE)
    assert created and not created_again and second.pk == first.pk
    assert EvalRun.objects.count() == 1


def test_a_new_revision_of_the_model_is_a_new_run(fake_hub, alice):
    first, _ = services.eval_run_submit(user=alice, model_id=SMOL_BASE)
    fake_hub.push_commit(SMOL_BASE, downloads=5)
    second, created = services.eval_run_submit(user=alice, model_id=SMOL_BASE)
    assert created and second.revision_sha != first.revision_sha


def test_the_database_keeps_one_complete_run_even_if_the_python_check_is_raced(fake_hub, alice):
    from django.db import IntegrityError, transaction

    run, _ = services.eval_run_submit(user=alice, model_id=SMOL_BASE)
    with pytest.raises(IntegrityError), transaction.atomic():
        EvalRun.objects.create(
            model=run.model, revision_sha=run.revision_sha, suite="quick", backend="transformers", dtype="auto"
        )


def test_partial_runs_are_always_new_and_flagged(fake_hub, alice):
    full, _ = services.eval_run_submit(user=alice, model_id=SMOL_BASE)
    a, created_a = services.eval_run_submit(user=alice, model_id=SMOL_BASE, benchmarks=["arc_easy"], limit=5)
    b, created_b = services.eval_run_submit(user=alice, model_id=SMOL_BASE, benchmarks=["arc_easy"], limit=5)
    assert created_a and created_b and len({full.pk, a.pk, b.pk}) == 3
    assert a.is_partial and a.benchmarks == ["arc_easy"] and a.limit == 5
    assert not full.is_partial


@pytest.mark.parametrize(
    ("model_id", "code", "words"),
    [
        ("ladder-fixtures/does-not-exist", "model_not_found", "no model"),
        ("meta-llama/Llama-2-7b-hf", "gated", "gated"),
        ("google-bert/bert-base-uncased", "not_text_generation", "fill-mask"),
        ("ladder-fixtures/SmolVLM-256M-Instruct", "not_text_generation", "image-text-to-text"),
        ("mistralai/Mixtral-8x7B-v0.1", "too_large", "15,000,000,000"),
        ("not a model id", "invalid_model_id", "not a model id"),
        ("../etc/passwd", "invalid_model_id", "not a model id"),
    ],
)
def test_submit_refuses_models_it_cannot_evaluate_with_a_precise_message(fake_hub, alice, model_id, code, words):
    with pytest.raises(services.SubmissionError) as excinfo:
        services.eval_run_submit(user=alice, model_id=model_id)
    assert excinfo.value.code == code
    assert words in excinfo.value.message
    assert excinfo.value.field == "model"
    assert not EvalRun.objects.exists()


def test_submit_refuses_an_unknown_revision(fake_hub, alice):
    with pytest.raises(services.SubmissionError) as excinfo:
        services.eval_run_submit(user=alice, model_id=SMOL_BASE, revision="no-such-branch")
    assert excinfo.value.code == "revision_not_found" and excinfo.value.field == "revision"


@pytest.mark.parametrize(
    ("kwargs", "code", "field"),
    [
        ({"suite": "huge"}, "unknown_suite", "suite"),
        ({"benchmarks": ["arc_easy", "bogus"]}, "unknown_benchmark", "benchmarks"),
        ({"limit": 0}, "invalid_limit", "limit"),
        ({"backend": "vllm"}, "unknown_backend", "backend"),
        ({"dtype": "int3"}, "unknown_dtype", "dtype"),
        ({"revision": "bad revision!"}, "invalid_revision", "revision"),
    ],
)
def test_submit_refuses_bad_settings_before_asking_the_hub(fake_hub, alice, kwargs, code, field):
    with pytest.raises(services.SubmissionError) as excinfo:
        services.eval_run_submit(user=alice, model_id=SMOL_BASE, **kwargs)
    assert (excinfo.value.code, excinfo.value.field) == (code, field)
    assert fake_hub.requests_to("/api/models") == []


def test_when_the_hub_is_down_nothing_is_saved_and_the_user_is_told_to_retry(fake_hub, alice):
    fake_hub.add_fault("server_error", model=SMOL_BASE)
    with pytest.raises(services.SubmissionError) as excinfo:
        services.eval_run_submit(user=alice, model_id=SMOL_BASE)
    assert excinfo.value.code == "hub_unavailable" and excinfo.value.status == 503
    assert not EvalRun.objects.exists()


def test_local_weights_models_are_checked_from_the_registry_without_the_hub(fake_hub, alice):
    make_smollm2()
    run, created = services.eval_run_submit(user=alice, model_id="HuggingFaceTB/SmolLM2-135M-Instruct")
    assert created and run.revision_sha == ""  # the worker records what the backend ran
    assert fake_hub.requests_to("/api/models") == []
    again, created_again = services.eval_run_submit(user=alice, model_id="HuggingFaceTB/SmolLM2-135M-Instruct")
    assert not created_again and again.pk == run.pk


def test_closed_models_need_the_openai_backend_and_an_endpoint(alice):
    model = make_endpoint_model("http://127.0.0.1:9/v1", repo_id="acme/closed-one")
    with pytest.raises(services.SubmissionError) as excinfo:
        services.eval_run_submit(user=alice, model_id="acme/closed-one")
    assert excinfo.value.code == "closed_model_backend"
    model.endpoint_base_url = ""
    model.save()
    with pytest.raises(services.SubmissionError) as excinfo:
        services.eval_run_submit(user=alice, model_id="acme/closed-one", backend="openai")
    assert excinfo.value.code == "no_endpoint" and "staff must add one" in excinfo.value.message


def test_a_registry_model_with_an_unknown_license_is_refused(alice):
    from tests.evals.runfixtures import make_model

    make_model("acme/mystery", local_weights="/models/mystery", license=None)
    with pytest.raises(services.SubmissionError) as excinfo:
        services.eval_run_submit(user=alice, model_id="acme/mystery")
    assert excinfo.value.code == "unknown_license"


def test_the_run_is_stored_even_when_the_broker_is_down_and_sent_later(
    fake_hub, alice, django_capture_on_commit_callbacks, monkeypatch
):
    from evals.tasks import eval_run_execute_task

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("[Errno 111] Connection refused")

    monkeypatch.setattr(eval_run_execute_task, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        run, created = services.eval_run_submit(user=alice, model_id=SMOL_BASE)
    run.refresh_from_db()
    assert created and run.status == EvalRun.Status.QUEUED and run.dispatched_at is None
