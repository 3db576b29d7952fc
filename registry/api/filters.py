"""The model filters as OpenAPI query parameters, generated from registry.selectors.models.ModelFilters.

The models list and the leaderboard (JSON and CSV) document the same filters from this one list.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from registry.selectors.models import PARAMETERS_PATTERN, FilterError, ModelFilters


def _schema(key: str, kind: str, limit: int) -> Any:
    if kind == "bool":
        return OpenApiTypes.BOOL
    if kind == "choice":
        return {"type": "string", "enum": ModelFilters.choices(key)}
    if kind == "parameters":
        # "7B" is a valid count: a string with the accepted pattern, not an integer.
        return {"type": "string", "pattern": PARAMETERS_PATTERN, "example": "7B"}
    if kind == "language":
        return {"type": "string", "pattern": "^[A-Za-z]{2}$", "example": "zh"}
    return {"type": "string", "maxLength": limit}


MODEL_FILTER_PARAMETERS = [
    OpenApiParameter(key, _schema(key, kind, limit), description=help_text)
    for key, kind, help_text, limit in ModelFilters.terms()
]


def filter_error_detail(exc: FilterError) -> dict[str, list[str]]:
    """A FilterError as DRF validation detail: the API's error body names `field` and lists `fields`."""
    return {key: [message] for key, message in exc.errors.items()}
