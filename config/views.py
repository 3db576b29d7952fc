"""Process health endpoints for load balancers and orchestrators.

/healthz: the process is alive (no I/O; a liveness probe must not fail because PostgreSQL is slow).
/readyz: the database answers and has every migration of this release, and the broker answers, within a
couple of seconds; 503 names the failing check. Neither leaks hosts, ports or credentials: a failure reports the exception class only and the
details go to the log.
"""

from __future__ import annotations

import logging

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)

# Seconds a readiness check may take before the broker counts as down.
BROKER_TIMEOUT = 2.0


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive and serving requests."""
    return JsonResponse({"status": "ok"})


def _database_check() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


# Set once every migration on disk is applied: the schema never goes back under a running process.
_migrations_current = False


def _migrations_check() -> str:
    """ "ok" when the database has every migration this code ships, else how many are missing.

    A web process of a new release stays out of the load balancer until `migrate` has run.
    """
    global _migrations_current
    if _migrations_current:
        return "ok"
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        return f"error: {len(plan)} unapplied"
    _migrations_current = True
    return "ok"


def _broker_check() -> str:
    from config.celery import app

    # A fresh connection each time, never the pooled producer one: a probe must see the broker as it
    # is now, and must not wait on kombu's default retry policy (which retries for ever).
    conn = app.connection_for_write(connect_timeout=BROKER_TIMEOUT)
    try:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT)
        if conn.transport.driver_type == "redis":
            conn.default_channel.client.ping()
    finally:
        conn.release()
    return "ok"


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """The database answers and is migrated, and the broker answers: 200, else 503 naming the failing check."""
    checks: dict[str, str] = {}
    for name, check in (("database", _database_check), ("migrations", _migrations_check), ("broker", _broker_check)):
        if name == "migrations" and checks["database"] != "ok":
            checks[name] = "skipped"
            continue
        try:
            checks[name] = check()
        except Exception as exc:  # any failure means not ready
            logger.warning("readiness check %s failed: %s", name, exc.__class__.__name__, exc_info=True)
            checks[name] = f"error: {type(exc).__name__}"
    if checks["database"] != "ok":
        # A connection killed by a database restart stays broken: drop it so the next probe reconnects.
        connection.close_if_unusable_or_obsolete()
    failed = [name for name, result in checks.items() if result not in ("ok", "skipped")]
    body = {"status": "unavailable" if failed else "ok", "checks": checks, "failed": failed}
    return JsonResponse(body, status=503 if failed else 200)


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404: the API's JSON error body under /api/ (config/api_errors.py), Django's page elsewhere."""
    if _is_api(request):
        return JsonResponse({"error": {"code": "not_found", "message": "No such API resource."}}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """500: the API's JSON error body without detail under /api/ (the traceback goes to the log)."""
    if _is_api(request):
        return JsonResponse({"error": {"code": "server_error", "message": "Internal server error."}}, status=500)
    return defaults.server_error(request)


def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico: browsers ask for it whatever the page links; the site's SVG icon (cached a day)."""
    from django.conf import settings

    icon = settings.BASE_DIR / "static" / "favicon.svg"
    response = HttpResponse(icon.read_bytes(), content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response
