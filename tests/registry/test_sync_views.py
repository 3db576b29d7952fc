"""The staff page of Hub syncs, the syncs API and the admin: who may see and start a sync."""

from __future__ import annotations

import pytest
from django.urls import reverse

from registry.models import LanguageModel, Organization, SyncRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished_run():
    return SyncRun.objects.create(
        trigger="beat",
        scope={"authors": ["Qwen"], "search": "", "models": [], "limit": 50},
        status="partial",
        seen=3,
        created=1,
        updated=1,
        failed=1,
        errors=[{"repo_id": "Qwen/Qwen-7B", "kind": "gated", "message": "Access to model Qwen/Qwen-7B is restricted"}],
    )


def test_sync_page_sends_anonymous_visitors_to_sign_in(client):
    response = client.get("/syncs/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_sync_page_is_forbidden_to_non_staff(client, alice):
    client.force_login(alice)
    assert client.get("/syncs/").status_code == 403


def test_sync_page_shows_staff_every_run_with_counts_and_errors(client, sam_staff, finished_run):
    client.force_login(sam_staff)
    response = client.get("/syncs/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Qwen/Qwen-7B" in body and "Access to model Qwen/Qwen-7B is restricted" in body
    assert "finished with errors" in body and "authors: Qwen" in body


def test_staff_can_queue_a_sync_from_the_page(client, sam_staff, django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    monkeypatch.setattr("registry.tasks.hub_sync_task.delay", lambda **kwargs: queued.append(kwargs))
    client.force_login(sam_staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/syncs/", {"authors": "Qwen, THUDM", "limit": "20"})
    run = SyncRun.objects.get()
    assert response.status_code == 302
    assert run.trigger == "admin" and run.requested_by == sam_staff and run.scope["authors"] == ["Qwen", "THUDM"]
    assert queued == [
        {
            "trigger": "admin",
            "authors": ["Qwen", "THUDM"],
            "search": None,
            "models": [],
            "limit": 20,
            "sync_run_id": run.pk,
        }
    ]


def test_a_sync_request_without_a_scope_is_refused_with_a_reason(client, sam_staff):
    client.force_login(sam_staff)
    response = client.post("/syncs/", {"limit": "abc"})
    assert response.status_code == 400 and "positive whole number" in response.content.decode()
    assert not SyncRun.objects.exists()


def test_queued_sync_is_marked_failed_when_the_broker_refuses_it(
    client, sam_staff, django_capture_on_commit_callbacks, monkeypatch
):
    def refuse(**kwargs):
        raise ConnectionRefusedError("Error 111 connecting to 127.0.0.1:6399")

    monkeypatch.setattr("registry.tasks.hub_sync_task.delay", refuse)
    client.force_login(sam_staff)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/syncs/", {"models": "Qwen/Qwen-7B"})
    run = SyncRun.objects.get()
    assert run.status == "failed" and "could not queue" in run.errors[0]["message"]


def test_syncs_api_lists_runs_for_staff_only(api_client, alice, sam_staff, finished_run):
    anonymous = api_client.get("/api/v1/syncs/")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "not_authenticated"
    api_client.force_authenticate(alice)
    refused = api_client.get("/api/v1/syncs/")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    api_client.force_authenticate(sam_staff)
    data = api_client.get("/api/v1/syncs/").json()
    assert data["count"] == 1
    assert data["results"][0]["errors"][0]["kind"] == "gated" and data["results"][0]["status"] == "partial"
    assert api_client.get("/api/v1/syncs/", {"status": "partial"}).json()["count"] == 1
    assert api_client.get("/api/v1/syncs/", {"status": "running"}).json()["count"] == 0


def test_syncs_api_rejects_an_unknown_status_filter_naming_it(api_client, sam_staff, finished_run):
    api_client.force_authenticate(sam_staff)
    response = api_client.get("/api/v1/syncs/", {"status": "exploded"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == "status" and "'exploded'" in error["message"] and "partial" in error["message"]


def test_syncs_api_post_queues_a_sync_and_answers_202(
    api_client, sam_staff, alice, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr("registry.tasks.hub_sync_task.delay", lambda **kwargs: queued.append(kwargs))
    api_client.force_authenticate(alice)
    assert api_client.post("/api/v1/syncs/", {"authors": ["Qwen"]}, format="json").status_code == 403
    api_client.force_authenticate(sam_staff)
    empty = api_client.post("/api/v1/syncs/", {}, format="json")
    assert empty.status_code == 400 and "Say what to sync" in empty.json()["error"]["message"]
    bad_limit = api_client.post("/api/v1/syncs/", {"limit": 0}, format="json")
    assert bad_limit.status_code == 400 and bad_limit.json()["error"]["field"] == "limit"
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/v1/syncs/", {"models": ["Qwen/Qwen-7B"]}, format="json")
    assert response.status_code == 202
    assert response.json()["status"] == "running" and response.json()["trigger"] == "api"
    assert queued[0]["models"] == ["Qwen/Qwen-7B"] and queued[0]["sync_run_id"] == response.json()["id"]


def test_admin_lists_sync_runs_read_only_with_their_errors(client, sam_staff, finished_run):
    client.force_login(sam_staff)
    listing = client.get("/admin/registry/syncrun/")
    assert listing.status_code == 200 and "Start a Hub sync" in listing.content.decode()
    detail = client.get(f"/admin/registry/syncrun/{finished_run.pk}/change/")
    assert detail.status_code == 200 and "Access to model Qwen/Qwen-7B is restricted" in detail.content.decode()
    assert client.get("/admin/registry/syncrun/add/").status_code == 403


def test_admin_form_starts_a_sync(client, sam_staff, django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    monkeypatch.setattr("registry.tasks.hub_sync_task.delay", lambda **kwargs: queued.append(kwargs))
    client.force_login(sam_staff)
    assert client.get("/admin/registry/syncrun/start/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/registry/syncrun/start/", {"authors": "Qwen", "limit": "10"})
    assert response.status_code == 302
    assert SyncRun.objects.get().scope["authors"] == ["Qwen"] and queued[0]["limit"] == 10


def test_admin_action_syncs_the_selected_open_models(
    client, sam_staff, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr("registry.tasks.hub_sync_task.delay", lambda **kwargs: queued.append(kwargs))
    org = Organization.objects.create(slug="Qwen", name="Qwen")
    qwen = LanguageModel.objects.create(repo_id="Qwen/Qwen-7B", name="Qwen-7B", organization=org)
    closed = LanguageModel.objects.create(repo_id="qwen/tongyi-api", name="Tongyi", organization=org, weights="closed")
    client.force_login(sam_staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/registry/languagemodel/",
            {"action": "hub_sync_selected", "_selected_action": [qwen.pk, closed.pk]},
        )
    assert response.status_code == 302
    assert queued[0]["models"] == ["Qwen/Qwen-7B"] and SyncRun.objects.get().trigger == "admin"


def test_sync_page_and_api_have_a_pinned_query_count(client, api_client, sam_staff):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(sam_staff)
    api_client.force_authenticate(sam_staff)

    def counts() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as page:
            assert client.get("/syncs/").status_code == 200
        with CaptureQueriesContext(connection) as api:
            assert api_client.get("/api/v1/syncs/").status_code == 200
        return len(page), len(api)

    SyncRun.objects.create(trigger="admin", requested_by=sam_staff)
    one = counts()
    for _ in range(6):
        SyncRun.objects.create(trigger="admin", requested_by=sam_staff, errors=[{"repo_id": "a/b", "kind": "x"}])
    assert counts() == one
