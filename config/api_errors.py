"""One error body for every API error: `{"error": {"code", "message", "field"?, "fields"?}}`.

Registered as REST_FRAMEWORK["EXCEPTION_HANDLER"], so the registry and evals APIs answer 400, 401,
403, 404, 405, 409, 413, 415 and 429 the same way. `code` is stable and machine-readable, `message`
is for people, `field` names the input an error is about (the first one, where there are several;
`fields` then lists every field's messages). A 429 also says `retry_after` (seconds, as the
Retry-After header). A database that does not answer is a 503 `unavailable`; any other unexpected
exception is a 500 `server_error` whose body says nothing of the internals (the traceback goes to
the log). Also: a JSON parser that refuses oversized bodies with 413 instead of reading them, and
`ErrorResponseSerializer`, the body's OpenAPI description (config/api_schema.py adds it to every
operation's error responses).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "payload_too_large"


class BoundedJSONParser(JSONParser):
    """JSON bodies up to DATA_UPLOAD_MAX_MEMORY_SIZE bytes; larger ones are refused with 413 unread."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
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
    500: "server_error",
    503: "unavailable",
}


class ErrorDetailSerializer(serializers.Serializer):
    """What went wrong: the `error` object of every API error body."""

    code = serializers.CharField(
        help_text="Stable, machine-readable: parse_error, not_authenticated, authentication_failed, "
        "permission_denied, not_found, method_not_allowed, conflict, payload_too_large, unsupported_media_type, "
        "throttled, unavailable, server_error; for a 400, the first invalid field's code (invalid, required, "
        "invalid_choice, max_value, max_length...) or a more precise code of the endpoint (invalid_model_id...)."
    )
    message = serializers.CharField(help_text="For people: what is wrong, naming the field or the resource.")
    field = serializers.CharField(required=False, help_text="The input the error is about (the first one).")
    # DRF's serializer metaclass takes declared fields off the class, so this does not replace `.fields`.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.JSONField(),
        required=False,
        help_text="Validation errors only: every invalid field with its messages.",
    )
    retry_after = serializers.IntegerField(required=False, help_text="429 only: seconds to wait.")


class ErrorResponseSerializer(serializers.Serializer):
    """The body of every API error response."""

    error = ErrorDetailSerializer()


def _first_error(detail: Any, prefix: str = "") -> tuple[str | None, str, str]:
    """(field, message, code) of the first error in a DRF detail structure."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = str(key) if key != "non_field_errors" else None
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


def _unexpected(exc: Exception, context: dict[str, Any]) -> Response:
    """A 503 for a database that does not answer, else a 500; the details go to the log only."""
    request = context.get("request")
    where = f"{request.method} {request.path}" if request is not None else "an API request"
    set_rollback()
    if isinstance(exc, OperationalError | InterfaceError):
        logger.warning("database unavailable during %s: %s", where, type(exc).__name__, exc_info=exc)
        body = {"code": "unavailable", "message": str(_("The database is unavailable; try again later."))}
        return Response({"error": body}, status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "5"})
    logger.error("unhandled exception during %s", where, exc_info=exc)
    body = {"code": "server_error", "message": str(_("Internal server error."))}
    return Response({"error": body}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's handler, with every error reshaped to `{"error": {"code", "message", "field"?, "fields"?}}`.

    Exceptions DRF does not know answer 503 (the database) or 500 (anything else) with the same shape.
    """
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return _unexpected(exc, context)
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
    wait = getattr(exc, "wait", None)  # set by Throttled.__init__ (the stubs do not declare it)
    if isinstance(exc, exceptions.Throttled) and wait is not None:
        body["retry_after"] = int(wait)
    response.data = {"error": body}
    return response
