"""The database restarts while a worker evaluates or syncs: the task fails cleanly, is retried, and
no half-written row is left behind.

A restart, as the application sees it, is PostgreSQL terminating its connections ("terminating
connection due to administrator command"). The shared server is never restarted here: the test
terminates every other connection to its own test database with pg_terminate_backend, which kills
the worker's connection mid-task exactly as a restart would.
"""

from __future__ import annotations

import pytest
from django.db import connection

from evals.models import EvalRun, ItemResult
from tests.evals.fakeopenai import FakeOpenAI
from tests.evals.runfixtures import make_endpoint_model
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 12


def _terminate_other_connections() -> int:
    """Kill every connection to this test database but the test's own; how many were killed."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_an_evaluation_whose_database_connection_dies_is_retried_and_finishes_with_every_item_once(
    celery_worker, openai_env, settings
):
    from evals import services

    settings.EVAL_DB_RETRY_DELAY = 1  # production waits 30 s before the retry
    with FakeOpenAI(mode="good", delay=0.15) as server:
        model = make_endpoint_model(server.base_url)
        run = services.eval_run_create(
            model=model, suite="quick", benchmarks=["arc_easy"], limit=LIMIT, backend="openai", batch_size=2
        )
        # Wait until the worker has stored some items, then "restart" the database under it.
        wait_for(
            lambda: EvalRun.objects.filter(pk=run.pk, status="running", progress_done__gte=2).exists(),
            timeout=60,
            interval=0.05,
            what="the run to store its first items",
        )
        killed = _terminate_other_connections()
        assert killed >= 1
        stored_at_kill = ItemResult.objects.filter(run=run).count()
        wait_for(
            lambda: EvalRun.objects.filter(pk=run.pk, status__in=EvalRun.FINISHED_STATUSES).first(),
            timeout=120,
            interval=0.2,
            what="the run to finish after the database restart",
        )
    run.refresh_from_db()
    assert run.status == EvalRun.Status.SUCCEEDED, run.error
    items = list(ItemResult.objects.filter(run=run).values_list("benchmark", "position"))
    # Every item exactly once: nothing lost, nothing scored twice, nothing half-written.
    assert sorted(items) == [("arc_easy", position) for position in range(LIMIT)]
    assert run.progress_done == run.progress_total == LIMIT
    assert run.attempts >= 2
    assert stored_at_kill < LIMIT
    assert run.results.count() == 1


def test_a_sync_whose_database_connection_dies_records_it_writes_no_half_model_and_the_next_sync_completes(
    celery_worker, settings
):
    from registry.models import LanguageModel, SyncRun
    from registry.tasks import hub_sync_task
    from tests.hubfake import FakeHub, fixture_models

    records = fixture_models()
    ids = [record["id"] for record in records][:4]
    with FakeHub(records) as hub:
        settings.HF_ENDPOINT = hub.url
        # The second model answers slowly (well within the client's timeout): the kill lands then.
        hub.add_fault("hang", model=ids[1], hang_seconds=2.0, times=1)
        run = SyncRun.objects.create(trigger="api", scope={"models": ids})
        hub_sync_task.delay(trigger="api", models=ids, sync_run_id=run.pk)
        wait_for(lambda: hub.requests_to(f"/api/models/{ids[1]}"), timeout=30, interval=0.05, what="the slow model")
        assert _terminate_other_connections() >= 1
        settled = wait_for(
            lambda: SyncRun.objects.filter(pk=run.pk).exclude(status="running").first(),
            timeout=60,
            interval=0.2,
            what="the SyncRun to settle after its worker's connection died",
        )
        # No half-written model: every model that exists has its sha (each is written in one transaction).
        for model in LanguageModel.objects.filter(repo_id__in=ids):
            assert model.hub_sha and model.organization_id is not None, model.repo_id
        # The run says what happened: it did not claim a clean success while a model failed to be written.
        written = set(LanguageModel.objects.filter(repo_id__in=ids).values_list("repo_id", flat=True))
        if written != set(ids):
            assert settled.status in (SyncRun.Status.PARTIAL, SyncRun.Status.FAILED)
            assert settled.errors
        # The next sync (beat's, or a retry) completes the registry.
        again = SyncRun.objects.create(trigger="api", scope={"models": ids})
        hub_sync_task.delay(trigger="api", models=ids, sync_run_id=again.pk)
        finished = wait_for(
            lambda: SyncRun.objects.filter(pk=again.pk).exclude(status="running").first(),
            timeout=60,
            interval=0.2,
            what="the next sync to finish",
        )
    assert finished.status == SyncRun.Status.SUCCEEDED, finished.errors
    assert set(LanguageModel.objects.filter(repo_id__in=ids).values_list("repo_id", flat=True)) == set(ids)
