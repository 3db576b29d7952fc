"""Model lists and their filters: the one place that knows how to filter the registry.

The leaderboard filters its rows with the same function (`model_filter`), so a filter means the same
thing on /models/, /api/v1/models/, the leaderboard page and /api/v1/leaderboard/.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from registry.models import LanguageModel, License

# "Edge <=3B", "Consumer 3-7B", ... as the Open LLM Leaderboard v2 presets, in parameters.
SIZE_BUCKETS: dict[str, tuple[int | None, int | None]] = {
    "edge": (None, 3_500_000_000),
    "consumer": (3_500_000_000, 9_000_000_000),
    "mid": (9_000_000_000, 70_000_000_000),
    "large": (70_000_000_000, None),
}
ORDERINGS = {
    "name": "name",
    "-name": "-name",
    "parameters": "parameters",
    "-parameters": "-parameters",
    "downloads": "downloads",
    "-downloads": "-downloads",
    "likes": "likes",
    "-likes": "-likes",
    "release_date": "release_date",
    "-release_date": "-release_date",
    "id": "repo_id",
    "-id": "-repo_id",
}


def model_queryset() -> QuerySet[LanguageModel]:
    """Models with everything a list row shows, in a fixed number of queries."""
    return LanguageModel.objects.select_related("organization", "license", "base_model").prefetch_related("languages")


def model_filter(qs: QuerySet[LanguageModel], filters: dict[str, Any]) -> QuerySet[LanguageModel]:
    """Apply the public filters (all optional; unknown keys are ignored):

    weights (open|closed), language (ISO 639-1), license (key), commercial (true: commercial use
    allowed, with or without conditions), organization (slug), min_params, max_params (ints),
    size (edge|consumer|mid|large), modality, base (a base model id: the model itself and every
    model derived from it), search (substring of id or name), on_hub (true|false).
    """
    weights = filters.get("weights")
    if weights:
        qs = qs.filter(weights=weights)
    language = filters.get("language")
    if language:
        qs = qs.filter(languages__code=str(language).lower())
    license_key = filters.get("license")
    if license_key:
        qs = qs.filter(license__key__iexact=license_key)
    if _truthy(filters.get("commercial")):
        qs = qs.filter(license__commercial_use__in=[License.Commercial.YES, License.Commercial.RESTRICTED])
    organization = filters.get("organization")
    if organization:
        qs = qs.filter(organization__slug__iexact=organization)
    low, high = SIZE_BUCKETS.get(str(filters.get("size") or ""), (None, None))
    min_params = _int_or_none(filters.get("min_params"))
    max_params = _int_or_none(filters.get("max_params"))
    low = max(v for v in (low, min_params) if v is not None) if (low or min_params) else None
    high = min(v for v in (high, max_params) if v is not None) if (high or max_params) else None
    if low is not None:
        qs = qs.filter(parameters__gte=low)
    if high is not None:
        qs = qs.filter(parameters__lte=high)
    modality = filters.get("modality")
    if modality:
        qs = qs.filter(modality=modality)
    base = filters.get("base")
    if base:
        qs = qs.filter(Q(repo_id__iexact=base) | Q(base_model__repo_id__iexact=base) | Q(base_model_ref__iexact=base))
    on_hub = filters.get("on_hub")
    if on_hub not in (None, ""):
        qs = qs.filter(on_hub=_truthy(on_hub))
    search = (filters.get("search") or "").strip()
    if search:
        qs = qs.filter(Q(repo_id__icontains=search) | Q(name__icontains=search))
    if language:
        qs = qs.distinct()
    return qs


def model_list(*, filters: dict[str, Any] | None = None) -> QuerySet[LanguageModel]:
    """Filtered, ordered models (`ordering` in filters: one of ORDERINGS, default by id)."""
    filters = filters or {}
    qs = model_filter(model_queryset(), filters)
    return qs.order_by(ORDERINGS.get(str(filters.get("ordering") or ""), "repo_id"), "repo_id")


def model_get(*, repo_id: str) -> LanguageModel:
    """One model by its id (case-insensitive, as the Hub); raises LanguageModel.DoesNotExist."""
    return model_queryset().get(repo_id__iexact=repo_id)


def _truthy(value: Any) -> bool:
    return str(value).lower() in {"1", "true", "yes", "on"}


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
