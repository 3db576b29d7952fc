"""Executing runs in-process: storage per batch, claim, resume, cancellation, failures, reaper, retry.

The model is a closed model behind the fake OpenAI-compatible server (a real HTTP server), so these
runs take a second; the real SmolLM2 runs are in test_workers.py and test_evaluate_command.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from evals import services
from evals.models import BenchmarkResult, EvalRun, ItemResult
from tests.evals.runfixtures import on_batch_storing

pytestmark = pytest.mark.django_db


def _run(model, *, limit=10, batch_size=4, benchmarks=("arc_easy",), user=None) -> EvalRun:
    return services.eval_run_create(
        model=model,
        suite="quick",
        benchmarks=list(benchmarks),
        limit=limit,
        backend="openai",
        batch_size=batch_size,
        user=user,
        dispatch=False,
    )


def test_execute_stores_every_item_and_the_benchmark_result(endpoint_model):
    run = _run(endpoint_model, limit=10)
    services.eval_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == EvalRun.Status.SUCCEEDED, run.error
    assert (run.progress_done, run.progress_total) == (10, 10)
    assert run.attempts == 1 and run.started_at and run.finished_at and run.worker_host
    assert ItemResult.objects.filter(run=run).count() == 10
    result = BenchmarkResult.objects.get(run=run, benchmark="arc_easy")
    assert result.n == 10 and result.method == "loglikelihood" and result.n_shot == 0
    assert set(result.metrics) >= {"acc", "acc_norm"}
    # The stored aggregate is the mean of the stored per-item metrics.
    accs = [i.metrics["acc"] for i in ItemResult.objects.filter(run=run)]
    assert result.metrics["acc"] == pytest.approx(sum(accs) / 10)
    # Provenance: engine version and the settings the numbers depend on.
    assert run.engine_version and run.settings["n_shot"] == {"arc_easy": 0}
    assert run.settings["limit"] == 10 and run.settings["methods"] == {"arc_easy": "loglikelihood"}
    assert run.is_partial


def test_a_redelivered_message_does_not_run_a_run_twice(endpoint_model, fake_openai):
    run = _run(endpoint_model, limit=4)
    services.eval_run_execute(run_id=run.pk)
    requests_after_first = len(fake_openai.requests)
    services.eval_run_execute(run_id=run.pk)  # the same message delivered again
    run.refresh_from_db()
    assert run.status == EvalRun.Status.SUCCEEDED and run.attempts == 1
    assert len(fake_openai.requests) == requests_after_first  # the model was not asked again
    assert ItemResult.objects.filter(run=run).count() == 4


def test_a_resumed_run_scores_only_the_missing_items_and_ends_with_the_same_result(endpoint_model, fake_openai):
    reference = _run(endpoint_model, limit=12)
    services.eval_run_execute(run_id=reference.pk)
    reference_result = BenchmarkResult.objects.get(run=reference)

    # A worker claimed this run, stored 5 items, then died (no heartbeat since).
    run = _run(endpoint_model, limit=12)
    assert services.eval_run_claim(run_id=run.pk) == 1
    for item in ItemResult.objects.filter(run=reference).order_by("position")[:5]:
        item.pk, item.run_id = None, run.pk
        item.save()
    EvalRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert services.eval_runs_reap() == {"requeued": 1, "failed": 0}
    run.refresh_from_db()
    assert run.status == EvalRun.Status.QUEUED

    before = len(fake_openai.requests)
    services.eval_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == EvalRun.Status.SUCCEEDED and run.attempts == 2
    assert (run.progress_done, run.progress_total) == (12, 12)
    items = ItemResult.objects.filter(run=run)
    assert items.count() == 12 and items.values("item_id").distinct().count() == 12
    # 7 remaining items x 4 choices (+ the 2 probe requests of the new backend); never the stored five.
    asked = len(fake_openai.requests) - before
    choices = sum(len(i.choices) for i in items.order_by("position")[5:])
    assert asked == choices + 2
    result = BenchmarkResult.objects.get(run=run)
    assert result.metrics == pytest.approx(reference_result.metrics)
    assert result.stderr == pytest.approx(reference_result.stderr)


def test_wrong_prompt_logprobs_make_the_run_generative_and_the_result_says_so(endpoint_model, fake_openai):
    fake_openai.mode = "bad_logprobs"
    run = _run(endpoint_model, limit=6)
    services.eval_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == EvalRun.Status.SUCCEEDED, run.error
    result = BenchmarkResult.objects.get(run=run)
    assert result.method == "generative"
    item = ItemResult.objects.filter(run=run).first()
    assert item.generated.strip() in {"A", "B", "C", "D"} and item.loglikelihoods == []


def test_an_unreachable_endpoint_fails_the_run_with_the_reason(endpoint_model, fake_openai):
    fake_openai.mode = "error500"
    run = _run(endpoint_model, limit=4)
    services.eval_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == EvalRun.Status.FAILED
    assert "Model backend error" in run.error and "HTTP 503" in run.error
    assert run.finished_at is not None


def test_nonsense_from_the_endpoint_fails_the_run_with_the_reason(endpoint_model, fake_openai):
    fake_openai.mode = "nonsense"
    run = _run(endpoint_model, limit=4)
    services.eval_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == EvalRun.Status.FAILED and "malformed JSON" in run.error


def test_missing_benchmark_data_fails_the_run_naming_the_file(endpoint_model, settings, tmp_path):
    settings.LADDER_DATA_DIR = str(tmp_path)
    run = _run(endpoint_model, limit=4)
    services.eval_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == EvalRun.Status.FAILED
    assert "Benchmark data error" in run.error and "arc_easy" in run.error


def test_a_run_past_its_time_limit_fails_with_a_clear_reason(endpoint_model, settings):
    settings.EVAL_SOFT_TIME_LIMIT = 0
    run = _run(endpoint_model, limit=8)
    services.eval_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == EvalRun.Status.FAILED and "Time limit exceeded" in run.error


def test_cancelling_a_queued_run_cancels_it_at_once_and_no_worker_runs_it(endpoint_model, alice, fake_openai):
    run = _run(endpoint_model, user=alice)
    services.eval_run_cancel(run_id=run.pk, user=alice)
    run.refresh_from_db()
    assert run.status == EvalRun.Status.CANCELLED and run.finished_at
    services.eval_run_execute(run_id=run.pk)
    assert len(fake_openai.requests) == 0


def test_cancelling_a_running_run_stops_it_after_the_current_batch(endpoint_model, alice):
    run = _run(endpoint_model, limit=12, batch_size=4, user=alice)
    batches = []

    def cancel_at_the_second_batch(sender, run_id, items, **kwargs):
        batches.append(len(items))
        if len(batches) == 2:  # during the run, the owner presses cancel
            services.eval_run_cancel(run_id=run_id, user=alice)

    with on_batch_storing(cancel_at_the_second_batch):
        services.eval_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == EvalRun.Status.CANCELLED
    assert 0 < ItemResult.objects.filter(run=run).count() < 12
    assert not BenchmarkResult.objects.filter(run=run).exists()


def test_only_the_submitter_or_staff_may_cancel(endpoint_model, alice, sam_staff, django_user_model):
    run = _run(endpoint_model, user=alice)
    mallory = django_user_model.objects.create_user("mallory", password="x-password-1")
    with pytest.raises(PermissionDenied):
        services.eval_run_cancel(run_id=run.pk, user=mallory)
    assert services.eval_run_cancel(run_id=run.pk, user=sam_staff).status == EvalRun.Status.CANCELLED
    with pytest.raises(services.RunStateError, match="already finished"):
        services.eval_run_cancel(run_id=run.pk, user=sam_staff)


def test_retry_requeues_a_failed_run_which_then_resumes(endpoint_model, fake_openai, sam_staff):
    fake_openai.mode = "error500"
    run = _run(endpoint_model, limit=4)
    services.eval_run_execute(run_id=run.pk)
    fake_openai.mode = "good"
    run = services.eval_run_retry(run_id=run.pk, user=sam_staff)
    assert run.status == EvalRun.Status.QUEUED and run.error == "" and run.attempts == 0
    services.eval_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == EvalRun.Status.SUCCEEDED
    with pytest.raises(services.RunStateError, match="only failed or cancelled"):
        services.eval_run_retry(run_id=run.pk, user=sam_staff)


def test_the_reaper_fails_a_run_whose_worker_died_too_often(endpoint_model, settings):
    settings.EVAL_MAX_ATTEMPTS = 2
    run = _run(endpoint_model)
    EvalRun.objects.filter(pk=run.pk).update(
        status=EvalRun.Status.RUNNING, attempts=2, heartbeat_at=timezone.now() - timedelta(hours=2)
    )
    fresh = _run(endpoint_model)
    EvalRun.objects.filter(pk=fresh.pk).update(status=EvalRun.Status.RUNNING, attempts=1, heartbeat_at=timezone.now())
    assert services.eval_runs_reap() == {"requeued": 0, "failed": 1}
    run.refresh_from_db()
    fresh.refresh_from_db()
    assert run.status == EvalRun.Status.FAILED and "stopped responding" in run.error
    assert fresh.status == EvalRun.Status.RUNNING  # its heartbeat is recent: left alone


def test_a_worker_that_lost_its_claim_stops_without_touching_the_run(endpoint_model):
    run = _run(endpoint_model, limit=12, batch_size=4)
    batches = []

    def reaped_at_the_second_batch(sender, run_id, items, **kwargs):
        batches.append(len(items))
        if len(batches) == 2:  # the reaper took the run away (this worker looked dead) and requeued it
            EvalRun.objects.filter(pk=run_id).update(status=EvalRun.Status.QUEUED)

    with on_batch_storing(reaped_at_the_second_batch):
        services.eval_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == EvalRun.Status.QUEUED and run.finished_at is None


def test_celerys_soft_time_limit_fails_the_run_with_a_clear_reason(endpoint_model, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    from evals import engine

    def out_of_time(**kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(engine, "score_docs", out_of_time)
    run = _run(endpoint_model, limit=4)
    services.eval_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == EvalRun.Status.FAILED
    assert run.error.startswith("Time limit exceeded") and "EVAL_SOFT_TIME_LIMIT" in run.error


def test_a_redelivered_message_takes_over_a_run_whose_worker_died_and_resumes_it(endpoint_model, fake_openai):
    run = _run(endpoint_model, limit=8)
    assert services.eval_run_claim(run_id=run.pk) == 1
    # That worker died; Redis redelivers its message before the reaper ran.
    EvalRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    services.eval_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == EvalRun.Status.SUCCEEDED and run.attempts == 2
    assert ItemResult.objects.filter(run=run).count() == 8


def test_a_message_for_a_run_that_is_alive_elsewhere_does_nothing(endpoint_model, fake_openai):
    run = _run(endpoint_model, limit=8)
    assert services.eval_run_claim(run_id=run.pk) == 1  # another worker is running it, heartbeat fresh
    services.eval_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == EvalRun.Status.RUNNING and run.attempts == 1 and fake_openai.requests == []
