"""/healthz and /readyz: what a load balancer and an orchestrator see, with real faults injected."""

from __future__ import annotations

import socket

import pytest
from django.db import connection, connections

from config.celery import app


def _closed_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_healthz_answers_ok_without_touching_the_database(client):
    response = client.get("/healthz")  # no django_db mark: any query would raise
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_is_ok_when_database_and_broker_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "migrations": "ok", "broker": "ok"}
    assert body["failed"] == []


@pytest.mark.django_db
def test_readyz_names_the_broker_when_it_does_not_answer(client, monkeypatch):
    port = _closed_port()
    # Celery reads CELERY_BROKER_URL from the environment before its own settings.
    monkeypatch.setenv("CELERY_BROKER_URL", f"redis://127.0.0.1:{port}/0")
    monkeypatch.setitem(app.conf, "broker_url", f"redis://127.0.0.1:{port}/0")
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["broker"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("error: ")
    # The probe reports the failure, not where the broker lives.
    assert str(port) not in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_readyz_names_the_database_when_its_connection_is_killed(client):
    """What a PostgreSQL restart looks like to the web process: its connection is terminated."""
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    killer = connections.create_connection("default")
    try:
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        killer.close()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["database"]
    # The request cycle throws the dead connection away; the next probe reconnects and is ready again.
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()


@pytest.mark.django_db
def test_readyz_keeps_a_new_release_out_until_its_migrations_are_applied(client, monkeypatch):
    """A web process whose code ships a migration the database lacks is not ready (rolling upgrades)."""
    from config import views

    monkeypatch.setattr(views, "_migrations_current", False)
    with connection.cursor() as cursor:  # rolled back with the test's transaction
        # The newest migration of the app: what a release that ships it would find missing.
        cursor.execute(
            "DELETE FROM django_migrations WHERE app = 'evals' AND name = "
            "(SELECT max(name) FROM django_migrations WHERE app = 'evals')"
        )
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["migrations"]
    assert body["checks"]["migrations"].startswith("error: ") and "unapplied" in body["checks"]["migrations"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_on_the_containers_own_address_under_production_host_and_https_rules(client, settings, path):
    """A probe from the orchestrator uses Host 127.0.0.1 over plain HTTP: no 400, no 301 to HTTPS."""
    settings.ALLOWED_HOSTS = ["ladder.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(path, HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_other_pages_still_obey_allowed_hosts_and_the_https_redirect(client, settings):
    settings.ALLOWED_HOSTS = ["ladder.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/api/schema/", HTTP_HOST="evil.example.net").status_code == 400
    response = client.get("/api/schema/", HTTP_HOST="ladder.example.com")
    assert response.status_code == 301
    assert response["Location"].startswith("https://ladder.example.com/")
