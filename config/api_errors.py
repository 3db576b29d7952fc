"""One error body for every API error: `{"error": {"code", "message", "field"?, "fields"?}}`.

Registered as REST_FRAMEWORK["EXCEPTION_HANDLER"], so the registry and evals APIs answer 400, 401,
403, 404, 405, 409, 413, 415 and 429 the same way. `code` is stable and machine-readable, `message`
is for people, `field` names the input an error is about (the first one, where there are several;
`fields` then lists every field's messages). Also: a JSON parser that refuses oversized bodies with
413 instead of reading them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "payload_too_large"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The request conflicts with the current state of the resource.")
    default_code = "conflict"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("A service this request needs is unavailable; try again later.")
    default_code = "unavailable"


class BoundedJSONParser(JSONParser):
    """JSON bodies up to DATA_UPLOAD_MAX_MEMORY_SIZE bytes; larger ones are refused with 413 unread."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        limit = getattr(settings, "DATA_UPLOAD_MAX_MEMORY_SIZE", None) or 256 * 1024
        request = (parser_context or {}).get("request")
        length = 0
        if request is not None:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
        if length > limit:
            raise PayloadTooLarge(_("The request body is larger than %(limit)d bytes.") % {"limit": limit})
        import io

        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise PayloadTooLarge(_("The request body is larger than %(limit)d bytes.") % {"limit": limit})
        return super().parse(io.BytesIO(data), media_type, parser_context)


_DEFAULT_CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "throttled",
    503: "unavailable",
}


def _first_error(detail: Any, prefix: str = "") -> tuple[str | None, str, str]:
    """(field, message, code) of the first error in a DRF detail structure."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = key if key != "non_field_errors" else None
            field = f"{prefix}.{name}" if prefix and name else (name or prefix or None)
            found_field, message, code = _first_error(value, field or "")
            return found_field or field, message, code
        return None, "", "invalid"
    if isinstance(detail, list):
        if not detail:
            return None, "", "invalid"
        return _first_error(detail[0], prefix)
    code = getattr(detail, "code", None) or "invalid"
    return (prefix or None), str(detail), str(code)


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {k: _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_flatten(v) for v in detail]
    return str(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with every error reshaped to `{"error": {"code", "message", "field"?}}`."""
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    body: dict[str, Any] = {}
    detail = getattr(exc, "detail", None)
    if isinstance(exc, exceptions.ValidationError) and isinstance(detail, dict | list):
        field, message, code = _first_error(detail)
        body = {"code": code if code != "invalid" else "invalid", "message": message}
        if field:
            body["field"] = field
            body["message"] = f"{field}: {message}"
        if isinstance(detail, dict):
            body["fields"] = _flatten(detail)
    else:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
        code = codes if isinstance(codes, str) else _DEFAULT_CODES.get(response.status_code, "error")
        if code == "error" or code == "invalid" and response.status_code != 400:
            code = _DEFAULT_CODES.get(response.status_code, "error")
        message = str(detail) if detail is not None and not isinstance(detail, dict | list) else ""
        if isinstance(detail, dict | list):
            _field, message, _code = _first_error(detail)
        body = {"code": code, "message": message or str(exc)}
        extra_field = getattr(exc, "field", None)
        if extra_field:
            body["field"] = extra_field
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        body["retry_after"] = int(exc.wait)
    response.data = {"error": body}
    return response
