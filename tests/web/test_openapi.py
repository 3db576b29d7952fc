"""The OpenAPI schema: generated without a warning, valid OpenAPI 3, every API path and filter documented,
and every error response described by the one shared ErrorResponse body."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS

API_PATHS = {
    "/api/v1/models/": {"get"},
    "/api/v1/models/{org}/{name}/": {"get"},
    "/api/v1/models/{org}/{name}/scores/": {"get"},
    "/api/v1/syncs/": {"get", "post"},
    "/api/v1/leaderboard/": {"get"},
    "/api/v1/leaderboard.csv": {"get"},
    "/api/v1/benchmarks/": {"get"},
    "/api/v1/benchmarks/{key}/": {"get"},
    "/api/v1/suites/": {"get"},
    "/api/v1/evaluations/": {"get", "post"},
    "/api/v1/evaluations/{run_id}/": {"get"},
    "/api/v1/evaluations/{run_id}/cancel/": {"post"},
    "/api/v1/evaluations/{run_id}/accept-flag/": {"post"},
    "/api/v1/evaluations/{run_id}/items/": {"get"},
    "/api/v1/evaluations/{run_id}/export/": {"get"},
    "/api/v1/evaluations/{run_id}/export/samples/": {"get"},
    "/api/v1/evaluations/{run_id}/publish/": {"post"},
    "/api/v1/imports/": {"get", "post"},
    "/api/v1/imports/{import_id}/": {"get"},
    "/api/v1/imports/jobs/{job_id}/": {"get"},
}
ERROR_REF = "#/components/schemas/ErrorResponse"


@pytest.fixture(scope="module")
def schema(tmp_path_factory) -> dict:
    """The schema as `manage.py spectacular --validate --fail-on-warn` writes it (it raises on any warning)."""
    path = tmp_path_factory.mktemp("openapi") / "schema.yaml"
    GENERATOR_STATS.reset()  # warnings are counted per process: count only this generation's
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    assert not GENERATOR_STATS, "schema generation warned or failed"
    return yaml.safe_load(path.read_text())


def _parameters(schema: dict, path: str) -> dict[str, dict]:
    return {p["name"]: p for p in schema["paths"][path]["get"]["parameters"] if p["in"] == "query"}


def test_schema_generation_passes_validation_with_no_warning(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "LLM Ladder API"


def test_schema_documents_every_api_path_with_its_methods(schema):
    documented = {path: set(ops) for path, ops in schema["paths"].items() if path.startswith("/api/v1/")}
    assert documented == API_PATHS


def test_schema_documents_the_model_filters_with_their_choices(schema):
    params = _parameters(schema, "/api/v1/models/")
    assert {
        "weights",
        "language",
        "license",
        "organization",
        "min_params",
        "max_params",
        "modality",
        "search",
        "ordering",
        "page",
        "per_page",
    } <= set(params)
    assert set(params["weights"]["schema"]["enum"]) == {"open", "closed"}
    assert "-parameters" in params["ordering"]["schema"]["enum"]


def test_schema_documents_the_leaderboard_filters_and_parameter_counts(schema):
    params = _parameters(schema, "/api/v1/leaderboard/")
    assert {
        "suite",
        "board",
        "weights",
        "language",
        "license",
        "commercial",
        "organization",
        "min_params",
        "max_params",
        "size",
        "modality",
        "base",
        "search",
        "ordering",
        "page",
        "per_page",
    } <= set(params)
    assert set(params["board"]["schema"]["enum"]) == {"overall", "en", "zh"}
    # "7B" is a valid parameter count: documented as a string with the accepted pattern, not an int.
    assert params["min_params"]["schema"]["type"] == "string" and params["min_params"]["schema"]["pattern"]
    assert set(_parameters(schema, "/api/v1/leaderboard.csv")) == set(params)


def test_every_error_response_is_the_shared_error_body(schema):
    error = schema["components"]["schemas"]["ErrorDetail"]
    assert set(error["required"]) == {"code", "message"}
    assert {"field", "fields", "retry_after"} <= set(error["properties"])

    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            errors = {code: r for code, r in operation["responses"].items() if code.startswith(("4", "5"))}
            # A wrong token is refused everywhere, so every operation documents at least its 401.
            assert "401" in errors, (method, path)
            for code, response in errors.items():
                assert response["content"] == {"application/json": {"schema": {"$ref": ERROR_REF}}}, (
                    method,
                    path,
                    code,
                )
                assert response["description"], (method, path, code)


def test_error_responses_match_what_each_operation_can_answer(schema):
    def codes(path: str, method: str) -> set[str]:
        return set(schema["paths"][path][method]["responses"])

    assert {"400", "401"} <= codes("/api/v1/models/", "get")
    assert "404" in codes("/api/v1/models/{org}/{name}/", "get")
    assert {"400", "401", "403", "404", "409", "413", "415", "429", "503"} <= codes("/api/v1/evaluations/", "post")
    assert {"401", "403", "404", "409"} <= codes("/api/v1/evaluations/{run_id}/cancel/", "post")
    assert {"401", "403"} <= codes("/api/v1/syncs/", "get")
    assert {"401", "403", "404", "409", "502", "503"} <= codes("/api/v1/evaluations/{run_id}/publish/", "post")
    # Submissions are throttled per user and anonymous readers per address: 429 with Retry-After.
    assert "429" in codes("/api/v1/evaluations/", "post") and "429" in codes("/api/v1/leaderboard/", "get")
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if "429" in operation["responses"]:
                assert "Retry-After" in operation["responses"]["429"]["headers"], (method, path)
    # A list without inputs cannot be a bad request.
    assert "400" not in codes("/api/v1/suites/", "get")


def test_cursor_paginated_lists_are_documented_as_pages(schema):
    for path in ("/api/v1/evaluations/", "/api/v1/evaluations/{run_id}/items/"):
        ref = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        page = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert {"next", "previous", "results"} <= set(page["properties"]), path
