"""Closed models measured honestly (#12): degenerate runs flagged and kept off the boards until staff accept
them, generative scores on their own board, and the tokens an endpoint run costs.

Runs go through the real services against the fake OpenAI-compatible server (tests/evals/fakeopenai.py);
boards and pages through the real selectors, API and views on PostgreSQL.
"""

from __future__ import annotations

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory
from rest_framework.authtoken.models import Token

from evals import services
from evals.models import BenchmarkResult, EvalRun, ItemResult
from evals.selectors.costs import endpoint_probe, quick_run_items, quick_run_token_estimate
from evals.selectors.leaderboard import leaderboard_cache_bump
from evals.selectors.revisions import run_ranks_q
from tests.evals.factories import complete_run, model

pytestmark = pytest.mark.django_db

LEADERBOARD = "/api/v1/leaderboard/"


@pytest.fixture(autouse=True)
def _fresh_boards():
    """Boards cached by an earlier test are stale here; the services bump after commit, which a test's
    transaction never reaches."""
    leaderboard_cache_bump()


def _execute(endpoint_model, *, benchmarks=("winogrande",), limit=24) -> EvalRun:
    run = services.eval_run_create(
        model=endpoint_model,
        suite="quick",
        benchmarks=list(benchmarks),
        limit=limit,
        backend="openai",
        batch_size=8,
        dispatch=False,
    )
    services.eval_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == EvalRun.Status.SUCCEEDED, run.error
    return run


def _client(api_client, user):
    token = Token.objects.create(user=user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api_client


def _board_ids(api_client, **params):
    body = api_client.get(LEADERBOARD, {"suite": "quick", **params}).json()
    return [row["model"]["id"] for row in body["results"]], body


# ------------------------------------------------------------------------------------------ the flag


def test_a_constant_answerer_is_flagged_with_its_answer_distribution(endpoint_model, fake_openai):
    fake_openai.mode = "bad_logprobs"  # no usable prompt log-probabilities: generative, as in the issue
    fake_openai.reply = "The best answer is A."
    run = _execute(endpoint_model, benchmarks=("winogrande",), limit=24)
    result = BenchmarkResult.objects.get(run=run)
    assert result.method == "generative" and result.variant == "winogrande_chat"
    assert result.unparsed == 0 and result.answer_stats == {"A": 24}
    assert run.method == "generative" and run.flagged
    assert run.flag_reasons == [{"benchmark": "winogrande", "rule": "collapsed", "answer": "A", "share": 1.0, "n": 24}]
    assert not EvalRun.objects.filter(pk=run.pk).filter(run_ranks_q()).exists()


def test_unreadable_answers_are_scored_wrong_counted_and_flag_the_run(endpoint_model, fake_openai):
    fake_openai.mode = "chat_only"  # /v1/completions answers 404: a chat API
    fake_openai.reply = ""  # the empty generations of the issue
    run = _execute(endpoint_model, benchmarks=("arc_easy",), limit=20)
    result = BenchmarkResult.objects.get(run=run)
    assert result.value == 0.0 and result.unparsed == 20 and result.answer_stats == {}
    assert run.flagged and run.flag_reasons[0]["rule"] == "unparsed" and run.flag_reasons[0]["share"] == 1.0
    # Every question went to the chat route, with arc_challenge_chat's instruction.
    chats = [r for r in fake_openai.requests if r["path"] == "/v1/chat/completions"]
    assert len(chats) == 20 and "The best answer is [the_answer_letter]" in chats[0]["body"]["messages"][0]["content"]


def test_varied_readable_answers_are_not_flagged(endpoint_model, fake_openai):
    fake_openai.mode = "bad_logprobs"  # the fake answers a letter derived from each prompt
    run = _execute(endpoint_model, benchmarks=("arc_easy",), limit=24)
    result = BenchmarkResult.objects.get(run=run)
    assert result.unparsed == 0 and len(result.answer_stats) > 1 and sum(result.answer_stats.values()) == 24
    assert not run.flagged and run.flag_reasons == []


def test_a_loglikelihood_run_that_prefers_one_letter_still_ranks():
    # SmolLM2's quick run prefers "A" on MMLU/C-Eval/CMMLU by log-likelihood: a measurement, not a collapse.
    run = complete_run(model("org/small"), 0.3)
    BenchmarkResult.objects.filter(run=run, benchmark__in=["mmlu", "ceval", "cmmlu"]).update(
        answer_stats={"A": 96, "B": 4}
    )
    verdict = services.eval_run_verdict(run)
    assert verdict["method"] == "loglikelihood" and not verdict["flagged"]


def test_a_flagged_run_ranks_only_after_staff_accept_it(api_client, alice, sam_staff):
    good = complete_run(model("org/good"), 0.5)
    flagged = complete_run(
        model("org/constant"),
        0.6,
        flagged=True,
        flag_reasons=[{"benchmark": "winogrande", "rule": "collapsed", "answer": "A", "share": 1.0, "n": 100}],
    )
    ids, _body = _board_ids(api_client)
    assert ids == ["org/good"]
    # The board page names the flagged run and why it is not ranked.
    html = api_client.get("/").content.decode()
    assert f'href="/runs/{flagged.pk}/"' in html and "winogrande: answers collapsed onto A" in html

    url = f"/api/v1/evaluations/{flagged.pk}/accept-flag/"
    assert api_client.post(url).status_code == 401
    assert _client(api_client, alice).post(url).status_code == 403
    api_client.credentials()
    response = _client(api_client, sam_staff).post(url)
    assert response.status_code == 200, response.content
    assert response.json()["flag"]["flagged"] is True and response.json()["flag"]["accepted"] is True
    assert api_client.post(url).status_code == 409  # already accepted
    assert api_client.post(f"/api/v1/evaluations/{good.pk}/accept-flag/").status_code == 409  # not flagged

    leaderboard_cache_bump()  # what the service's after-commit hook does
    api_client.credentials()
    ids, _body = _board_ids(api_client)
    assert ids == ["org/constant", "org/good"]


def test_staff_accept_flags_from_the_admin(sam_staff):
    flagged = complete_run(model("org/constant"), 0.6, flagged=True, flag_reasons=[])
    request = RequestFactory().post("/admin/evals/evalrun/")
    request.user = sam_staff
    request._messages = type("Messages", (), {"add": lambda *a, **k: None})()
    admin = site._registry[EvalRun]
    admin.accept_flags(request, EvalRun.objects.filter(pk=flagged.pk))
    flagged.refresh_from_db()
    assert flagged.flag_accepted_at is not None and flagged.flag_accepted_by == sam_staff


def test_the_accept_flag_endpoint_is_in_the_openapi_schema(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/evaluations/{run_id}/accept-flag/"]["post"]
    assert operation["operationId"] == "evaluations_accept_flag"
    assert {"200", "403", "409"} <= set(operation["responses"])
    leaderboard_params = {p["name"] for p in schema["paths"]["/api/v1/leaderboard/"]["get"]["parameters"]}
    assert "method" in leaderboard_params


def test_the_run_page_shows_the_flag_the_variant_and_the_tokens(client, endpoint_model, fake_openai):
    fake_openai.mode = "bad_logprobs"
    fake_openai.reply = "The best answer is A."
    run = _execute(endpoint_model, benchmarks=("winogrande",), limit=24)
    html = client.get(f"/runs/{run.pk}/").content.decode()
    assert "Flagged as degenerate: not ranked until staff accept it." in html
    assert "winogrande: answers collapsed onto A (100.0% of 24 parsed answers)" in html
    assert "winogrande_chat" in html and "A=24" in html
    assert f"{run.prompt_tokens} prompt + {run.completion_tokens} completion tokens" in html


# ------------------------------------------------------------------------------------------ separate boards


def test_generative_scores_rank_on_their_own_board_never_with_loglikelihood_ones(api_client, client):
    complete_run(model("org/open-ll"), 0.5)
    complete_run(model("org/closed-chat", weights="closed"), 0.8, method="generative")
    complete_run(model("org/both"), 0.7, method="mixed")

    ids, body = _board_ids(api_client)
    assert ids == ["org/open-ll"] and body["method"] == "loglikelihood"
    ids, body = _board_ids(api_client, method="generative")
    assert ids == ["org/closed-chat"] and body["method"] == "generative"
    assert api_client.get(LEADERBOARD, {"method": "both"}).status_code == 400
    response = api_client.get("/api/v1/leaderboard.csv", {"method": "generative"})
    csv = b"".join(response.streaming_content).decode()
    assert "org/closed-chat" in csv and "org/open-ll" not in csv

    html = client.get("/?method=generative").content.decode()
    assert "org/closed-chat" in html and "org/open-ll" not in html
    assert "never averaged or ranked with them" in html
    assert 'data-method="generative" aria-current="page"' in html
    assert "org/open-ll" in client.get("/").content.decode()


def test_the_model_page_shows_the_generative_summary_and_the_run_method(client):
    closed = model("org/chat", weights="closed")
    run = complete_run(closed, 0.8, method="generative")
    html = client.get("/models/org/chat/").content.decode()
    assert "rank 1 of 1" in html and "method-generative" in html and f'href="/runs/{run.pk}/"' in html


def test_the_model_page_says_a_flagged_run_is_not_ranked(client):
    flagged = complete_run(model("org/constant"), 0.6, flagged=True, flag_reasons=[])
    html = client.get("/models/org/constant/").content.decode()
    assert f'data-flagged="{flagged.pk}"' in html and "flagged as degenerate: not ranked" in html


# ------------------------------------------------------------------------------------------ tokens


def test_tokens_are_stored_per_item_benchmark_and_run(endpoint_model, fake_openai):
    fake_openai.mode = "bad_logprobs"
    run = _execute(endpoint_model, benchmarks=("arc_easy", "winogrande"), limit=5)
    items = list(ItemResult.objects.filter(run=run))
    assert all(i.prompt_tokens and i.completion_tokens == 1 for i in items)  # one-letter answers
    for result in BenchmarkResult.objects.filter(run=run):
        mine = [i for i in items if i.benchmark == result.benchmark]
        assert result.prompt_tokens == sum(i.prompt_tokens for i in mine)
        assert result.completion_tokens == len(mine)
    assert run.prompt_tokens == sum(i.prompt_tokens for i in items) and run.completion_tokens == 10
    body = fake_openai.requests[-1]["body"]
    assert run.settings["backend"]["usage"]["prompt_tokens"] >= run.prompt_tokens  # the probe's tokens too
    assert body["messages"][0]["content"] == ItemResult.objects.filter(run=run).order_by("-id").first().prompt


def test_log_likelihood_runs_count_the_echoed_prompt_tokens(endpoint_model, fake_openai):
    run = _execute(endpoint_model, benchmarks=("arc_easy",), limit=3)
    assert run.method == "loglikelihood"
    item = ItemResult.objects.filter(run=run).first()
    # One echo request per choice; each reports its prompt tokens and no completion.
    assert item.prompt_tokens > 0 and item.completion_tokens == 0 and len(item.choices) >= 3


def test_the_quick_run_estimate_scales_measured_tokens_to_the_suite(endpoint_model, fake_openai):
    fake_openai.mode = "bad_logprobs"
    run = _execute(endpoint_model, benchmarks=("arc_easy",), limit=5)
    result = BenchmarkResult.objects.get(run=run)
    estimate = quick_run_token_estimate(model=endpoint_model)
    items = quick_run_items()["arc_easy"]
    assert estimate.per_benchmark["arc_easy"] == {
        "items": items,
        "prompt_tokens": round(result.prompt_tokens / 5 * items),
        "completion_tokens": round(result.completion_tokens / 5 * items),
    }
    assert estimate.measured_benchmarks == ["arc_easy"] and "mmlu" in estimate.missing_benchmarks
    # Another closed model without runs gets the same per-item figures, marked as borrowed.
    other = model("acme/other-chat", weights="closed", endpoint_base_url=fake_openai.base_url)
    borrowed = quick_run_token_estimate(model=other)
    assert borrowed.borrowed_benchmarks == ["arc_easy"] and borrowed.basis == "other_models"
    assert borrowed.prompt_tokens == estimate.prompt_tokens


def test_the_model_page_shows_the_probed_method_and_the_cost_of_a_quick_run(client, endpoint_model, fake_openai):
    html = client.get(f"/models/{endpoint_model.repo_id}/").content.decode()
    assert "not probed yet" in html and "no endpoint run has reported its tokens" in html

    fake_openai.mode = "bad_logprobs"
    run = _execute(endpoint_model, benchmarks=("arc_easy",), limit=5)
    probe = endpoint_probe(model=endpoint_model)
    assert probe.method == "generative" and probe.run_id == run.pk
    html = client.get(f"/models/{endpoint_model.repo_id}/").content.decode()
    assert "generative: no usable prompt log-probabilities" in html and f"probed by run #{run.pk}" in html
    estimate = quick_run_token_estimate(model=endpoint_model)
    assert f"about {estimate.total} tokens" in html
