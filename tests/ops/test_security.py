"""Security with personas: anonymous, alice (a user), sam (staff). Every check is enforced server-side.

What must hold: writes need authentication everywhere; staff-only actions refuse users; CSRF guards
form and session-authenticated posts; provider API keys never leave the environment; model strings
from the Hub or the catalog are rendered as text; closed-model endpoints are staff-only and validated.
"""

from __future__ import annotations

import logging
import re
import socket

import pytest
from django.test import Client

from evals.models import EvalRun
from registry.models import LanguageModel, SyncRun
from tests.evals.factories import complete_run
from tests.evals.fakeopenai import FakeOpenAI
from tests.evals.runfixtures import make_endpoint_model, make_model
from tests.registry.admin_forms import admin_model_change

pytestmark = pytest.mark.django_db

XSS = '<script>alert("ladder-xss")</script>'
SECRET = "sk-ladder-test-0123456789abcdefSECRET"  # a test value, not a key
KEY_VAR = "LADDER_KEY_TEST_PROVIDER"


def _run(model: LanguageModel, user, status: str = EvalRun.Status.QUEUED, **fields) -> EvalRun:
    fields.setdefault("revision_sha", f"{EvalRun.objects.count() + 1:040x}")
    return EvalRun.objects.create(
        model=model, suite="quick", benchmarks=["arc_easy"], status=status, submitted_by=user, **fields
    )


@pytest.fixture
def open_model():
    return make_model("acme/open-7b", pipeline_tag="text-generation")


@pytest.fixture
def token_client(api_client):
    from rest_framework.authtoken.models import Token

    def make(user):
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
        return api_client

    return make


def _schema_operations(client) -> list[tuple[str, str]]:
    schema = client.get("/api/schema/", {"format": "json"}).json()
    return [(path, method) for path, item in schema["paths"].items() for method in item if method != "parameters"]


def _fill(path: str, *, run_id: int, model_id: str) -> str:
    org, name = model_id.split("/")
    values = {"run_id": str(run_id), "org": org, "name": name, "key": "arc_easy", "id": str(run_id)}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x"), path)


# --- writes need authentication -------------------------------------------------------------------


def test_every_api_write_in_the_schema_refuses_anonymous_clients(api_client, open_model, alice):
    run = _run(open_model, alice)
    writes = [(p, m) for p, m in _schema_operations(api_client) if m in ("post", "put", "patch", "delete")]
    assert ("/api/v1/evaluations/", "post") in writes and ("/api/v1/syncs/", "post") in writes
    for path, method in writes:
        url = _fill(path, run_id=run.pk, model_id=open_model.repo_id)
        response = getattr(api_client, method)(url, {"model": open_model.repo_id}, format="json")
        assert response.status_code in (401, 403), (method, url, response.status_code)
    run.refresh_from_db()
    assert run.status == EvalRun.Status.QUEUED
    assert EvalRun.objects.count() == 1
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_anonymous_clients_cannot_modify_models_or_runs_with_other_methods(api_client, open_model, alice, method):
    run = _run(open_model, alice)
    for url in (f"/api/v1/models/{open_model.repo_id}/", f"/api/v1/evaluations/{run.pk}/", "/api/v1/models/"):
        response = getattr(api_client, method)(url, {"name": "changed"}, format="json")
        assert response.status_code in (401, 403), (method, url, response.status_code)
    open_model.refresh_from_db()
    assert open_model.name == "open-7b"
    assert EvalRun.objects.filter(pk=run.pk).exists()


def test_anonymous_page_posts_redirect_to_login_and_change_nothing(client, open_model, alice):
    run = _run(open_model, alice)
    for url in ("/submit/", f"/runs/{run.pk}/cancel/", f"/runs/{run.pk}/retry/", "/syncs/"):
        response = client.post(url, {"model_id": open_model.repo_id, "suite": "quick", "authors": "Qwen"})
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url
    run.refresh_from_db()
    assert run.status == EvalRun.Status.QUEUED
    assert EvalRun.objects.count() == 1 and not SyncRun.objects.exists()


# --- staff-only actions ---------------------------------------------------------------------------


def test_a_user_cannot_list_or_trigger_hub_syncs_through_the_api(token_client, alice):
    client = token_client(alice)
    assert client.get("/api/v1/syncs/").status_code == 403
    assert client.post("/api/v1/syncs/", {"authors": ["Qwen"]}, format="json").status_code == 403
    assert not SyncRun.objects.exists()


def test_staff_can_trigger_a_hub_sync_through_the_api(token_client, sam_staff):
    response = token_client(sam_staff).post("/api/v1/syncs/", {"authors": ["Qwen"], "limit": 5}, format="json")
    assert response.status_code == 202, response.content
    assert SyncRun.objects.filter(pk=response.json()["id"], requested_by=sam_staff).exists()


def test_a_user_cannot_cancel_someone_elses_run_through_the_api(token_client, open_model, alice, sam_staff):
    run = _run(open_model, sam_staff)
    response = token_client(alice).post(f"/api/v1/evaluations/{run.pk}/cancel/")
    assert response.status_code in (403, 404)
    run.refresh_from_db()
    assert run.status == EvalRun.Status.QUEUED and not run.cancel_requested


def test_staff_can_cancel_anyones_run_through_the_api(token_client, open_model, alice, sam_staff):
    run = _run(open_model, alice)
    response = token_client(sam_staff).post(f"/api/v1/evaluations/{run.pk}/cancel/")
    assert response.status_code in (200, 202), response.content
    run.refresh_from_db()
    assert run.status == EvalRun.Status.CANCELLED


def test_a_user_cannot_cancel_or_retry_others_runs_from_the_pages(client, open_model, alice, sam_staff):
    queued = _run(open_model, sam_staff)
    failed = _run(open_model, sam_staff, status=EvalRun.Status.FAILED, error="boom")
    client.force_login(alice)
    assert client.post(f"/runs/{queued.pk}/cancel/").status_code == 403
    assert client.post(f"/runs/{failed.pk}/retry/").status_code == 403
    queued.refresh_from_db()
    failed.refresh_from_db()
    assert queued.status == EvalRun.Status.QUEUED and not queued.cancel_requested
    assert failed.status == EvalRun.Status.FAILED


def test_the_syncs_page_and_the_admin_are_staff_only(client, alice, sam_staff):
    client.force_login(alice)
    assert client.get("/syncs/").status_code == 403
    assert client.post("/syncs/", {"authors": "Qwen"}).status_code == 403
    assert not SyncRun.objects.exists()
    for url in ("/admin/", "/admin/registry/languagemodel/", "/admin/evals/evalrun/"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url
    client.force_login(sam_staff)
    assert client.get("/syncs/").status_code == 200
    assert client.get("/admin/registry/languagemodel/").status_code == 200


# --- CSRF -----------------------------------------------------------------------------------------


def test_form_posts_without_a_csrf_token_are_refused(open_model, alice):
    run = _run(open_model, alice)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post("/submit/", {"model_id": open_model.repo_id, "suite": "quick"}).status_code == 403
    assert client.post(f"/runs/{run.pk}/cancel/").status_code == 403
    run.refresh_from_db()
    assert run.status == EvalRun.Status.QUEUED and EvalRun.objects.count() == 1


def test_form_posts_with_the_csrf_token_get_through(open_model, alice):
    run = _run(open_model, alice)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    client.get("/submit/")
    token = client.cookies["csrftoken"].value
    response = client.post(f"/runs/{run.pk}/cancel/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == EvalRun.Status.CANCELLED


def test_session_authenticated_api_writes_need_the_csrf_token(open_model, alice):
    run = _run(open_model, alice)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(f"/api/v1/evaluations/{run.pk}/cancel/", content_type="application/json")
    assert response.status_code == 403
    run.refresh_from_db()
    assert run.status == EvalRun.Status.QUEUED


# --- provider API keys ----------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("fault", ["server_error", "wrong_key", "unreachable"])
def test_a_provider_api_key_never_appears_in_responses_logs_errors_or_the_admin(
    fault, monkeypatch, caplog, openai_env, client, api_client, sam_staff
):
    from evals import services

    monkeypatch.setenv(KEY_VAR, SECRET)
    with FakeOpenAI(
        mode="error500" if fault == "server_error" else "good", api_key="" if fault != "wrong_key" else "other"
    ) as server:
        base_url = server.base_url if fault != "unreachable" else f"http://127.0.0.1:{_closed_port()}/v1"
        model = make_endpoint_model(base_url)
        model.endpoint_api_key_env = KEY_VAR
        model.save()
        run = services.eval_run_create(
            model=model, suite="quick", benchmarks=["arc_easy"], limit=2, backend="openai", dispatch=False
        )
        with caplog.at_level(logging.DEBUG):
            try:
                services.eval_run_execute(run_id=run.pk)
            except Exception as exc:  # whatever escapes must not carry the key either
                assert SECRET not in repr(exc) and SECRET not in str(exc)
        if fault != "unreachable":
            # The key really was sent (so the test means something) — only to the provider.
            assert any(SECRET in request["authorization"] for request in server.requests)
    run.refresh_from_db()
    assert run.status == EvalRun.Status.FAILED
    assert run.error
    assert SECRET not in run.error
    assert SECRET not in caplog.text
    seen = [
        api_client.get(f"/api/v1/evaluations/{run.pk}/").content,
        api_client.get("/api/v1/evaluations/").content,
        client.get(f"/runs/{run.pk}/").content,
    ]
    client.force_login(sam_staff)
    api_client.force_authenticate(sam_staff)
    staff_view = api_client.get(f"/api/v1/models/{model.repo_id}/").json()
    assert staff_view["endpoint"]["api_key_env"] == KEY_VAR  # staff see the variable's NAME only
    seen += [
        api_client.get(f"/api/v1/models/{model.repo_id}/").content,
        client.get("/admin/registry/languagemodel/").content,
        client.get(f"/admin/registry/languagemodel/{model.pk}/change/").content,
        client.get("/admin/evals/evalrun/").content,
        client.get(f"/admin/evals/evalrun/{run.pk}/change/").content,
    ]
    for body in seen:
        assert SECRET.encode() not in body


# --- untrusted model strings ----------------------------------------------------------------------


def test_script_payloads_in_model_strings_render_as_text_on_every_page(client):
    model = make_model(
        "evil-org/xss-model",
        name=XSS,
        description=f"A fine model. {XSS} <img src=x onerror=alert(1)> [click](javascript:alert(2))",
        pipeline_tag="text-generation",
        license_name=XSS,
    )
    complete_run(model, 0.5)
    pages = {
        "detail": client.get(f"/models/{model.repo_id}/"),
        "list": client.get("/models/", {"search": "xss"}),
        "leaderboard": client.get("/"),
        "compare": client.get("/compare/", {"models": model.repo_id}),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        html = response.content.decode()
        assert "<script>alert(" not in html, name
        assert "<img src=x onerror" not in html, name
        assert 'href="javascript:' not in html, name
    assert "&lt;script&gt;alert(" in pages["detail"].content.decode()


def test_script_payloads_come_back_from_the_api_as_plain_json_text(api_client):
    make_model("evil-org/xss-model", name=XSS, description=XSS, pipeline_tag="text-generation")
    response = api_client.get("/api/v1/models/evil-org/xss-model/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.json()["name"] == XSS


# --- closed-model endpoints -----------------------------------------------------------------------


def test_endpoints_of_closed_models_are_shown_to_staff_only(api_client, alice, sam_staff):
    model = make_endpoint_model("https://api.example.com/v1")
    url = f"/api/v1/models/{model.repo_id}/"
    assert api_client.get(url).json()["endpoint"] is None
    api_client.force_authenticate(alice)
    assert api_client.get(url).json()["endpoint"] is None
    assert b"api.example.com" not in api_client.get(url).content
    api_client.force_authenticate(sam_staff)
    assert api_client.get(url).json()["endpoint"]["base_url"] == "https://api.example.com/v1"


@pytest.mark.parametrize(
    ("base_url", "accepted"),
    [
        ("https://api.example.com/v1", True),
        ("http://127.0.0.1:8080/v1", False),  # loopback: only with LADDER_ENDPOINT_ALLOW_PRIVATE
        ("ftp://api.example.com/v1", False),
        ("javascript:alert(1)", False),
        ("https://user:hunter2@api.example.com/v1", False),
        ("https://api.example.com/v1?api_key=sk-123", False),
        ("file:///etc/passwd", False),
    ],
)
def test_the_admin_validates_endpoint_base_urls(client, sam_staff, base_url, accepted):
    model = make_endpoint_model("https://old.example.com/v1")
    client.force_login(sam_staff)
    response = admin_model_change(client, model, endpoint_base_url=base_url)
    model.refresh_from_db()
    if accepted:
        assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
        assert model.endpoint_base_url == base_url.rstrip("/")
    else:
        assert response.status_code == 200
        assert "endpoint_base_url" in response.context["adminform"].form.errors
        assert model.endpoint_base_url == "https://old.example.com/v1"


def test_a_user_cannot_open_or_change_a_models_endpoint_in_the_admin(client, alice):
    model = make_endpoint_model("https://api.example.com/v1")
    client.force_login(alice)
    response = client.post(f"/admin/registry/languagemodel/{model.pk}/change/", {"endpoint_base_url": "http://evil"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    model.refresh_from_db()
    assert model.endpoint_base_url == "https://api.example.com/v1"


# --- transport security ---------------------------------------------------------------------------


def test_in_production_cookies_are_secure_http_only_and_browsers_get_hsts(settings, alice):
    """The values HTTPS=1 turns on (tests/ops/test_settings.py checks that it does), seen on the wire."""
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    client = Client()
    plain = client.get("/models/")
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    login_page = client.get("/accounts/login/", secure=True)
    assert login_page["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert login_page.cookies["csrftoken"]["secure"] is True
    response = client.post("/accounts/login/", {"username": "alice", "password": "alice-password-1"}, secure=True)
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["secure"] is True and session["httponly"] is True and session["samesite"] == "Lax"
    assert response["X-Frame-Options"] == "DENY" and response["X-Content-Type-Options"] == "nosniff"


# --- throttling -----------------------------------------------------------------------------------


def test_anonymous_api_clients_are_throttled_per_address_and_users_are_not(api_client, alice, monkeypatch, fresh_cache):
    from rest_framework.throttling import AnonRateThrottle

    monkeypatch.setitem(AnonRateThrottle.THROTTLE_RATES, "anon", "3/minute")
    statuses = [api_client.get("/api/v1/models/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = api_client.get("/api/v1/models/")
    assert refused.json()["error"]["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0
    api_client.force_authenticate(alice)
    assert api_client.get("/api/v1/models/").status_code == 200
