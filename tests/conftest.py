"""Shared fixtures: personas, a real in-process Celery worker on the real Redis, a fresh cache.

Tests use the real PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/ladder) and
the real Redis (CELERY_BROKER_URL, default db 15). Celery is never eager.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("LADDER_DATA_DIR", str(ROOT.parent / "shared" / "benchmarks"))
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import pytest  # noqa: E402


@pytest.fixture
def alice(db):
    """Alice is a signed-in user with no staff rights."""
    from django.contrib.auth.models import User

    return User.objects.create_user("alice", "alice@example.com", "alice-password-1")


@pytest.fixture
def sam_staff(db):
    """Sam is staff: may sync, cancel and edit closed-model endpoints."""
    from django.contrib.auth.models import User

    return User.objects.create_user("sam", "sam@example.com", "sam-password-1", is_staff=True, is_superuser=True)


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker thread consuming both queues from the real Redis broker.

    Needs committed data (transactional_db): the worker thread has its own database connection.
    """
    from celery.contrib.testing.worker import start_worker
    from django.db import connections

    from config.celery import app

    # Drop anything an earlier test left on the test broker's queues.
    with app.connection_for_write() as conn:
        for queue in ("celery", "evals"):
            try:
                conn.default_channel.queue_purge(queue)
            except Exception:  # the queue may not exist yet
                pass
    with start_worker(
        app, pool="solo", concurrency=1, perform_ping_check=False, queues=["celery", "evals"], shutdown_timeout=30
    ) as worker:
        yield worker
    connections.close_all()


@pytest.fixture
def fresh_cache():
    """An empty cache and stale leaderboards, before and after the test.

    For tests that must not see what an earlier test cached: boards naming rows that are gone, throttle
    counters, memoised leaderboard pages.
    """
    from django.core.cache import cache

    from evals.selectors.leaderboard import leaderboard_cache_bump

    cache.clear()
    leaderboard_cache_bump()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _english_after_each_test():
    """A test that switches to Chinese (translation.activate) must not leave the next test's messages in it."""
    yield
    from django.utils import translation

    translation.activate("en")
