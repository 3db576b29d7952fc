"""Model lists and their filters: the one place that knows how to filter the registry.

The leaderboard filters its rows with the same function (`model_filter`), so a filter means the same
thing on /models/, /api/v1/models/, the leaderboard page and /api/v1/leaderboard/.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F, Q, QuerySet
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

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
    field = ORDERINGS.get(str(filters.get("ordering") or ""), "repo_id")
    name = field.lstrip("-")
    # Names and ids sort as people read them (case-insensitive); unknown numbers and dates sort last
    # in both directions.
    expression = Lower(name) if name in ("name", "repo_id") else F(name)
    order = expression.desc(nulls_last=True) if field.startswith("-") else expression.asc(nulls_last=True)
    return qs.order_by(order, "repo_id")


def model_get(*, repo_id: str) -> LanguageModel:
    """One model by its id (case-insensitive, as the Hub); raises LanguageModel.DoesNotExist."""
    if "\x00" in repo_id:  # no id holds a NUL, and PostgreSQL refuses one in a query
        raise LanguageModel.DoesNotExist(f"No model {repo_id!r}.")
    return model_queryset().get(repo_id__iexact=repo_id)


def _truthy(value: Any) -> bool:
    return str(value).lower() in {"1", "true", "yes", "on"}


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


# --- validation of public filter values (pages and API) ------------------------------------------

FILTER_KEYS = (
    "weights",
    "language",
    "license",
    "commercial",
    "organization",
    "min_params",
    "max_params",
    "size",
    "modality",
    "base",
    "search",
    "on_hub",
    "ordering",
)
_BOOLEAN_WORDS = {
    "1": True,
    "true": True,
    "yes": True,
    "on": True,
    "0": False,
    "false": False,
    "no": False,
    "off": False,
}
_SCALE = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}


class FilterError(ValueError):
    """Bad filter values; `errors` maps each bad filter to a message a user can act on."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()))
        self.errors = errors


def parameters_parse(value: Any) -> int:
    """ "7B" -> 7_000_000_000, "135M" -> 135_000_000, "6738415616" -> 6738415616; raises ValueError."""
    text = str(value).strip().upper().replace("_", "").replace(",", "")
    suffix = text[-1:] if text[-1:] in _SCALE and text[-1:] != "" else ""
    number = text[: -len(suffix)] if suffix else text
    result = float(number) * _SCALE[suffix] if suffix else int(number)
    if result < 0 or result != result or result > 10**15:  # negative, NaN, absurd
        raise ValueError(value)
    return int(result)


def model_filters_clean(params: Any) -> dict[str, Any]:
    """Validate the public filters from a query string (a QueryDict or a dict).

    Returns the non-empty filters, normalized (language lower-case, parameter bounds as ints,
    booleans as bools), ready for `model_filter`/`model_list`. Raises FilterError naming every bad value.
    """
    raw = {key: str(params.get(key) or "").strip() for key in FILTER_KEYS}
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    choices = {
        "weights": [c for c, _ in LanguageModel.Weights.choices],
        "modality": [c for c, _ in LanguageModel.Modality.choices],
        "size": list(SIZE_BUCKETS),
        "ordering": list(ORDERINGS),
    }
    for key, allowed in choices.items():
        if raw[key]:
            if raw[key] in allowed:
                cleaned[key] = raw[key]
            else:
                errors[key] = _("'%(value)s' is not one of: %(choices)s.") % {
                    "value": raw[key][:50],
                    "choices": ", ".join(allowed),
                }
    if raw["language"]:
        code = raw["language"].lower()
        if len(code) == 2 and code.isascii() and code.isalpha():
            cleaned["language"] = code
        else:
            errors["language"] = _("Use a two-letter ISO 639-1 code such as 'en' or 'zh'.")
    for key in ("commercial", "on_hub"):
        if raw[key]:
            if raw[key].lower() in _BOOLEAN_WORDS:
                cleaned[key] = _BOOLEAN_WORDS[raw[key].lower()]
            else:
                errors[key] = _("Use true or false.")
    for key in ("min_params", "max_params"):
        if raw[key]:
            try:
                cleaned[key] = parameters_parse(raw[key])
            except (ValueError, OverflowError):
                errors[key] = _("Use a parameter count such as 7000000000 or 7B (K, M, B, T suffixes).")
    if "min_params" in cleaned and "max_params" in cleaned and cleaned["min_params"] > cleaned["max_params"]:
        errors["max_params"] = _("max_params must not be below min_params.")
    for key, limit in (("license", 100), ("organization", 100), ("base", 200), ("search", 200)):
        if raw[key]:
            if len(raw[key]) > limit:
                errors[key] = _("At most %(limit)d characters.") % {"limit": limit}
            elif "\x00" in raw[key]:  # PostgreSQL text cannot hold NUL: refuse it rather than fail
                errors[key] = _("Null characters are not allowed.")
            else:
                cleaned[key] = raw[key]
    if errors:
        raise FilterError(errors)
    if cleaned.get("commercial") is False:
        del cleaned["commercial"]  # "not only commercial" is the same as no filter
    return cleaned


# --- one model's neighbourhood --------------------------------------------------------------------

MEMORY_PRECISIONS: tuple[tuple[str, int], ...] = (("fp16", 16), ("int8", 8), ("int4", 4))


def model_lineage(*, model: LanguageModel, max_depth: int = 10) -> tuple[list[LanguageModel], list[LanguageModel]]:
    """(base chain from the direct base upwards, direct derivatives ordered by id).

    The chain stops at `max_depth` or at a cycle, so a bad base link never loops.
    """
    chain: list[LanguageModel] = []
    seen = {model.pk}
    current = model
    while current.base_model_id and current.base_model_id not in seen and len(chain) < max_depth:
        current = LanguageModel.objects.select_related("organization", "license").get(pk=current.base_model_id)
        seen.add(current.pk)
        chain.append(current)
    derivatives = list(
        LanguageModel.objects.filter(base_model=model).select_related("organization", "license").order_by("repo_id")
    )
    return chain, derivatives


def model_description(model: LanguageModel, language: str | None = None) -> str:
    """The model's description in the page's language: the Chinese text for `zh*` where there is one, else the
    English; a model with only one of them shows that one in either language."""
    if language and language.lower().startswith("zh"):
        return model.description_zh or model.description
    return model.description or model.description_zh


def model_hub_url(model: LanguageModel) -> str:
    """Link to the model on the Hub (settings.HF_ENDPOINT): synced models, and catalog entries that are Hub repos."""
    from django.conf import settings

    from registry.catalog import HUB_REPO_IDS

    if model.hub_url:
        return model.hub_url
    if model.weights == LanguageModel.Weights.OPEN and model.repo_id in HUB_REPO_IDS:
        return f"{settings.HF_ENDPOINT.rstrip('/')}/{model.repo_id}"
    return ""


def model_memory(*, model: LanguageModel) -> list[dict[str, Any]]:
    """Weights-only memory to load the model at fp16/int8/int4 (bytes and GiB); empty when the size is unknown."""
    from registry.formatting import memory_bytes

    rows = []
    for label, bits in MEMORY_PRECISIONS:
        size = memory_bytes(model.parameters, bits)
        if size is not None:
            rows.append({"precision": label, "bits": bits, "bytes": size, "gib": round(size / 2**30, 1)})
    return rows


def model_release_text(model: LanguageModel) -> str | None:
    """The release date at its precision: "2023-07-18", "2023-07" or "2023"; None when unknown."""
    date = model.release_date
    if date is None:
        return None
    if model.release_date_precision == LanguageModel.DatePrecision.YEAR:
        return f"{date.year:04d}"
    if model.release_date_precision == LanguageModel.DatePrecision.MONTH:
        return f"{date.year:04d}-{date.month:02d}"
    return date.isoformat()


# Facts recorded in `sources` for bookkeeping only: the Chinese description has the description's source.
_SOURCES_HIDDEN = frozenset({"description_zh"})


def model_sources(*, model: LanguageModel, language: str | None = None) -> dict[str, dict[str, str]]:
    """Where each non-Hub fact came from: {fact: {"url", "note", "note_zh", "by"}} (bookkeeping removed).

    `note` is the English note and `note_zh` its Chinese text where the catalog has one; with a Chinese
    `language` (a page in Chinese), `note` is the Chinese text when there is one.
    """
    chinese = bool(language) and language.lower().startswith("zh")
    result: dict[str, dict[str, str]] = {}
    for fact, record in sorted((model.sources or {}).items()):
        if fact in _SOURCES_HIDDEN:
            continue
        if isinstance(record, dict):
            entry = {k: str(record[k]) for k in ("url", "note", "note_zh", "by") if record.get(k)}
            if chinese and entry.get("note_zh"):
                entry["note"] = entry["note_zh"]
        elif isinstance(record, str) and record.startswith("hub:"):
            # A Hub sync's marker, e.g. "hub:createdAt" (the date the repository was created).
            entry = {"note": _("Hugging Face Hub field %(field)s") % {"field": record[4:]}, "by": "hub"}
        elif record:
            entry = {"url": str(record)}
        else:
            continue
        # Only web links are links: anything else (javascript:, data:) is shown as text, if at all.
        if "url" in entry and not entry["url"].lower().startswith(("https://", "http://")):
            entry["note"] = " ".join(filter(None, [entry.pop("url"), entry.get("note", "")]))
        result[fact] = entry
    return result
