"""docker-compose.yml and the Dockerfile: the stack an operator starts is complete and valid.

`docker compose config` validates and normalizes the file without a Docker engine. The Compose v2
client is the `docker compose` plugin or a `docker-compose` binary on PATH (.ci/run installs one).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _compose_command() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    binary = shutil.which("docker-compose")
    if binary:
        probe = subprocess.run([binary, "version"], capture_output=True, text=True, check=False)
        if probe.returncode == 0 and "v2." in probe.stdout:
            return [binary]
    return None


@pytest.fixture(scope="module")
def compose_model(tmp_path_factory) -> dict:
    """The normalized compose model, as `docker compose config` resolves it with .env.example as .env."""
    command = _compose_command()
    if command is None:
        pytest.skip("no Docker Compose v2 client here (.ci/run installs one)")
    project = tmp_path_factory.mktemp("compose")
    shutil.copy(ROOT / ".env.example", project / ".env")
    result = subprocess.run(
        [*command, "-f", str(ROOT / "docker-compose.yml"), "--project-directory", str(project)]
        + ["--profile", "gpu", "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compose_defines_the_whole_stack(compose_model):
    services = compose_model["services"]
    assert {"postgres", "redis", "migrate", "web", "worker", "worker-evals", "beat"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "ping" in services["redis"]["healthcheck"]["test"]
    assert "postgres-data" in compose_model["volumes"]


def test_application_services_wait_for_healthy_postgres_and_redis_and_for_migrations(compose_model):
    services = compose_model["services"]
    for name in ("web", "worker", "worker-evals", "beat"):
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
    assert "migrate" in " ".join(services["migrate"]["command"])
    assert "load_catalog" in " ".join(services["migrate"]["command"])


def test_workers_consume_their_own_queues_and_evals_take_one_task_at_a_time(compose_model):
    services = compose_model["services"]
    worker = " ".join(services["worker"]["command"])
    evals = " ".join(services["worker-evals"]["command"])
    assert "-Q celery" in worker
    assert "-Q evals" in evals
    assert "--prefetch-multiplier=1" in evals
    assert "--concurrency=1" in evals
    assert "beat" in services["beat"]["command"]
    assert services["web"]["command"][0] == "gunicorn"
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])


def test_web_image_has_no_torch_and_eval_image_has_the_eval_extra(compose_model):
    services = compose_model["services"]
    assert services["web"]["build"]["target"] == "web"
    assert services["worker-evals"]["build"]["target"] == "eval"
    gpu = services["worker-evals-gpu"]
    assert gpu["profiles"] == ["gpu"]
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["driver"] == "nvidia"
    dockerfile = (ROOT / "Dockerfile").read_text()
    web_stage = dockerfile.split("AS web", 1)[1]
    assert "torch" not in web_stage.split("RUN", 1)[0]
    assert "USER ladder" in web_stage
    assert "collectstatic" in web_stage
    assert 'pip install ".[eval]"' in dockerfile


def test_application_services_read_settings_from_the_env_file_and_require_a_secret_key(compose_model):
    services = compose_model["services"]
    for name in ("migrate", "web", "worker", "worker-evals", "beat"):
        environment = services[name]["environment"]
        # Values come from .env (here: .env.example), plus the stack's own guard.
        assert environment["DATABASE_URL"].startswith("postgres://"), name
        assert environment["CELERY_BROKER_URL"].startswith("redis://"), name
        if name == "worker-evals":
            # Evaluation workers get only what an evaluation needs: never the signing key.
            assert "SECRET_KEY" not in environment and "LADDER_REQUIRE_SECRET_KEY" not in environment
        else:
            assert environment["LADDER_REQUIRE_SECRET_KEY"] == "1", name


def test_web_and_workers_get_the_hub_publishing_settings_and_evaluation_workers_never_the_write_token(compose_model):
    services = compose_model["services"]
    for name in ("web", "worker", "beat"):
        environment = services[name]["environment"]
        assert {"LADDER_HUB_WRITE_TOKEN", "LADDER_PUBLIC_URL"} <= set(environment), name
    for name in ("worker-evals", "worker-evals-gpu"):
        assert "LADDER_HUB_WRITE_TOKEN" not in services[name]["environment"], name
