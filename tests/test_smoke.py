"""The wiring works: settings use the real services, the worker consumes from the real Redis."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from config.celery import app
from tests.helpers import wait_for


def test_tests_run_on_postgresql_and_redis():
    assert connection.vendor == "postgresql"
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    assert not getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False)


@app.task(name="tests.smoke_write_org")
def smoke_write_org(slug: str) -> None:
    from registry.models import Organization

    Organization.objects.create(slug=slug, name=slug)


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_consumes_a_task_from_redis(celery_worker):
    from registry.models import Organization

    smoke_write_org.delay("smoke-org")
    wait_for(
        lambda: Organization.objects.filter(slug="smoke-org").exists(), timeout=20, what="the worker's organization"
    )
