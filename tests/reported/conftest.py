"""Fixtures of the reported-scores tests: the fake Hub, the real seed catalog, runs built with the ORM."""

from __future__ import annotations

import pytest

from tests.hubfake.fixtures import fake_hub  # noqa: F401
from tests.web.conftest import chromium, chromium_page  # noqa: F401


@pytest.fixture
def catalog(db):
    """A fresh install: the real seed catalog loaded (models and their published scores), no runs."""
    from evals.selectors.leaderboard import leaderboard_cache_bump
    from registry.services.catalog import catalog_load

    counts = catalog_load()
    leaderboard_cache_bump()
    return counts


@pytest.fixture(autouse=True)
def _fresh_boards(fresh_cache):
    """Boards cached by an earlier test name rows that are gone now."""
