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


class RequestBodyLimitMiddleware:
    """Refuses request bodies by their headers, before anything reads them.

    Under /api/ a body must be JSON (else 415) of at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes (else 413):
    without this, session authentication's CSRF check would parse a multipart body (files spooled to
    disk) before the API's JSON-only parser could refuse it. Anywhere else a body over
    REQUEST_BODY_MAX_SIZE answers 413; smaller form posts keep Django's own limits. Errors under /api/
    have the API's error body (config/api_errors.py).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refused = self._refusal(request)
        return refused if refused is not None else self.get_response(request)

    @staticmethod
    def _refusal(request: HttpRequest) -> HttpResponse | None:
        from django.conf import settings
        from django.http import JsonResponse
        from django.utils.translation import gettext as _

        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        if length <= 0 and not chunked:
            return None
        if request.path_info.startswith("/api/"):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 256 * 1024
            media_type = (request.content_type or "").lower()
            if media_type != "application/json" and not media_type.endswith("+json"):
                message = _(
                    'Unsupported media type "%(type)s": the API accepts JSON request bodies only '
                    "(Content-Type: application/json)."
                ) % {"type": media_type or "none"}
                body = {"error": {"code": "unsupported_media_type", "message": message}}
                return JsonResponse(body, status=415)
            if length > limit:
                message = _("The request body is larger than %(limit)d bytes.") % {"limit": limit}
                return JsonResponse({"error": {"code": "payload_too_large", "message": message}}, status=413)
            return None
        limit = settings.REQUEST_BODY_MAX_SIZE
        if length > limit:
            message = _("The request body is larger than %(limit)d bytes.") % {"limit": limit}
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return None
