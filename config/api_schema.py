"""OpenAPI generation (drf-spectacular) with the API's error responses documented on every operation.

`ErrorAwareAutoSchema` is REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]. On top of what each view declares,
it adds the error responses the operation can really give, all with the one shared `ErrorResponse`
body of config/api_errors.py:

- 400 when the operation takes a query filter or a request body;
- 401 always (a wrong or expired token is refused on every endpoint, public ones included);
- 403 for writes (and CSRF) and for views that restrict reading (staff only);
- 404 when the path names a resource, or the list is paged by a cursor or page number (an unknown
  cursor, a page past the last);
- 413 and 415 when there is a request body; 429 (with Retry-After) when the operation is throttled.

A response a view declares itself is kept as it is.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.permissions import AllowAny, IsAuthenticatedOrReadOnly

from config.api_errors import ErrorResponseSerializer

# Query parameters that never cause a 400 (pagination falls back to its defaults on bad values).
_PAGINATION_PARAMETERS = {"limit", "offset", "cursor", "page", "per_page", "page_size", "format"}
_READ_OPEN_PERMISSIONS = (AllowAny, IsAuthenticatedOrReadOnly)
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

ERROR_DESCRIPTIONS = {
    "400": "Invalid input: `error.field` names the first invalid parameter, `error.fields` lists them all.",
    "401": "Not authenticated, or the token is wrong.",
    "403": "Authenticated, but not allowed to do this.",
    "404": "No such resource; the message names what was looked for.",
    "409": "The request conflicts with the resource's current state.",
    "413": "The request body is too large.",
    "415": "The request body's content type is not supported (send JSON).",
    "429": "Too many requests: wait `error.retry_after` seconds (also the Retry-After header).",
    "503": "A service the request needs is unavailable; try again later.",
}

RETRY_AFTER_HEADER = {
    "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before trying again."}
}


def error_response(status_code: int | str, description: str | None = None) -> OpenApiResponse:
    """An OpenApiResponse with the shared error body, for views that document an extra error code."""
    return OpenApiResponse(ErrorResponseSerializer, description=description or ERROR_DESCRIPTIONS[str(status_code)])


class ErrorAwareAutoSchema(AutoSchema):
    """AutoSchema that documents the shared error body on every operation's 4xx responses."""

    def get_operation(self, path: str, path_regex: str, path_prefix: str, method: str, registry: Any) -> Any:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for code in self._error_codes(operation):
            if code not in responses:
                responses[code] = self._get_response_for_code(error_response(code), code)
            if code == "429":
                responses[code].setdefault("headers", {}).update(RETRY_AFTER_HEADER)
        # Error bodies are JSON whatever the success response is (the CSV export's 400 included).
        for code, response in responses.items():
            if code >= "400" and "content" in response:
                schema = next(iter(response["content"].values())).get("schema")
                response["content"] = {"application/json": {"schema": schema}}
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_codes(self, operation: dict[str, Any]) -> list[str]:
        query = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
        path_names = [p for p in operation.get("parameters", []) if p.get("in") == "path"]
        has_body = "requestBody" in operation
        codes = ["401"]
        if has_body or any(p["name"] not in _PAGINATION_PARAMETERS for p in query):
            codes.append("400")
        permissions = self.view.get_permissions()
        if self.method not in _SAFE_METHODS or not all(isinstance(p, _READ_OPEN_PERMISSIONS) for p in permissions):
            codes.append("403")
        paginator = getattr(self.view, "pagination_class", None)
        cursor = self.method == "GET" and (
            any(p["name"] == "cursor" for p in query)
            # A page number past the last page answers 404, as an unknown cursor does.
            or (paginator is not None and issubclass(paginator, CursorPagination | PageNumberPagination))
        )
        if path_names or cursor:
            codes.append("404")
        if has_body:
            codes += ["413", "415"]
        try:
            throttles = self.view.get_throttles()
        except Exception:  # a view whose throttles need a real request: none documented
            throttles = []
        if throttles:
            codes.append("429")
        return codes
