"""Celery wiring of the eval tasks: queue, acks, limits, visibility timeout, beat, and a database fault."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import OperationalError

from evals import services
from evals.models import EvalRun, ItemResult
from evals.tasks import eval_run_execute_task, eval_runs_dispatch_task, eval_runs_reap_task
from tests.evals.fakeopenai import FakeOpenAI
from tests.evals.runfixtures import make_endpoint_model, on_batch_storing
from tests.helpers import wait_for


def test_the_eval_task_is_idempotent_safe_on_the_evals_queue_with_limits():
    from config.celery import app

    assert app.amqp.router.route({}, eval_run_execute_task.name)["queue"].name == "evals"
    assert eval_run_execute_task.acks_late and eval_run_execute_task.reject_on_worker_lost
    assert eval_run_execute_task.soft_time_limit == settings.EVAL_SOFT_TIME_LIMIT
    assert eval_run_execute_task.time_limit == settings.EVAL_TIME_LIMIT > settings.EVAL_SOFT_TIME_LIMIT


def test_redis_redelivers_only_after_the_longest_hard_limit():
    # A shorter visibility timeout would hand a long evaluation to a second worker while it still runs.
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > settings.EVAL_TIME_LIMIT


def test_beat_runs_the_reaper_and_the_dispatcher():
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {eval_runs_reap_task.name, eval_runs_dispatch_task.name} <= scheduled


@pytest.mark.django_db(transaction=True)
def test_a_database_error_mid_run_hands_the_run_back_and_the_retry_resumes_it(celery_worker, openai_env, settings):
    """The database drops during a batch: that batch is rolled back, the task retries, nothing is counted twice."""
    settings.EVAL_DB_RETRY_DELAY = 0.5
    failures = {"n": 0}

    def one_outage_after_the_first_batch(sender, run_id, **kwargs):
        if failures["n"] == 0 and ItemResult.objects.filter(run_id=run_id).count() >= 4:
            failures["n"] += 1
            raise OperationalError("server closed the connection unexpectedly")

    with on_batch_storing(one_outage_after_the_first_batch), FakeOpenAI() as server:
        model = make_endpoint_model(server.base_url)
        run = services.eval_run_create(
            model=model, suite="quick", benchmarks=["arc_easy"], limit=12, backend="openai", batch_size=4
        )
        run = wait_for(
            lambda: EvalRun.objects.filter(pk=run.pk, status__in=EvalRun.FINISHED_STATUSES).first(),
            timeout=60,
            interval=0.2,
            what="the retried run to finish",
        )
    assert failures["n"] == 1
    assert run.status == EvalRun.Status.SUCCEEDED, run.error
    assert run.attempts == 2  # the retry claimed it again and resumed
    items = ItemResult.objects.filter(run=run)
    assert items.count() == 12 == run.progress_done and items.values("item_id").distinct().count() == 12
