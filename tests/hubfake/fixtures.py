"""pytest fixtures for the fake Hub (imported by tests/registry/conftest.py; others may import them too)."""

from __future__ import annotations

import pytest

from tests.hubfake import FakeHub, fixture_models


@pytest.fixture
def fake_hub(settings):
    """A running fake Hub with the fixture models (page size 4, so listings paginate).

    settings.HF_ENDPOINT points at it, so the real huggingface_hub client talks to it over HTTP;
    HUB_TIMEOUT is short so a hanging request fails fast.
    """
    with FakeHub(fixture_models(), page_size=4) as hub:
        settings.HF_ENDPOINT = hub.url
        settings.HUB_TIMEOUT = 2.0
        settings.HUB_BACKOFF_BASE = 0.01
        settings.HUB_MAX_RETRIES = 3
        yield hub
