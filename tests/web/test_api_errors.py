"""Every REST API error has one body, `{"error": {"code", "message", "field"?, "fields"?}}`, on every endpoint."""

from __future__ import annotations

import json
import logging

import pytest
from django.db import OperationalError

from registry.models import SyncRun
from tests.evals.factories import EvalRunFactory

pytestmark = pytest.mark.django_db


def _error(response) -> dict:
    """The `error` object, after checking the body is that object and nothing else."""
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    return error


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/models/?min_params=lots", "min_params"),
        ("/api/v1/leaderboard/?weights=sometimes", "weights"),
        ("/api/v1/leaderboard.csv?suite=nope", "suite"),
        ("/api/v1/evaluations/?status=exploded", "status"),
    ],
)
def test_a_bad_query_parameter_answers_400_naming_it_on_every_endpoint(api_client, url, field):
    response = api_client.get(url)

    assert response.status_code == 400
    error = _error(response)
    assert error["field"] == field
    assert error["message"].startswith(f"{field}: ")
    assert error["fields"][field] and isinstance(error["fields"][field], list)


def test_every_invalid_field_of_a_request_is_listed_not_only_the_first(api_client):
    response = api_client.get("/api/v1/models/", {"min_params": "lots", "weights": "half-open", "size": "huge"})

    assert response.status_code == 400
    error = _error(response)
    assert {"min_params", "weights", "size"} <= set(error["fields"])
    assert error["field"] in error["fields"]


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("/api/v1/models/nobody/nothing/", "nobody/nothing"),
        ("/api/v1/benchmarks/nope/", "nope"),
        ("/api/v1/evaluations/987654/", "987654"),
        ("/api/v1/evaluations/987654/items/", "987654"),
    ],
)
def test_an_unknown_resource_answers_404_naming_what_was_looked_for(api_client, url, named):
    response = api_client.get(url)

    assert response.status_code == 404
    error = _error(response)
    assert error["code"] == "not_found" and named in error["message"]


def test_a_wrong_token_is_refused_with_401_even_on_public_endpoints(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = api_client.get("/api/v1/leaderboard/")

    assert response.status_code == 401
    assert _error(response)["code"] == "authentication_failed"
    assert response["WWW-Authenticate"] == "Token"


def test_staff_only_and_read_only_endpoints_answer_403_and_405(api_client, alice):
    api_client.force_authenticate(alice)

    forbidden = api_client.post("/api/v1/syncs/", {"authors": ["Qwen"]}, format="json")
    not_allowed = api_client.put("/api/v1/leaderboard/", {}, format="json")

    assert forbidden.status_code == 403 and _error(forbidden)["code"] == "permission_denied"
    assert not_allowed.status_code == 405 and _error(not_allowed)["code"] == "method_not_allowed"
    assert "PUT" in _error(not_allowed)["message"]
    assert not SyncRun.objects.exists()


def test_bad_bodies_answer_400_413_and_415_and_write_nothing(api_client, sam_staff, settings):
    api_client.force_authenticate(sam_staff)

    malformed = api_client.post("/api/v1/syncs/", data="{not json", content_type="application/json")
    big = json.dumps({"authors": ["x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)]})
    oversized = api_client.post("/api/v1/syncs/", data=big, content_type="application/json")
    xml = api_client.post("/api/v1/syncs/", data="<sync/>", content_type="application/xml")
    invalid = api_client.post("/api/v1/syncs/", {"limit": -1, "authors": "Qwen"}, format="json")

    assert malformed.status_code == 400 and _error(malformed)["code"] == "parse_error"
    assert oversized.status_code == 413 and _error(oversized)["code"] == "payload_too_large"
    assert xml.status_code == 415 and _error(xml)["code"] == "unsupported_media_type"
    assert "application/xml" in _error(xml)["message"]
    assert invalid.status_code == 400 and {"limit", "authors"} <= set(_error(invalid)["fields"])
    too_long = api_client.post("/api/v1/syncs/", {"authors": ["Qwen", "x" * 101]}, format="json")
    assert too_long.status_code == 400 and _error(too_long)["field"] == "authors.1"  # the list item, by index
    assert not SyncRun.objects.exists()


def test_an_unexpected_exception_answers_500_json_without_internals(api_client, monkeypatch, caplog):
    def broken():
        raise RuntimeError("password=hunter2 in /srv/ladder/secret.py")

    monkeypatch.setattr("evals.api.leaderboard.suite_infos", broken)

    with caplog.at_level(logging.ERROR, logger="config.api_errors"):
        response = api_client.get("/api/v1/suites/")

    assert response.status_code == 500
    assert _error(response) == {"code": "server_error", "message": "Internal server error."}
    assert b"hunter2" not in response.content and b"Traceback" not in response.content
    # The details are in the log, for the operator.
    logged = [r for r in caplog.records if r.name == "config.api_errors"]
    assert logged and logged[0].exc_info and "hunter2" in str(logged[0].exc_info[1])


def test_a_database_that_does_not_answer_is_a_503_with_retry_after(api_client, monkeypatch):
    def unreachable():
        raise OperationalError('connection to server at "10.1.2.3", port 5432 failed')

    monkeypatch.setattr("evals.api.leaderboard.suite_infos", unreachable)

    response = api_client.get("/api/v1/suites/")

    assert response.status_code == 503
    assert _error(response)["code"] == "unavailable"
    assert b"10.1.2.3" not in response.content
    assert int(response["Retry-After"]) > 0


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/api/v1/models/?license=mit%00", 400),
        ("/api/v1/models/?search=llama%00", 400),
        ("/api/v1/models/meta%00/llama/", 404),
        ("/api/v1/leaderboard/?organization=x%00", 400),
        ("/api/v1/evaluations/?model=a%00/b", 400),
        ("/api/v1/evaluations/{run}/items/?benchmark=arc%00", 400),
        ("/api/v1/benchmarks/arc%00/", 404),
    ],
)
def test_a_null_character_anywhere_is_refused_with_a_4xx_not_a_500(api_client, url, expected):
    # PostgreSQL text cannot hold NUL: such input must be refused before it reaches a query.
    run = EvalRunFactory()
    response = api_client.get(url.format(run=run.pk))

    assert response.status_code == expected
    assert _error(response)["code"] != "server_error"
