"""Middleware of the project itself."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from config import views


class HealthCheckMiddleware:
    """Answers /healthz and /readyz before host validation, the HTTPS redirect, sessions and CSRF.

    Orchestrators probe the container on its own address over plain HTTP (`Host: 127.0.0.1:8000`,
    which a production ALLOWED_HOSTS rightly rejects); the probes say nothing about a user and set no
    cookie, so they are served first. Everything else passes through untouched.
    """

    _PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {"/healthz": views.healthz, "/readyz": views.readyz}

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = self._PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)
