"""Closed-model endpoints can neither reach inside the deployment nor carry its secrets out (issue #8, hole 4).

What must hold afterwards:
- a key variable is named only within the allowed prefix (LADDER_KEY_ by default): SECRET_KEY,
  DATABASE_URL, HF_TOKEN ... are refused when staff save them and again when a worker runs the model,
  and nothing is sent;
- a key never travels over plain http unless LADDER_ENDPOINT_ALLOW_HTTP says so;
- loopback, private, link-local and other internal targets are refused at save time when spelled
  literally, and at connect time after DNS resolution (a name that turns internal after saving too),
  unless LADDER_ENDPOINT_ALLOW_PRIVATE says so; the worker connects to the address it checked;
- redirects are not followed: whatever a redirect points at receives nothing;
- an upstream error body (which may echo secrets) never becomes the run's public error, API or page;
- the eval workers of docker-compose.yml get only the variables they need, not SECRET_KEY.
"""

from __future__ import annotations

import logging
import re
import socket
from pathlib import Path

import pytest
import yaml

from evals.backends.base import BackendError
from evals.backends.openai import OpenAIBackend
from evals.models import EvalRun
from evals.types import GenerationRequest, ModelSpec
from registry.models import LanguageModel
from registry.services.catalog import catalog_load
from registry.services.endpoints import EndpointInvalid, endpoint_target_check
from tests.evals.fakeopenai import FakeOpenAI
from tests.evals.runfixtures import make_endpoint_model
from tests.registry.admin_forms import admin_model_change

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_KEY = "sk-h3-provider-key-0123456789"  # a test value
REBIND_HOST = "llm.rebind.example"  # a public-looking name whose DNS answer turns internal after saving


def _form_errors(response) -> dict:
    return response.context["adminform"].form.errors if response.context else {}


def _spec(base_url: str, key_env: str = "") -> ModelSpec:
    return ModelSpec(
        repo_id="acme/chat-model", endpoint_base_url=base_url, endpoint_model_name="m", endpoint_api_key_env=key_env
    )


def _run_in_worker(model: LanguageModel) -> EvalRun:
    from evals import services

    run = services.eval_run_create(
        model=model, suite="quick", benchmarks=["arc_easy"], limit=2, backend="openai", dispatch=False
    )
    services.eval_run_execute(run_id=run.pk)
    run.refresh_from_db()
    return run


@pytest.fixture
def local_server_allowed(settings, monkeypatch):
    """The fake server is plain http on 127.0.0.1: allowed explicitly where a test needs to reach it."""
    settings.ENDPOINT_ALLOW_HTTP = True
    settings.ENDPOINT_ALLOW_PRIVATE = True
    monkeypatch.setenv("LADDER_OPENAI_MAX_RETRIES", "0")


@pytest.fixture
def rebinding_dns(monkeypatch):
    """DNS for REBIND_HOST answers 127.0.0.1 (as a rebinding attacker would after the save); others are real."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host == REBIND_HOST:
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


# --- the key variable ---------------------------------------------------------------------------------


@pytest.mark.parametrize("variable", ["SECRET_KEY", "DATABASE_URL", "HF_TOKEN", "CELERY_BROKER_URL", "OPENAI_API_KEY"])
def test_a_key_variable_outside_the_allowed_prefix_cannot_be_saved(client, sam_staff, variable):
    model = make_endpoint_model("https://api.example.com/v1")
    client.force_login(sam_staff)

    response = admin_model_change(client, model, endpoint_api_key_env=variable)

    assert response.status_code == 200
    assert "LADDER_KEY_" in " ".join(_form_errors(response)["endpoint_api_key_env"])
    model.refresh_from_db()
    assert model.endpoint_api_key_env == ""
    # Within the prefix, the same endpoint saves.
    assert admin_model_change(client, model, endpoint_api_key_env="LADDER_KEY_ACME").status_code == 302
    model.refresh_from_db()
    assert model.endpoint_api_key_env == "LADDER_KEY_ACME"


def test_a_row_naming_a_worker_secret_is_refused_at_run_time_and_nothing_is_sent(
    local_server_allowed, monkeypatch, caplog, client
):
    monkeypatch.setenv("SECRET_KEY", "django-secret-h3-do-not-send")
    with FakeOpenAI(mode="good") as catcher:
        model = make_endpoint_model(catcher.base_url)
        # Written past the admin (an old row, a script): the worker applies the same rule.
        LanguageModel.objects.filter(pk=model.pk).update(endpoint_api_key_env="SECRET_KEY")
        with caplog.at_level(logging.DEBUG):
            run = _run_in_worker(model)
    assert run.status == EvalRun.Status.FAILED
    assert "LADDER_KEY_" in run.error
    assert catcher.requests == []  # not one request, so no Bearer token anywhere
    assert "django-secret-h3-do-not-send" not in caplog.text
    assert b"django-secret-h3-do-not-send" not in client.get(f"/runs/{run.pk}/").content


def test_the_catalog_names_key_variables_within_the_configured_prefix(settings):
    catalog_load()
    names = set(LanguageModel.objects.exclude(endpoint_api_key_env="").values_list("endpoint_api_key_env", flat=True))
    assert "LADDER_KEY_OPENAI" in names
    assert all(name.startswith("LADDER_KEY_") for name in names), names

    settings.ENDPOINT_KEY_PREFIX = "ACME_PROVIDER_"
    catalog_load()  # the catalog's own values follow the deployment's prefix
    assert LanguageModel.objects.get(repo_id="openai/gpt-4").endpoint_api_key_env == "ACME_PROVIDER_OPENAI"


# --- https when a key is sent -----------------------------------------------------------------------


def test_a_key_is_never_sent_over_plain_http_unless_the_deployment_allows_it(client, sam_staff, settings, monkeypatch):
    model = make_endpoint_model("https://api.example.com/v1")
    client.force_login(sam_staff)

    response = admin_model_change(
        client, model, endpoint_base_url="http://api.example.com/v1", endpoint_api_key_env="LADDER_KEY_ACME"
    )
    assert response.status_code == 200
    assert "https" in " ".join(_form_errors(response)["endpoint_base_url"])
    # Without a key there is nothing to leak: plain http to a public host is fine.
    assert admin_model_change(client, model, endpoint_base_url="http://api.example.com/v1").status_code == 302

    # At run time too: a key over http reaches nobody.
    settings.ENDPOINT_ALLOW_PRIVATE = True
    monkeypatch.setenv("LADDER_KEY_ACME", PROVIDER_KEY)
    with FakeOpenAI(mode="good") as server:
        with pytest.raises(BackendError, match="https"):
            OpenAIBackend(spec=_spec(server.base_url, "LADDER_KEY_ACME")).generate([GenerationRequest("x", until=())])
        assert server.requests == []
        settings.ENDPOINT_ALLOW_HTTP = True  # a local server, on purpose
        backend = OpenAIBackend(spec=_spec(server.base_url, "LADDER_KEY_ACME"))
        backend.generate([GenerationRequest("x", until=())])
        assert server.requests[-1]["authorization"] == f"Bearer {PROVIDER_KEY}"


# --- internal targets ---------------------------------------------------------------------------------


INTERNAL_URLS = [
    "http://127.0.0.1:6379/v1",
    "http://10.1.2.3/v1",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]:8000/v1",
    "http://[::ffff:127.0.0.1]/v1",
    "http://[fe80::1]/v1",
    "http://localhost:8000/v1",
    "http://2130706433/v1",  # 127.0.0.1 as one number
    "http://0.0.0.0:8000/v1",
]


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_internal_targets_are_refused_after_dns_resolution_at_connect_time(url):
    with pytest.raises(EndpointInvalid, match="LADDER_ENDPOINT_ALLOW_PRIVATE"):
        endpoint_target_check(url)


@pytest.mark.parametrize("url", INTERNAL_URLS + ["http://redis:6379", "https://metadata.localhost/v1"])
def test_internal_targets_spelled_in_the_url_cannot_be_saved(client, sam_staff, url):
    model = make_endpoint_model("https://api.example.com/v1")
    client.force_login(sam_staff)

    response = admin_model_change(client, model, endpoint_base_url=url)

    assert response.status_code == 200
    assert "endpoint_base_url" in _form_errors(response)
    model.refresh_from_db()
    assert model.endpoint_base_url == "https://api.example.com/v1"


def test_a_name_that_resolves_inside_after_saving_is_refused_when_the_worker_connects(
    rebinding_dns, settings, monkeypatch
):
    """Saved while it looked public; at run time its DNS answers 127.0.0.1, where the fake server listens."""
    settings.ENDPOINT_ALLOW_HTTP = True
    monkeypatch.setenv("LADDER_OPENAI_MAX_RETRIES", "0")
    with FakeOpenAI(mode="good") as server:
        port = server.base_url.split(":")[-1].split("/")[0]
        base_url = f"http://{REBIND_HOST}:{port}/v1"
        backend = OpenAIBackend(spec=_spec(base_url))  # passes the save-time rules: no literal address
        with pytest.raises(BackendError, match="refused") as excinfo:
            backend.generate([GenerationRequest("x", until=())])
        assert server.requests == []
        assert REBIND_HOST not in str(excinfo.value) and "127.0.0.1" not in str(excinfo.value)

        # Allowed on purpose, the same name reaches the server: the worker connects to the address it
        # resolved and checked itself (the real DNS has never heard of this name).
        settings.ENDPOINT_ALLOW_PRIVATE = True
        OpenAIBackend(spec=_spec(base_url)).generate([GenerationRequest("x", until=())])
        assert len(server.requests) == 1


# --- redirects and upstream bodies --------------------------------------------------------------------


@pytest.mark.parametrize("status", [302, 307])
def test_a_redirect_is_not_followed_and_its_target_receives_nothing(local_server_allowed, monkeypatch, status):
    monkeypatch.setenv("LADDER_KEY_ACME", PROVIDER_KEY)
    with FakeOpenAI(mode="good") as catcher:
        with FakeOpenAI(
            mode="redirect", redirect_to=f"{catcher.base_url}/completions", redirect_status=status
        ) as server:
            backend = OpenAIBackend(spec=_spec(server.base_url, "LADDER_KEY_ACME"))
            with pytest.raises(BackendError) as excinfo:
                backend.generate([GenerationRequest("x", until=())])
        assert catcher.requests == []
        assert catcher.base_url not in str(excinfo.value)
    assert f"HTTP {status}" in str(excinfo.value) and "not followed" in str(excinfo.value)


def test_an_upstream_error_body_never_becomes_the_public_error(
    local_server_allowed, monkeypatch, caplog, client, api_client, alice
):
    monkeypatch.setenv("LADDER_KEY_ACME", PROVIDER_KEY)
    leak = "postgres://admin:hunter2-h3-leak@10.0.0.5/prod"
    body = f'{{"error": {{"message": "bad request from Bearer {PROVIDER_KEY}; upstream config {leak}"}}}}'
    with FakeOpenAI(mode="leaky_error", error_body=body) as server:
        model = make_endpoint_model(server.base_url)
        LanguageModel.objects.filter(pk=model.pk).update(endpoint_api_key_env="LADDER_KEY_ACME")
        model.refresh_from_db()
        with caplog.at_level(logging.DEBUG):
            run = _run_in_worker(model)
        assert server.requests, "the endpoint was asked"
    assert run.status == EvalRun.Status.FAILED
    assert "HTTP 400" in run.error  # the status and a short reason are what users get
    client.force_login(alice)
    api_client.force_authenticate(alice)
    seen = [
        run.error,
        api_client.get(f"/api/v1/evaluations/{run.pk}/").content.decode(),
        api_client.get("/api/v1/evaluations/").content.decode(),
        client.get(f"/runs/{run.pk}/").content.decode(),
    ]
    for text in seen:
        assert "hunter2-h3-leak" not in text and PROVIDER_KEY not in text
    # The worker log may keep the body for staff, with the key scrubbed.
    assert PROVIDER_KEY not in caplog.text


# --- what the eval workers are given ------------------------------------------------------------------


def _evaluation_settings() -> set[str]:
    """Variables the code reads that an evaluation depends on (limits, backends, Hub, data)."""
    pattern = re.compile(r"""(?:\benv(?:\.\w+)?|os\.environ\.get|os\.getenv|\b_env\w*)\(\s*["']([A-Z][A-Z0-9_]+)["']""")
    sources = [ROOT / "config" / "settings" / "base.py", *(ROOT / "evals").rglob("*.py")]
    read = {name for source in sources for name in pattern.findall(source.read_text())}
    wanted = ("LADDER_EVAL_", "LADDER_OPENAI_", "LADDER_ENDPOINT_", "LADDER_HUB_", "HF_")
    # Publishing to the Hub runs in the web process; its write token never reaches an evaluation worker.
    web_only = {"LADDER_HUB_WRITE_TOKEN"}
    return {name for name in read if name.startswith(wanted)} - web_only | {"LADDER_DATA_DIR", "LADDER_TORCH_THREADS"}


def test_eval_workers_in_docker_compose_get_only_the_variables_they_need():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name in ("worker-evals", "worker-evals-gpu"):
        service = services[name]
        env_files = service.get("env_file") or []
        env_files = [env_files] if isinstance(env_files, str | dict) else env_files
        paths = [f["path"] if isinstance(f, dict) else f for f in env_files]
        assert ".env" not in paths, f"{name} reads the whole .env (SECRET_KEY included)"
        environment = service.get("environment") or {}
        names = {item.split("=", 1)[0] for item in environment} if isinstance(environment, list) else set(environment)
        assert {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "HF_TOKEN"} <= names, name
        assert not _evaluation_settings() - names, f"{name} lacks {sorted(_evaluation_settings() - names)}"
        assert not names & {
            "SECRET_KEY",
            "POSTGRES_PASSWORD",
            "LADDER_HUB_WRITE_TOKEN",
            "CSRF_TRUSTED_ORIGINS",
            "LADDER_REQUIRE_SECRET_KEY",
        }, name
    # The web, default worker and beat never hold provider keys.
    for name in ("web", "worker", "beat", "migrate"):
        env_files = services[name].get("env_file") or []
        env_files = [env_files] if isinstance(env_files, str | dict) else env_files
        assert all(".keys" not in (f["path"] if isinstance(f, dict) else f) for f in env_files), name
