"""Fixtures of the operations tests: a fake Hub, a seeded registry, API tokens for the personas."""

from __future__ import annotations

import pytest

from tests.evals.runfixtures import openai_env  # noqa: F401 - short openai backend timeouts


@pytest.fixture
def fake_hub(settings):
    """tests/hubfake serving its fixture models; the app's Hub client points at it."""
    from tests.hubfake import FakeHub, fixture_models

    with FakeHub(fixture_models()) as hub:
        settings.HF_ENDPOINT = hub.url
        yield hub


@pytest.fixture
def seeded_registry(db):
    """The seed catalog loaded (open and closed models, licenses, languages)."""
    from django.core.management import call_command

    call_command("load_catalog", verbosity=0)


@pytest.fixture
def alice_token(alice) -> str:
    from rest_framework.authtoken.models import Token

    return Token.objects.create(user=alice).key


@pytest.fixture
def sam_token(sam_staff) -> str:
    from rest_framework.authtoken.models import Token

    return Token.objects.create(user=sam_staff).key
