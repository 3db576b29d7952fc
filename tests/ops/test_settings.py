"""Production settings: what an operator gets from the documented environment, checked in a fresh process.

Settings are read once at import, so each case starts `python` with its own environment.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The settings a production deployment sets (see .env.example): everything else keeps its default.
PRODUCTION_ENV = {
    "DEBUG": "0",
    "ALLOWED_HOSTS": "ladder.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://ladder.example.com",
    "HTTPS": "1",
}

_DROP = {
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "HTTPS",
    "LADDER_REQUIRE_SECRET_KEY",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "BEHIND_PROXY",
    "CSRF_TRUSTED_ORIGINS",
    "LOG_FORMAT",
}


def _run(code_or_args: str | list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """Run `python -c CODE` (or `python ARGS...`) on config.settings.base with exactly this environment."""
    full_env = {k: v for k, v in os.environ.items() if k not in _DROP and not k.startswith("PYTEST")}
    full_env["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    full_env.update(env)
    args = ["-c", code_or_args] if isinstance(code_or_args, str) else code_or_args
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120, check=False
    )


_SHOW_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings as s; print(json.dumps({"
    "k: getattr(s, k) for k in ('DEBUG', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY',"
    " 'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_CONTENT_TYPE_NOSNIFF',"
    " 'X_FRAME_OPTIONS', 'SECRET_KEY', 'ALLOWED_HOSTS')}))"
)


def test_production_environment_passes_check_deploy_with_no_warnings():
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        SECRET_KEY=secrets.token_urlsafe(50),
        **PRODUCTION_ENV,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_flags_the_embedded_development_key():
    """Without SECRET_KEY on loopback hosts the service starts, but check --deploy says the key is unsafe."""
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], DEBUG="0", HTTPS="1")
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


def test_production_settings_make_cookies_secure_and_send_hsts():
    key = secrets.token_urlsafe(50)
    result = _run(_SHOW_SETTINGS, SECRET_KEY=key, **PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert values["SECRET_KEY"] == key
    assert values["ALLOWED_HOSTS"] == ["ladder.example.com"]


def test_settings_refuse_to_start_without_secret_key_when_serving_a_real_host():
    env = {k: v for k, v in PRODUCTION_ENV.items()}
    result = _run("import django; django.setup()", **env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_settings_refuse_to_start_without_secret_key_when_required_explicitly():
    result = _run("import django; django.setup()", DEBUG="0", LADDER_REQUIRE_SECRET_KEY="1")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({"DEBUG": "1", "ALLOWED_HOSTS": "ladder.example.com"}, id="debug-on"),
        pytest.param({"DEBUG": "0"}, id="loopback-only-cli-and-make-run"),
    ],
)
def test_settings_start_without_secret_key_for_development_and_local_commands(env):
    result = _run(_SHOW_SETTINGS, **env)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["SECRET_KEY"].startswith("django-insecure-")
    # Plain HTTP development keeps cookies usable over http://127.0.0.1:8000.
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["SECURE_SSL_REDIRECT"] is False


def test_env_example_lists_every_variable_the_settings_read():
    """Every name settings read from the environment is documented in .env.example, and nothing stale."""
    import re

    sources = [ROOT / "config" / "settings" / "base.py", ROOT / "config" / "env.py"]
    sources += [path for app in ("registry", "evals") for path in (ROOT / app).rglob("*.py")]
    read: set[str] = set()
    # env.str("X"), os.environ.get("X"), os.getenv("X"), and small helpers like _env_float("X", ...).
    pattern = re.compile(r"""(?:\benv(?:\.\w+)?|os\.environ\.get|os\.getenv|\b_env\w*)\(\s*["']([A-Z][A-Z0-9_]+)["']""")
    for source in sources:
        text = source.read_text()
        read |= set(pattern.findall(text))
        read |= set(re.findall(r"""os\.environ\[["']([A-Z][A-Z0-9_]+)["']\]""", text))
    # Set by the process managers, not by an operator.
    read -= {"DJANGO_SETTINGS_MODULE"}
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert read, "the pattern found no variable at all"
    missing = sorted(read - documented)
    assert not missing, f".env.example does not document: {missing}"


_BROKER_OF_MAKE_RUN = (
    "import socket, django\n"
    "real = socket.create_connection\n"
    "def refuse(*args, **kwargs):\n"
    "    raise AssertionError('importing settings opened a connection')\n"
    "socket.create_connection = refuse\n"
    "django.setup()\n"
    "from django.conf import settings\n"
    "assert not hasattr(settings, 'CELERY_BROKER_URL')\n"
    "socket.create_connection = real\n"
    "{before_celery}\n"
    "from config.celery import app\n"
    "print(app.conf.broker_url)\n"
    "print(app.conf.broker_transport_options)\n"
)


def test_settings_import_without_probing_redis_and_celery_picks_the_local_redis_when_it_answers():
    from config.env import redis_answers

    if not redis_answers():
        pytest.skip("no Redis on 127.0.0.1:6379 here")
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "LADDER_REDIS_DB")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.base", DEBUG="1")
    code = _BROKER_OF_MAKE_RUN.format(before_celery="")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    url, options = result.stdout.strip().splitlines()
    assert url == "redis://127.0.0.1:6379/3"
    assert "visibility_timeout" in options


def test_make_run_without_redis_uses_the_filesystem_broker_under_var():
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "LADDER_REDIS_DB")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.base", DEBUG="1")
    # No Redis answers: the probe is told so (the real one would find this machine's Redis).
    code = _BROKER_OF_MAKE_RUN.format(before_celery="import config.env; config.env.redis_answers = lambda: False")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    url, options = result.stdout.strip().splitlines()
    assert url == "filesystem://"
    assert str(ROOT / "var" / "broker" / "in") in options
    assert (ROOT / "var" / "broker" / "in").is_dir() and (ROOT / "var" / "broker" / "processed").is_dir()
