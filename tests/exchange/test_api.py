"""POST /api/v1/imports/: who may import, what a refused file says, and the imports list."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission

from evals.models import EvalRun, ImportJob
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db


def test_a_signed_in_user_without_the_import_permission_is_refused(api_client, alice, oll_file):
    api_client.force_authenticate(alice)
    response = api_client.post("/api/v1/imports/", {"results": json.loads(oll_file.read_bytes())}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not EvalRun.objects.exists()


def test_a_user_with_the_import_permission_imports_and_the_list_shows_it(api_client, alice, oll_file):
    alice.user_permissions.add(Permission.objects.get(codename="add_resultimport"))
    api_client.force_authenticate(alice)
    response = api_client.post("/api/v1/imports/", {"results": json.loads(oll_file.read_bytes())}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["ranked_suite"] == "open-llm-v1"
    listed = api_client.get("/api/v1/imports/").json()["results"]
    assert listed[0]["model"] == "HenryJJ/Instruct_Yi-6B_Dolly15K"
    assert listed[0]["provenance"] == "imported" and listed[0]["ranked"] is True


def test_a_bad_file_answers_400_naming_the_field(api_client, sam_staff):
    api_client.force_authenticate(sam_staff)
    body = {"results": {"results": {"arc_easy": {"acc,none": "high"}}, "config": {}}, "model": "acme/x"}
    response = api_client.post("/api/v1/imports/", body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_file" and error["field"] == "results.results.arc_easy.acc,none"


@pytest.mark.django_db(transaction=True)
def test_a_hub_archive_import_runs_on_a_worker_with_progress_on_the_job(
    api_client, sam_staff, celery_worker, fake_hub, oll_file
):
    fake_hub.add_dataset(
        "org/archive", {"acme/alpha-7b/results_2024-01-02T10-00-00.000000.json": oll_file.read_bytes()}
    )
    api_client.force_authenticate(sam_staff)
    response = api_client.post("/api/v1/imports/", {"hub_dataset": "org/archive"}, format="json")
    assert response.status_code == 202
    job_id = response.json()["id"]
    wait_for(
        lambda: ImportJob.objects.get(pk=job_id).status not in ("queued", "running"),
        timeout=30,
        interval=0.2,
        what="the import job to finish",
    )
    job = api_client.get(f"/api/v1/imports/jobs/{job_id}/").json()
    assert job["status"] == "succeeded" and (job["files_total"], job["files_done"], job["created"]) == (1, 1, 1)
