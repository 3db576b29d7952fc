"""The evaluations REST API: submit (202/200), errors with one body shape, throttle, list, detail, cancel, items."""

from __future__ import annotations

import json

import pytest
from rest_framework.authtoken.models import Token

from evals import services
from evals.models import EvalRun
from tests.evals.runfixtures import make_smollm2

pytestmark = pytest.mark.django_db

URL = "/api/v1/evaluations/"
SMOL_BASE = "HuggingFaceTB/SmolLM2-135M"


@pytest.fixture(autouse=True)
def _fresh_throttle(monkeypatch, fresh_cache):
    monkeypatch.delenv("HF_TOKEN", raising=False)


@pytest.fixture
def alice_client(api_client, alice):
    token = Token.objects.create(user=alice)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api_client


def _error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    return body["error"]


def test_submitting_with_a_token_queues_a_run_and_answers_202(alice_client, fake_hub):
    response = alice_client.post(URL, {"model": SMOL_BASE, "revision": "main", "suite": "quick"}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["duplicate"] is False and body["model"] == SMOL_BASE
    assert body["provenance"]["model_sha"] == fake_hub.model(SMOL_BASE)["sha"]
    assert body["progress"] == {"done": 0, "total": 0, "percent": 0}
    assert EvalRun.objects.filter(pk=body["id"], submitted_by__username="alice").exists()


def test_a_duplicate_submission_answers_200_with_the_existing_run(alice_client, fake_hub):
    first = alice_client.post(URL, {"model": SMOL_BASE}, format="json").json()
    response = alice_client.post(URL, {"model": SMOL_BASE}, format="json")
    assert response.status_code == 200
    assert response.json()["id"] == first["id"] and response.json()["duplicate"] is True
    assert "exists" in response.json()["message"]


def test_anonymous_submissions_get_401_with_the_error_body(api_client, fake_hub):
    response = api_client.post(URL, {"model": SMOL_BASE}, format="json")
    assert response.status_code == 401
    assert _error(response)["code"] == "not_authenticated"
    assert not EvalRun.objects.exists()


def test_a_bad_token_is_refused(api_client, fake_hub):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api_client.post(URL, {"model": SMOL_BASE}, format="json")
    assert response.status_code == 401 and _error(response)["code"] == "authentication_failed"


def test_refused_models_get_a_precise_400_naming_the_field(alice_client, fake_hub):
    response = alice_client.post(URL, {"model": "google-bert/bert-base-uncased"}, format="json")
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "not_text_generation" and error["field"] == "model"
    assert "fill-mask" in error["message"]


def test_an_unknown_model_is_404(alice_client, fake_hub):
    response = alice_client.post(URL, {"model": "ladder-fixtures/nope"}, format="json")
    assert response.status_code == 404 and _error(response)["code"] == "model_not_found"


def test_invalid_input_types_are_400_with_the_field(alice_client, fake_hub):
    response = alice_client.post(URL, {"model": SMOL_BASE, "limit": "many"}, format="json")
    assert response.status_code == 400
    error = _error(response)
    assert error["field"] == "limit" and error["code"] == "invalid"
    response = alice_client.post(URL, {"revision": "main"}, format="json")
    assert response.status_code == 400 and _error(response)["field"] == "model"


def test_non_json_and_oversized_bodies_are_4xx_not_500(alice_client, settings):
    response = alice_client.post(URL, data="{not json", content_type="application/json")
    assert response.status_code == 400 and _error(response)["code"] == "parse_error"
    big = json.dumps({"model": "a/b", "pad": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})
    response = alice_client.post(URL, data=big, content_type="application/json")
    assert response.status_code == 413 and _error(response)["code"] == "payload_too_large"
    response = alice_client.post(URL, data="<xml/>", content_type="application/xml")
    assert response.status_code == 415 and _error(response)["code"] == "unsupported_media_type"
    assert not EvalRun.objects.exists()


def test_unicode_and_chinese_model_ids_are_refused_cleanly(alice_client, fake_hub):
    response = alice_client.post(URL, {"model": "百度/文心一言"}, format="json")
    assert response.status_code == 400 and _error(response)["code"] == "invalid_model_id"
    assert "文心一言" in _error(response)["message"]


def test_submissions_are_throttled_per_user(alice_client, fake_hub, settings):
    # The per-minute guard (submit_burst) counts every POST; duplicates never use the daily quota.
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    limit = int(rates["submit_burst"].split("/")[0])
    for _ in range(limit):
        assert alice_client.post(URL, {"model": SMOL_BASE}, format="json").status_code in (200, 202)
    response = alice_client.post(URL, {"model": SMOL_BASE}, format="json")
    assert response.status_code == 429
    error = _error(response)
    assert error["code"] == "throttled" and error["retry_after"] > 0
    assert int(response["Retry-After"]) == error["retry_after"]
    # Reading is not throttled.
    assert alice_client.get(URL).status_code == 200


def test_the_list_is_cursor_paginated_and_filtered(api_client, alice):
    model = make_smollm2()
    runs = [
        services.eval_run_create(model=model, suite="quick", benchmarks=["arc_easy"], limit=i + 1, dispatch=False)
        for i in range(3)
    ]
    EvalRun.objects.filter(pk=runs[0].pk).update(status="failed", error="boom")
    response = api_client.get(URL, {"page_size": 2})
    assert response.status_code == 200
    body = response.json()
    assert [r["id"] for r in body["results"]] == [runs[2].pk, runs[1].pk] and body["next"]
    rest = api_client.get(body["next"]).json()
    assert [r["id"] for r in rest["results"]] == [runs[0].pk]
    failed = api_client.get(URL, {"status": "failed"}).json()["results"]
    assert [r["id"] for r in failed] == [runs[0].pk]
    # The public gets a code and a plain message; the stored text is for staff (error_detail).
    assert (failed[0]["error_code"], failed[0]["error"], failed[0]["error_detail"]) == (
        "failed",
        "The evaluation failed.",
        None,
    )
    assert api_client.get(URL, {"model": "nobody/none"}).json()["results"] == []
    response = api_client.get(URL, {"status": "exploded"})
    assert response.status_code == 400 and _error(response)["field"] == "status"


def test_the_detail_shows_progress_results_and_provenance(api_client, endpoint_model):
    run = services.eval_run_create(
        model=endpoint_model, suite="quick", benchmarks=["arc_easy"], limit=6, backend="openai", dispatch=False
    )
    services.eval_run_execute(run_id=run.pk)
    body = api_client.get(f"{URL}{run.pk}/").json()
    assert body["status"] == "succeeded" and body["progress"] == {"done": 6, "total": 6, "percent": 100}
    result = body["results"]["arc_easy"]
    assert result["n"] == 6 and result["method"] == "loglikelihood" and result["n_shot"] == 0
    assert set(result["metrics"]) >= {"acc", "acc_norm"} and result["value"] == result["metrics"]["acc"]
    provenance = body["provenance"]
    assert provenance["run_id"] == run.pk and provenance["engine_version"] and provenance["suite"] == "quick"
    assert provenance["settings"]["limit"] == 6
    assert body["timings"]["duration_seconds"] is not None and body["is_partial"] is True
    assert api_client.get(f"{URL}999999/").status_code == 404
    assert _error(api_client.get(f"{URL}999999/"))["code"] == "not_found"


def test_items_are_cursor_paginated_and_filtered_by_benchmark(api_client, endpoint_model):
    run = services.eval_run_create(
        model=endpoint_model, suite="quick", benchmarks=["arc_easy"], limit=5, backend="openai", dispatch=False
    )
    services.eval_run_execute(run_id=run.pk)
    body = api_client.get(f"{URL}{run.pk}/items/", {"page_size": 3}).json()
    assert [i["position"] for i in body["results"]] == [0, 1, 2]
    item = body["results"][0]
    assert item["benchmark"] == "arc_easy" and item["prompt"] and len(item["loglikelihoods"]) == len(item["choices"])
    assert len(api_client.get(body["next"]).json()["results"]) == 2
    assert api_client.get(f"{URL}{run.pk}/items/", {"benchmark": "mmlu"}).json()["results"] == []


def test_cancel_is_for_the_submitter_or_staff(api_client, alice, sam_staff, django_user_model):
    model = make_smollm2()
    run = services.eval_run_create(model=model, suite="quick", user=alice, dispatch=False)
    url = f"{URL}{run.pk}/cancel/"
    assert api_client.post(url).status_code == 401
    mallory = django_user_model.objects.create_user("mallory", password="pw-mallory-1")
    api_client.force_authenticate(mallory)
    response = api_client.post(url)
    assert response.status_code == 403 and _error(response)["code"] == "permission_denied"
    api_client.force_authenticate(alice)
    response = api_client.post(url)
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    response = api_client.post(url)
    assert response.status_code == 409 and _error(response)["code"] == "run_finished"


def test_the_openapi_schema_describes_the_evaluation_endpoints(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    paths = schema["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/evaluations/"])
    assert "/api/v1/evaluations/{run_id}/cancel/" in paths and "/api/v1/evaluations/{run_id}/items/" in paths
    assert "202" in paths["/api/v1/evaluations/"]["post"]["responses"]


@pytest.mark.parametrize("runs", [3, 30])
def test_the_list_query_count_does_not_grow_with_runs(api_client, django_assert_num_queries, runs):
    from evals.models import BenchmarkResult

    model = make_smollm2()
    for i in range(runs):
        run = services.eval_run_create(model=model, suite="quick", benchmarks=["arc_easy"], limit=i + 1, dispatch=False)
        BenchmarkResult.objects.create(run=run, benchmark="arc_easy", primary_metric="acc", value=0.5, n=i + 1)
    # runs (with model, organization, submitter) + their results
    with django_assert_num_queries(2):
        response = api_client.get(URL, {"page_size": 50})
    assert len(response.json()["results"]) == runs
    assert all(r["results"]["arc_easy"]["value"] == 0.5 for r in response.json()["results"])


def test_the_submission_quota_counts_runs_from_the_database_like_the_submit_page(alice_client, alice, fake_hub):
    """The API request throttle lives in one process's cache; the quota of runs is in the database.

    Runs alice created elsewhere (the submit page, another web process) count against the same limit,
    and a refusal loses nothing: no run is created.
    """
    from tests.evals.runfixtures import make_model

    other = make_model("acme/other")
    for _ in range(5):
        EvalRun.objects.create(model=other, suite="quick", submitted_by=alice, is_partial=True, limit=1)
    response = alice_client.post(URL, {"model": SMOL_BASE}, format="json")
    assert response.status_code == 429
    error = _error(response)
    assert error["code"] == "submission_limit" and "5 submissions per day" in error["message"]
    assert EvalRun.objects.filter(submitted_by=alice).count() == 5
