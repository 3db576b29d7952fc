"""The admin's run actions go through the services (cancel, retry); results are read-only there."""

from __future__ import annotations

import pytest

from evals import services
from evals.models import EvalRun
from tests.evals.runfixtures import make_smollm2

pytestmark = pytest.mark.django_db


def test_staff_cancel_and_retry_runs_from_the_admin(client, sam_staff):
    model = make_smollm2()
    run = services.eval_run_create(model=model, suite="quick", benchmarks=["arc_easy"], limit=3, dispatch=False)
    client.force_login(sam_staff)
    url = "/admin/evals/evalrun/"
    response = client.post(url, {"action": "cancel_runs", "_selected_action": [run.pk]}, follow=True)
    assert response.status_code == 200
    run.refresh_from_db()
    assert run.status == EvalRun.Status.CANCELLED
    response = client.post(url, {"action": "retry_runs", "_selected_action": [run.pk]}, follow=True)
    run.refresh_from_db()
    assert run.status == EvalRun.Status.QUEUED
    # Retrying a queued run is refused with the service's message, not a crash.
    response = client.post(url, {"action": "retry_runs", "_selected_action": [run.pk]}, follow=True)
    assert "only failed or cancelled runs can be retried" in response.content.decode()


def test_the_run_pages_in_the_admin_render_and_results_cannot_be_edited(client, sam_staff):
    model = make_smollm2()
    run = services.eval_run_create(model=model, suite="quick", dispatch=False)
    client.force_login(sam_staff)
    assert client.get("/admin/evals/evalrun/").status_code == 200
    assert client.get(f"/admin/evals/evalrun/{run.pk}/change/").status_code == 200
    assert client.get("/admin/evals/itemresult/").status_code == 200
    assert client.get("/admin/evals/benchmarkresult/add/").status_code == 403
    assert client.get("/admin/evals/evalrun/add/").status_code == 403
