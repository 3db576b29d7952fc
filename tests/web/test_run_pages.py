"""Queue, run and item pages: what each persona sees and may do (Django test client, real PostgreSQL)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from evals.models import BenchmarkResult, ItemResult

pytestmark = pytest.mark.django_db


@pytest.fixture
def bob(db):
    """Bob is another signed-in user, not staff, who owns none of Alice's runs."""
    return User.objects.create_user("bob", "bob@example.com", "bob-password-1")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_queue_shows_a_running_run_with_its_progress_bar_and_time_in_queue(client, make_model, make_run):
    model = make_model()
    now = timezone.now()
    run = make_run(
        model,
        status="running",
        progress_done=150,
        progress_total=600,
        created_at=now - timedelta(minutes=3, seconds=5),
        started_at=now - timedelta(minutes=1),
        worker_host="gpu-7",
    )

    html = client.get("/queue/").content.decode()

    assert f'id="run-{run.pk}"' in html
    assert 'class="progress" max="600" value="150"' in html
    assert '150</span> / <span data-field="total">600' in html
    assert '<span data-field="percent">25</span>%' in html
    assert "2 min 5 s" in html  # started_at - created_at
    assert "HuggingFaceTB/SmolLM2-135M-Instruct" in html
    # Anonymous readers see no actions.
    assert "/cancel/" not in html


def test_queue_counts_time_in_queue_until_now_for_a_queued_run(client, make_model, make_run):
    make_run(make_model(), status="queued", created_at=timezone.now() - timedelta(hours=2, minutes=4))

    html = client.get("/queue/?status=queued").content.decode()

    assert "2 h 4 min" in html


def test_queue_shows_the_failure_reason_of_a_failed_run(client, sam_staff, make_model, make_run):
    make_run(make_model(), status="failed", error="Benchmark data error: /data/arc_easy/test.jsonl is missing")

    html = client.get("/queue/?status=failed").content.decode()
    staff_html = signed_in(sam_staff).get("/queue/?status=failed").content.decode()

    # Everyone sees why, in a word and a sentence; the stored text (a server path) is for staff.
    assert "data_error" in html and "The benchmark data could not be loaded." in html
    assert "/data/arc_easy/test.jsonl" not in html
    assert "Benchmark data error: /data/arc_easy/test.jsonl is missing" in staff_html


def test_queue_json_reports_progress_for_the_live_bars(client, make_model, make_run):
    run = make_run(make_model(), status="running", progress_done=3, progress_total=12)

    data = client.get(f"/queue/?format=json&ids={run.pk},999999").json()

    assert data["runs"] == [
        {
            "id": run.pk,
            "status": "running",
            "status_display": "running",
            "done": 3,
            "total": 12,
            "percent": 25,
            "error": "",
            "queue_display": data["runs"][0]["queue_display"],
            "duration_display": "",
            "eta_display": "estimating…",  # no items stored yet: no measured rate
            "results": 0,
        }
    ]
    assert client.get("/queue/?format=json&ids=1,x").status_code == 400


def test_staff_see_cancel_and_retry_buttons_and_users_do_not(alice, sam_staff, make_model, make_run):
    model = make_model()
    running = make_run(model, status="running", submitted_by=alice)
    failed = make_run(model, status="failed", error="boom", dtype="float32")

    staff_html = signed_in(sam_staff).get("/queue/").content.decode()
    user_html = signed_in(alice).get("/queue/").content.decode()

    assert f'action="/runs/{running.pk}/cancel/"' in staff_html
    assert f'action="/runs/{failed.pk}/retry/"' in staff_html
    assert "csrfmiddlewaretoken" in staff_html
    # Alice may stop her own running run (evals.services' rule, as the API); nobody but staff retries.
    assert f'action="/runs/{running.pk}/cancel/"' in user_html
    assert "/retry/" not in user_html


def test_a_forged_cancel_or_retry_post_by_a_non_staff_user_is_forbidden(alice, bob, make_model, make_run):
    model = make_model()
    queued = make_run(model, status="queued", submitted_by=alice)
    failed = make_run(model, status="failed", error="boom", dtype="float32", submitted_by=bob)

    assert signed_in(bob).post(f"/runs/{queued.pk}/cancel/").status_code == 403
    assert signed_in(bob).post(f"/runs/{failed.pk}/retry/").status_code == 403
    assert signed_in(alice).post(f"/runs/{failed.pk}/retry/").status_code == 403

    queued.refresh_from_db()
    failed.refresh_from_db()
    assert (queued.status, queued.cancel_requested, failed.status) == ("queued", False, "failed")


def test_anonymous_cancel_goes_to_sign_in_and_changes_nothing(client, make_model, make_run):
    run = make_run(make_model(), status="queued")

    response = client.post(f"/runs/{run.pk}/cancel/")

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    run.refresh_from_db()
    assert run.status == "queued"


def test_cancel_without_a_csrf_token_is_rejected(sam_staff, make_model, make_run):
    run = make_run(make_model(), status="queued")
    client = Client(enforce_csrf_checks=True)
    client.force_login(sam_staff)

    assert client.post(f"/runs/{run.pk}/cancel/").status_code == 403
    run.refresh_from_db()
    assert run.status == "queued"


def test_the_owner_may_cancel_their_own_queued_run(alice, make_model, make_run):
    run = make_run(make_model(), status="queued", submitted_by=alice)
    client = signed_in(alice)
    assert f'action="/runs/{run.pk}/cancel/"' in client.get("/queue/").content.decode()

    response = client.post(f"/runs/{run.pk}/cancel/", {"next": "/queue/"}, follow=True)

    run.refresh_from_db()
    assert run.status == "cancelled"
    assert f"Run #{run.pk} is cancelled." in response.content.decode()


def test_staff_retry_puts_a_failed_run_back_in_the_queue(sam_staff, make_model, make_run):
    run = make_run(make_model(), status="failed", error="worker lost", attempts=1)

    response = signed_in(sam_staff).post(f"/runs/{run.pk}/retry/", follow=True)

    run.refresh_from_db()
    assert run.status == "queued"
    assert f"Run #{run.pk} is queued again." in response.content.decode()


def test_cancel_is_a_post_only_action(sam_staff, make_model, make_run):
    run = make_run(make_model(), status="queued")

    assert signed_in(sam_staff).get(f"/runs/{run.pk}/cancel/").status_code == 405
    run.refresh_from_db()
    assert run.status == "queued"


def test_run_page_shows_provenance_timings_and_results_with_intervals(client, make_model, make_run):
    model = make_model()
    now = timezone.now()
    run = make_run(
        model,
        status="succeeded",
        revision_sha="0123456789abcdef0123456789abcdef01234567",
        engine_version="0.3.1",
        dtype="float32",
        device="cpu",
        worker_host="worker-evals-1",
        progress_done=200,
        progress_total=200,
        settings={"seed": 1234, "n_shot": {"arc_easy": 0}},
        created_at=now - timedelta(minutes=10),
        started_at=now - timedelta(minutes=9),
        finished_at=now - timedelta(minutes=2),
    )
    BenchmarkResult.objects.create(
        run=run,
        benchmark="arc_easy",
        metrics={"acc": 0.55, "acc_norm": 0.5},
        primary_metric="acc_norm",
        value=0.5,
        stderr=0.05,
        n=100,
        method="loglikelihood",
    )

    html = client.get(f"/runs/{run.pk}/").content.decode()

    for fact in ("0123456789abcdef0123456789abcdef01234567", "0.3.1", "float32", "cpu", "quick"):
        assert fact in html
    assert "worker-evals-1" not in html  # the worker host is for staff
    assert "0.5000" in html and "0.0500" in html
    assert "[0.4020, 0.5980]" in html  # 0.5 ± 1.96 × 0.05
    assert "acc=0.5500" in html
    assert "7 min 0 s" in html  # duration
    assert f"/runs/{run.pk}/items/" in html
    # Settings as a readable table: shots per benchmark, the sample seed with its label (no raw JSON).
    assert re.search(
        r'<table class="data-table settings-table">.*<th scope="row">arc_easy</th><td class="num">0</td>', html, re.S
    )
    assert "<dt>Sample seed</dt><dd>1234</dd>" in html and "{&quot;" not in html


def test_run_page_of_an_unknown_run_is_not_found(client):
    assert client.get("/runs/987654/").status_code == 404


def test_item_pages_escape_a_script_payload_from_the_data(client, make_model, make_run):
    run = make_run(make_model(), status="succeeded")
    payload = "<script>alert('x')</script>"
    ItemResult.objects.create(
        run=run,
        benchmark="arc_easy",
        item_id="evil-1",
        position=0,
        prompt=f"Question: {payload}\nAnswer:",
        choices=[payload, "fine"],
        loglikelihoods=[-1.5, -2.25],
        generated=payload,
        target=1,
        prediction=0,
        metrics={"acc": 0.0},
        correct=False,
    )

    html = client.get(f"/runs/{run.pk}/items/").content.decode()

    assert payload not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "-1.500" in html and "-2.250" in html


def test_item_pages_filter_by_benchmark_and_outcome_and_paginate(client, make_model, make_run):
    run = make_run(make_model(), status="succeeded")
    for i in range(30):
        ItemResult.objects.create(
            run=run,
            benchmark="arc_easy",
            item_id=f"a{i}",
            position=i,
            prompt=f"arc prompt {i}",
            choices=["x", "y"],
            loglikelihoods=[-1.0, -2.0],
            target=0,
            prediction=0 if i % 3 else 1,
            metrics={"acc": 1.0 if i % 3 else 0.0},
            correct=bool(i % 3),
        )
    ItemResult.objects.create(
        run=run,
        benchmark="hellaswag",
        item_id="h0",
        position=0,
        prompt="hellaswag prompt",
        choices=["a"],
        loglikelihoods=[-0.5],
        target=0,
        prediction=0,
        metrics={"acc": 1.0},
        correct=True,
    )

    first = client.get(f"/runs/{run.pk}/items/?benchmark=arc_easy").content.decode()
    wrong = client.get(f"/runs/{run.pk}/items/?benchmark=arc_easy&outcome=incorrect").content.decode()
    second = client.get(f"/runs/{run.pk}/items/?benchmark=arc_easy&page=2").content.decode()

    assert "30 items" in first and "hellaswag prompt" not in first
    assert "Page 1 of 2" in first and "benchmark=arc_easy&amp;page=2" in first
    assert "arc prompt 29" in second and "arc prompt 0<" not in second
    assert "10 items" in wrong and "arc prompt 1<" not in wrong and "arc prompt 3<" in wrong


def test_queue_and_item_pages_run_a_fixed_number_of_queries_however_many_runs_there_are(
    client, alice, make_model, make_run
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    first = make_run(make_model("org-a/model-a"), status="running", submitted_by=alice)
    for status in ("queued", "failed", "succeeded"):
        make_run(make_model("org-a/model-a"), status=status, dtype=f"d{status}")
    ItemResult.objects.create(run=first, benchmark="arc_easy", item_id="a", position=0, metrics={"acc": 1.0})
    small = queries("/queue/"), queries(f"/runs/{first.pk}/items/")
    for i in range(12):
        model = make_model(f"org-{i}/model-{i}")
        for status in ("queued", "running", "failed", "succeeded"):
            make_run(model, status=status, dtype=f"d{status}", submitted_by=alice)
        ItemResult.objects.create(run=first, benchmark="arc_easy", item_id=str(i), position=i + 1, metrics={"acc": 1.0})

    assert (queries("/queue/"), queries(f"/runs/{first.pk}/items/")) == small


def test_staff_cancelling_a_running_run_asks_the_worker_to_stop_after_its_batch(sam_staff, make_model, make_run):
    run = make_run(make_model(), status="running", started_at=timezone.now())

    response = signed_in(sam_staff).post(f"/runs/{run.pk}/cancel/", follow=True)

    run.refresh_from_db()
    assert (run.status, run.cancel_requested) == ("running", True)
    assert f"Run #{run.pk} will stop after its current batch." in response.content.decode()


def test_the_owner_may_stop_their_own_running_run_after_its_batch(alice, make_model, make_run):
    run = make_run(make_model(), status="running", submitted_by=alice)

    response = signed_in(alice).post(f"/runs/{run.pk}/cancel/", follow=True)

    run.refresh_from_db()
    assert (run.status, run.cancel_requested) == ("running", True)
    assert f"Run #{run.pk} will stop after its current batch." in response.content.decode()


def test_cancelling_a_finished_run_says_so_and_changes_nothing(sam_staff, make_model, make_run):
    run = make_run(make_model(), status="succeeded")

    response = signed_in(sam_staff).post(f"/runs/{run.pk}/cancel/", follow=True)

    run.refresh_from_db()
    assert run.status == "succeeded"
    assert f"Run #{run.pk} has already finished (succeeded)" in response.content.decode()


def test_my_runs_lists_only_the_signed_in_users_runs(alice, bob, make_model, make_run):
    mine = make_run(make_model(), status="queued", submitted_by=alice)
    theirs = make_run(make_model("org-b/model-b"), status="queued", submitted_by=bob)

    html = signed_in(alice).get("/queue/?mine=1").content.decode()

    assert f'id="run-{mine.pk}"' in html and f'id="run-{theirs.pk}"' not in html
