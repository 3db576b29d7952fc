"""The submit page: the Hub check's exact reasons next to the field, duplicates, throttle, broker down.

The model checks go through evals.services.eval_run_submit to the fake Hub (tests/hubfake, a real
HTTP server); the database and Redis are real.
"""

from __future__ import annotations

import pytest
from django.test import Client

from evals.models import EvalRun

pytestmark = pytest.mark.django_db

SMOL = "HuggingFaceTB/SmolLM2-135M-Instruct"


@pytest.fixture
def alice_client(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def submit(client: Client, model_id: str, **extra) -> str:
    data = {"model_id": model_id, "revision": "main", "suite": "quick", "backend": "transformers", "dtype": "auto"}
    data.update(extra)
    return client.post("/submit/", data, follow=True)


def field_error(html: str, field: str) -> str:
    """The text of the error block rendered next to a form field."""
    marker = f'id="id_{field}-error"'
    assert marker in html, f"no error next to {field}"
    start = html.index(marker)
    return html[start : html.index("</div>", start)]


def test_submit_sends_anonymous_visitors_to_sign_in(client):
    response = client.get("/submit/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/submit/")


def test_submit_form_has_a_csrf_token_and_defaults_to_main_and_quick(alice_client):
    html = alice_client.get("/submit/").content.decode()

    assert 'name="csrfmiddlewaretoken"' in html
    assert 'name="revision" value="main"' in html
    assert '<option value="quick" selected>' in html


def test_submit_without_a_csrf_token_is_rejected_and_saves_nothing(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    response = client.post("/submit/", {"model_id": SMOL, "suite": "quick", "backend": "transformers"})

    assert response.status_code == 403
    assert not EvalRun.objects.exists()


def test_submit_rejects_a_malformed_repo_id_next_to_the_model_field(alice_client):
    html = submit(alice_client, "not a repo id").content.decode()

    assert "is not a Hub repo id" in field_error(html, "model_id")
    assert not EvalRun.objects.exists()


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        ("nobody/does-not-exist", "There is no model nobody/does-not-exist on the Hugging Face Hub"),
        ("meta-llama/Llama-2-7b-hf", "is gated on the Hub"),
        ("google-bert/bert-base-uncased", "is not a text-generation model"),
        ("ladder-fixtures/huge-70b", "this server evaluates models up to 15,000,000,000"),
        ("ladder-fixtures/no-license-135m", "The license of ladder-fixtures/no-license-135m is unknown"),
    ],
)
def test_submit_tells_the_user_exactly_what_is_wrong_with_the_model(alice_client, fake_hub, model_id, expected):
    response = submit(alice_client, model_id)

    assert response.status_code == 200 and response.redirect_chain == []
    assert expected in field_error(response.content.decode(), "model_id")
    assert not EvalRun.objects.exists()


@pytest.mark.django_db(transaction=True)  # the message is sent on commit, as in production
def test_submit_queues_the_run_and_a_second_identical_submission_shows_the_same_run(alice_client, alice, fake_hub):
    first = submit(alice_client, SMOL)

    run = EvalRun.objects.get()
    assert first.redirect_chain == [(f"/runs/{run.pk}/", 302)]
    assert (run.status, run.submitted_by, run.suite, run.model.repo_id) == ("queued", alice, "quick", SMOL)
    assert f"Run #{run.pk} is queued." in first.content.decode()

    second = submit(alice_client, SMOL)

    assert EvalRun.objects.count() == 1
    assert second.redirect_chain == [(f"/runs/{run.pk}/", 302)]
    assert f"already submitted with the same revision and settings: here is run #{run.pk}" in second.content.decode()

    # Another data type is another run.
    third = submit(alice_client, SMOL, dtype="float32")
    other = EvalRun.objects.exclude(pk=run.pk).get()
    assert (other.dtype, third.redirect_chain) == ("float32", [(f"/runs/{other.pk}/", 302)])


def test_a_partial_submission_is_stored_as_partial_and_says_it_is_not_ranked(alice_client, fake_hub):
    response = submit(alice_client, SMOL, benchmarks=["arc_easy"], limit="5")

    run = EvalRun.objects.get()
    assert (run.is_partial, run.limit, run.benchmarks) == (True, 5, ["arc_easy"])
    assert "partial run, not ranked" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_submit_with_the_broker_down_keeps_the_run_queued_and_says_it_will_start_later(
    alice_client, fake_hub, broker_down
):
    response = submit(alice_client, SMOL)

    run = EvalRun.objects.get()
    assert (run.status, run.dispatched_at) == ("queued", None)
    assert "it will start automatically when the queue is back" in response.content.decode()


def test_submit_refuses_beyond_the_per_user_submission_rate(
    alice_client, fake_hub, settings, make_model, make_run, alice
):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"submissions": "2/day"}}
    model = make_model("ladder-fixtures/other")
    make_run(model, submitted_by=alice, status="succeeded")
    make_run(model, submitted_by=alice, status="failed", dtype="float32")

    response = submit(alice_client, SMOL)

    assert "You have reached the limit of 2 submissions per day" in response.content.decode()
    assert EvalRun.objects.count() == 2


def test_the_model_pages_evaluate_link_prefills_the_form(alice_client):
    html = alice_client.get("/submit/?model=Qwen/Qwen-7B").content.decode()

    assert 'name="model_id" value="Qwen/Qwen-7B"' in html
