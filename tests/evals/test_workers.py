"""Runs on real Celery workers over the real Redis: redelivery, broker outage, hanging endpoints, SIGKILL.

Every test commits its data (transactional_db) because the workers have their own database
connections; the SIGKILL test starts real `celery -A config worker` processes on the test database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from evals import services
from evals.models import BenchmarkResult, EvalRun, ItemResult
from tests.evals.fakeopenai import FakeOpenAI
from tests.evals.runfixtures import allow_local_endpoints, make_endpoint_model
from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def executions_of(task_name: str):
    """The list of executions of `task_name` (their kwargs) finished by workers in this process meanwhile."""
    from celery.signals import task_postrun

    done: list[dict] = []

    def record(sender=None, kwargs=None, **_: object) -> None:
        if sender is not None and sender.name == task_name:
            done.append(dict(kwargs or {}))

    task_postrun.connect(record, weak=False)
    try:
        yield done
    finally:
        task_postrun.disconnect(record)


def run_status(run_id: int) -> EvalRun:
    return EvalRun.objects.get(pk=run_id)


def finished(run_id: int):
    run = run_status(run_id)
    return run if run.status in EvalRun.FINISHED_STATUSES else None


@contextmanager
def broker_at(url: str):
    """Point the Celery app's publisher at another broker URL (e.g. a closed port), then restore it."""
    from kombu import pools

    from config.celery import app

    def reset_pools():
        # kombu keeps one global pool per broker URL: drop them all so the next publish connects anew.
        pools.reset()
        app._pool = None
        app.amqp._producer_pool = None

    # Celery reads CELERY_BROKER_URL from the environment before its configuration.
    old, old_env = app.conf.broker_url, os.environ.get("CELERY_BROKER_URL")
    app.conf.broker_url = os.environ["CELERY_BROKER_URL"] = url
    reset_pools()
    try:
        yield
    finally:
        app.conf.broker_url = old
        if old_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = old_env
        reset_pools()


def purge_queues():
    from config.celery import app

    with app.connection_for_write() as conn:
        for queue in ("celery", "evals"):
            try:
                conn.default_channel.queue_purge(queue)
            except Exception:  # the queue may not exist yet
                pass
        client = conn.default_channel.client
        client.delete("unacked", "unacked_index", "unacked_mutex")


@pytest.mark.django_db(transaction=True)
def test_a_redelivered_message_never_runs_a_run_twice(celery_worker, openai_env):
    with FakeOpenAI() as server, executions_of("evals.tasks.eval_run_execute_task") as executions:
        model = make_endpoint_model(server.base_url)
        run = services.eval_run_create(
            model=model, suite="quick", benchmarks=["arc_easy"], limit=8, backend="openai", batch_size=4
        )
        # The same run is delivered three times (a redelivery after a lost ack, a dispatcher resend).
        services.eval_run_enqueue(run_id=run.pk)
        services.eval_run_enqueue(run_id=run.pk)
        run = wait_for(lambda: finished(run.pk), timeout=60, what="the run to finish")
        wait_for(lambda: len(executions) >= 3, timeout=30, what="the extra deliveries to be consumed")
        requests = len(server.requests)
    run.refresh_from_db()
    assert run.status == EvalRun.Status.SUCCEEDED, run.error
    assert run.attempts == 1
    assert ItemResult.objects.filter(run=run).count() == 8 == run.progress_done
    # One probe (2 requests) and 8 items x 4 choices: the model was asked once per choice, not three times.
    assert requests == 2 + sum(len(i.choices) for i in ItemResult.objects.filter(run=run))


@pytest.mark.django_db(transaction=True)
def test_a_submission_while_the_broker_is_down_is_kept_and_dispatched_once_it_is_back(
    request, openai_env, settings, alice
):
    """The broker is down when a user submits: stored as queued, the user is told, sent later, run once."""
    from rest_framework.test import APIClient

    settings.EVAL_DISPATCH_GRACE = 0
    purge_queues()
    with FakeOpenAI() as server:
        model = make_endpoint_model(server.base_url)
        client = APIClient()
        client.force_authenticate(alice)
        with broker_at("redis://127.0.0.1:1/4"):  # nothing listens on port 1
            response = client.post(
                "/api/v1/evaluations/",
                {"model": model.repo_id, "backend": "openai", "benchmarks": ["arc_easy"], "limit": 6},
                format="json",
            )
            assert response.status_code == 202, response.content
            assert "cannot be reached" in response.json()["message"]
            run_id = response.json()["id"]
            assert services.eval_runs_dispatch() == 0  # still down: nothing sent, nothing lost
        run = run_status(run_id)
        assert run.status == EvalRun.Status.QUEUED and run.dispatched_at is None

        request.getfixturevalue("celery_worker")  # the queue is back, with a worker
        assert services.eval_runs_dispatch() == 1
        assert services.eval_runs_dispatch() == 0  # the next beat does not send it again
        run = wait_for(lambda: finished(run_id), timeout=60, what="the dispatched run to finish")
    assert run.status == EvalRun.Status.SUCCEEDED, run.error
    assert run.attempts == 1 and run.dispatched_at is not None
    assert ItemResult.objects.filter(run=run).count() == 6
    assert EvalRun.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_hanging_endpoint_fails_the_run_with_the_reason_and_the_worker_takes_the_next_run(
    celery_worker, monkeypatch, settings
):
    allow_local_endpoints(monkeypatch, settings)
    monkeypatch.setenv("LADDER_OPENAI_TIMEOUT", "0.5")
    monkeypatch.setenv("LADDER_OPENAI_MAX_RETRIES", "1")
    monkeypatch.setenv("LADDER_OPENAI_BACKOFF", "0.01")
    with FakeOpenAI(mode="hang", hang_seconds=3) as server:
        model = make_endpoint_model(server.base_url)
        stuck = services.eval_run_create(model=model, suite="quick", benchmarks=["arc_easy"], limit=4, backend="openai")
        stuck = wait_for(lambda: finished(stuck.pk), timeout=60, what="the hanging run to fail")
        assert stuck.status == EvalRun.Status.FAILED
        assert "no answer within 0.5 s" in stuck.error and "Model backend error" in stuck.error

        server.mode = "nonsense"
        garbled = services.eval_run_create(
            model=model, suite="quick", benchmarks=["arc_easy"], limit=4, backend="openai"
        )
        garbled = wait_for(lambda: finished(garbled.pk), timeout=60, what="the nonsense run to fail")
        assert garbled.status == EvalRun.Status.FAILED and "malformed JSON" in garbled.error

        server.mode = "good"
        healthy = services.eval_run_create(
            model=model, suite="quick", benchmarks=["arc_easy"], limit=4, backend="openai"
        )
        healthy = wait_for(lambda: finished(healthy.pk), timeout=60, what="the next run to finish")
    assert healthy.status == EvalRun.Status.SUCCEEDED, healthy.error
    assert healthy.worker_host == stuck.worker_host  # the same worker, still healthy


def _start_worker(name: str, env: dict[str, str], log: Path, *, own_group: bool = False) -> subprocess.Popen:
    """A real `celery worker` process on the evals queue; own_group puts it in its own process group."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            "evals",
            "--pool",
            "solo",
            "--concurrency",
            "1",
            "--without-mingle",
            "--without-gossip",
            "-n",
            f"{name}@%h",
            "--loglevel",
            "INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=own_group,
    )


def _worker_env() -> dict[str, str]:
    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        {
            # The subprocess must see the data this test commits: the test database, not the dev one.
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "LADDER_OPENAI_TIMEOUT": "5",
            "LADDER_OPENAI_MAX_RETRIES": "1",
            "LADDER_OPENAI_BACKOFF": "0.01",
            "PYTHONUNBUFFERED": "1",
        }
    )
    from django.conf import settings

    env["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL
    env["LADDER_DATA_DIR"] = settings.LADDER_DATA_DIR or env.get("LADDER_DATA_DIR", "")
    return env


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_run_resumes_in_a_new_process_and_counts_every_item_once(settings, openai_env, tmp_path):
    """SIGKILL a real worker process mid-run; the reaper requeues it and a new process finishes it."""
    total = 40
    settings.EVAL_HEARTBEAT_TIMEOUT = 2
    purge_queues()
    log = tmp_path / "workers.log"
    # A slow model (30 ms per request, 4 requests per item): the run takes several seconds.
    with FakeOpenAI(delay=0.03) as server:
        model = make_endpoint_model(server.base_url)
        run = services.eval_run_create(
            model=model, suite="quick", benchmarks=["arc_easy"], limit=total, backend="openai", batch_size=4
        )
        first = _start_worker("first", _worker_env(), log)
        try:
            wait_for(
                lambda: run_status(run.pk).progress_done >= 8, timeout=90, what=f"progress (log: {log.read_text()})"
            )
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()
        killed = run_status(run.pk)
        assert killed.status == EvalRun.Status.RUNNING and 8 <= killed.progress_done < total
        stored_before = ItemResult.objects.filter(run=run).count()
        assert stored_before == killed.progress_done  # progress is committed with its items

        # The killed worker beats no more: its last beat is older than the timeout.
        stale = timezone.now() - timedelta(seconds=settings.EVAL_HEARTBEAT_TIMEOUT + 1)
        EvalRun.objects.filter(pk=run.pk).update(heartbeat_at=stale)
        assert services.eval_runs_reap() == {"requeued": 1, "failed": 0}
        second = _start_worker("second", _worker_env(), log)
        try:
            done = wait_for(lambda: finished(run.pk), timeout=120, what=f"the resumed run (log: {log.read_text()})")
        finally:
            _stop(second)

        # The same items scored without interruption, for comparison.
        reference = services.eval_run_create(
            model=model,
            suite="quick",
            benchmarks=["arc_easy"],
            limit=total,
            backend="openai",
            batch_size=4,
            dispatch=False,
        )
        server.delay = 0
        services.eval_run_execute(run_id=reference.pk)
    purge_queues()

    assert done.status == EvalRun.Status.SUCCEEDED, done.error
    assert done.attempts == 2 and done.progress_done == done.progress_total == total
    items = ItemResult.objects.filter(run=done)
    assert items.count() == total and items.values("item_id").distinct().count() == total
    assert sorted(items.values_list("position", flat=True)) == list(range(total))
    reference_items = {i.item_id: i.metrics for i in ItemResult.objects.filter(run=reference)}
    assert {i.item_id: i.metrics for i in items} == reference_items
    result = BenchmarkResult.objects.get(run=done)
    expected = BenchmarkResult.objects.get(run=reference)
    assert result.n == expected.n == total
    assert result.metrics == pytest.approx(expected.metrics) and result.stderr == pytest.approx(expected.stderr)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_submit_to_a_real_worker_evaluates_smollm2_to_succeeded(celery_worker, alice):
    """End to end: the submission service, the broker, a real worker, the real SmolLM2 (local GGUF)."""
    from tests.evals.runfixtures import SMOL_ID, make_smollm2

    make_smollm2()
    run, created = services.eval_run_submit(
        user=alice, model_id=SMOL_ID, suite="quick", benchmarks=["arc_easy"], limit=8
    )
    assert created and run.dispatched_at is not None
    run = wait_for(lambda: finished(run.pk), timeout=400, interval=1.0, what="SmolLM2 to finish on the worker")
    assert run.status == EvalRun.Status.SUCCEEDED, run.error
    assert run.progress_done == run.progress_total == 8
    assert run.revision_sha  # what the backend ran (the local weights' digest)
    assert run.device == "cpu" and run.worker_host
    result = BenchmarkResult.objects.get(run=run, benchmark="arc_easy")
    assert result.n == 8 and result.method == "loglikelihood" and 0.0 <= result.value <= 1.0
    assert set(result.metrics) >= {"acc", "acc_norm"}
    item = ItemResult.objects.filter(run=run).order_by("position").first()
    assert len(item.loglikelihoods) == len(item.choices) and all(ll < 0 for ll in item.loglikelihoods)
