"""Fixtures of the web page tests: registry rows and evaluation runs built with the ORM, a browser."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.evals.runfixtures import endpoint_model, fake_openai, openai_env  # noqa: F401

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def make_model(db):
    """Build a registry model: make_model("org/name", parameters=..., languages=["en"], license="apache-2.0")."""
    from registry.models import Language, LanguageModel, License, Organization

    def make(repo_id: str = "HuggingFaceTB/SmolLM2-135M-Instruct", *, languages=("en",), license="apache-2.0", **kw):
        org_slug = repo_id.split("/", 1)[0]
        org, _ = Organization.objects.get_or_create(slug=org_slug, defaults={"name": org_slug})
        lic = None
        if license:
            lic, _ = License.objects.get_or_create(key=license, defaults={"name": license, "commercial_use": "yes"})
        defaults = {
            "name": repo_id.split("/", 1)[1],
            "organization": org,
            "weights": "open",
            "parameters": 134_515_008,
            "license": lic,
            "pipeline_tag": "text-generation",
            "hub_sha": "a" * 40,
        }
        defaults.update(kw)
        model, _ = LanguageModel.objects.update_or_create(repo_id=repo_id, defaults=defaults)
        for code in languages:
            lang, _ = Language.objects.get_or_create(code=code)
            model.languages.add(lang)
        return model

    return make


@pytest.fixture
def make_run(db):
    """Build an evaluation run directly in the database (status, progress and timings as given)."""
    from evals.models import EvalRun

    def make(model, **kw):
        defaults = {
            "suite": "quick",
            "benchmarks": ["arc_easy", "hellaswag"],
            "revision_sha": model.hub_sha or "b" * 40,
            "engine_version": "test",
        }
        defaults.update(kw)
        created_at = defaults.pop("created_at", None)
        run = EvalRun.objects.create(model=model, **defaults)
        if created_at is not None:
            EvalRun.objects.filter(pk=run.pk).update(created_at=created_at)
            run.refresh_from_db()
        return run

    return make


@pytest.fixture
def chromium(live_server, monkeypatch):
    """Debian's Chromium launched by Playwright (skips where /usr/bin/chromium is absent)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the test's ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from django.db import connections
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
            # ORM calls made while Playwright's loop ran opened their own connection (a separate
            # context): close it here, or the test database cannot be dropped at the end.
            connections.close_all()


@pytest.fixture
def chromium_page(chromium, live_server):
    """A Playwright page in Chromium, pointed at the live server, in English."""
    context = chromium.new_context(base_url=live_server.url, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def fake_hub(settings, monkeypatch):
    """The fake Hugging Face Hub (a real HTTP server) with the fixture models plus a few policy cases."""
    from tests.hubfake import FakeHub, fixture_models, model_record

    monkeypatch.delenv("HF_TOKEN", raising=False)
    extra = [
        model_record(
            "ladder-fixtures/no-license-135m",
            card_data={"language": ["en"]},
            safetensors={"BF16": 134_515_008},
            config_file={"architectures": ["LlamaForCausalLM"], "model_type": "llama"},
        ),
        model_record(
            "ladder-fixtures/huge-70b",
            card_data={"license": "apache-2.0", "language": ["en"]},
            tags=["license:apache-2.0"],
            safetensors={"BF16": 70_553_706_496},
            config_file={"architectures": ["LlamaForCausalLM"], "model_type": "llama"},
        ),
    ]
    with FakeHub(fixture_models() + extra) as hub:
        settings.HF_ENDPOINT = hub.url
        yield hub


@pytest.fixture
def broker_down(monkeypatch):
    """Point the Celery app at a port where nothing listens (a real refused connection), then restore."""
    import socket

    from config.celery import app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    def reset_pools() -> None:
        app.amqp._producer_pool = None
        app._pool = None

    reset_pools()
    # The producer connects with broker_write_url (CELERY_BROKER_WRITE_URL wins over the conf).
    monkeypatch.setenv("CELERY_BROKER_WRITE_URL", f"redis://127.0.0.1:{port}/0")
    yield port
    monkeypatch.undo()
    reset_pools()
