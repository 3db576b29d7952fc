"""The REST API fuzzed from its own OpenAPI schema (schemathesis): never a 5xx, responses as documented.

Bounded and deterministic: at most MAX_EXAMPLES generated requests per operation, derandomized
(hypothesis' fixed seed), no example database on disk. Requests go through the WSGI application in
process with a token: once as alice (a user), once as sam (staff), so the write paths and the staff-only
operations are exercised too.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

MAX_EXAMPLES = 25


def _load_schema() -> schemathesis.schemas.BaseSchema:
    """The live schema at /api/schema/, fetched through the WSGI application (no database needed)."""
    from config.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/schema/", application)


# Loaded at collection time (schemathesis' lazy fixture loader does not support pytest 9 yet).
schema = _load_schema()


@pytest.fixture(autouse=True)
def _fuzz_world(transactional_db, seeded_registry, fake_hub, fresh_cache):
    """Committed data, the fake Hub, and the test's own database connection kept across requests.

    fresh_cache: boards cached by earlier tests (the Django cache) name rows that are gone now.
    """
    # As Django's test client does: the WSGI handler would otherwise close the connection per request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture(params=["alice", "sam_staff"])
def persona_token(request) -> str:
    """A token of alice (a user: the write paths, refusals of staff actions) or sam (staff: syncs too)."""
    from rest_framework.authtoken.models import Token

    return Token.objects.create(user=request.getfixturevalue(request.param)).key


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_every_generated_request_without_a_server_error_and_as_documented(case, persona_token):
    case.call_and_validate(
        headers={"Authorization": f"Token {persona_token}"},
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )
