"""Model lists and their filters: the one definition of what a model filter is.

`ModelFilters` holds the filter terms (keys, parsing, validation, size buckets); the models page and
API, the leaderboard page and API and the leaderboard CSV all parse their query strings with
`ModelFilters.parse`, and the leaderboard filters its rows with `model_filter`, so a filter means the
same thing, and a bad value the same error, on every surface.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from django.db.models import F, Q, QuerySet
from django.db.models.functions import Lower
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from registry.models import LanguageModel, License

# Size buckets as the Open LLM Leaderboard v2 presets: [low, high) in parameters, so every model of
# known size is in exactly one bucket.
SIZE_BUCKETS: dict[str, tuple[int | None, int | None]] = {
    "edge": (None, 3_500_000_000),
    "consumer": (3_500_000_000, 9_000_000_000),
    "mid": (9_000_000_000, 70_000_000_000),
    "large": (70_000_000_000, None),
}
SIZE_BUCKET_LABELS: dict[str, Promise] = {
    "edge": gettext_lazy("Edge (<3.5B)"),
    "consumer": gettext_lazy("Consumer (3.5–9B)"),
    "mid": gettext_lazy("Mid-range (9–70B)"),
    "large": gettext_lazy("Large (≥70B)"),
}
# Sort orders of the model list (the leaderboard has its own: rank, scores).
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

# A parameter count as people write it: 7000000000, 7B, 1.5b, 500M, 7 B.
PARAMETERS_PATTERN = r"^\s*\d+(\.\d+)?\s*[KkMmBbTt]?\s*$"
_PARAMETERS_RE = re.compile(r"^(\d+)(?:\.(\d+))?\s*([KMBT]?)$")
_SCALE = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}
_MAX_PARAMETERS = 10**15
_BOOLEAN_WORDS = {
    **dict.fromkeys(("1", "true", "t", "yes", "y", "on"), True),
    **dict.fromkeys(("0", "false", "f", "no", "n", "off"), False),
}


class FilterError(ValueError):
    """Bad filter values; `errors` maps each bad filter to a message a user can act on, `field` is the first."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()))
        self.errors = errors
        self.field = next(iter(errors))


def parameters_parse(value: Any) -> int:
    """ "7B" -> 7_000_000_000, "1.5b" -> 1_500_000_000, "6738415616" -> 6738415616; raises ValueError.

    A fraction needs a suffix (no model has 1.5 parameters); counts above 10**15 are refused.
    """
    match = _PARAMETERS_RE.match(str(value).strip().upper())
    if not match:
        raise ValueError(value)
    whole, fraction, suffix = match.groups()
    if fraction is not None and not suffix:
        raise ValueError(value)
    scale = _SCALE[suffix]
    digits = fraction or ""
    # Exact decimal arithmetic: "0.1B" is 100_000_000, not 100_000_000.00000001.
    result = (int(whole + digits) * scale + 10 ** len(digits) // 2) // 10 ** len(digits)
    if result > _MAX_PARAMETERS:
        raise ValueError(value)
    return result


def _term(kind: str, help_text: str, *, limit: int = 0) -> Any:
    return field(default=None, metadata={"kind": kind, "help": help_text, "limit": limit})


@dataclass(frozen=True)
class ModelFilters:
    """The public model filters, typed; every term is optional and None means "no filter".

    `parse` reads them from a query string; `apply` filters a LanguageModel queryset. Terms combine
    with AND; a size bucket and min/max_params intersect.
    """

    search: str | None = _term("text", "Substring of the id or the name (case-insensitive).", limit=200)
    weights: str | None = _term("choice", "Open or closed weights.")
    language: str | None = _term("language", "ISO 639-1 code the model supports (en, zh).")
    license: str | None = _term("text", "License key (apache-2.0, llama2, proprietary...).", limit=100)
    commercial: bool | None = _term("bool", "true: only licenses that allow commercial use (false: no filter).")
    organization: str | None = _term("text", "Organization slug (the Hub author).", limit=100)
    min_params: int | None = _term("parameters", "At least this many parameters: 7000000000, 7B, 1.5b, 500M.")
    max_params: int | None = _term("parameters", "At most this many parameters: 13B, 135M...")
    size: str | None = _term("choice", "Size bucket: edge <3.5B, consumer 3.5-9B, mid 9-70B, large >=70B.")
    modality: str | None = _term("choice", "Modality.")
    base: str | None = _term("text", "A base model id: the model itself and its direct derivatives.", limit=200)
    on_hub: bool | None = _term("bool", "Seen on the Hub at the last sync (true) or not (false).")

    @staticmethod
    def choices(key: str) -> list[str]:
        """The allowed values of a choice term."""
        if key == "weights":
            return list(LanguageModel.Weights.values)
        if key == "modality":
            return list(LanguageModel.Modality.values)
        if key == "size":
            return list(SIZE_BUCKETS)
        raise KeyError(key)

    @classmethod
    def terms(cls) -> Iterator[tuple[str, str, str, int]]:
        """(key, kind, help, length limit) of every term, in the order forms show them."""
        for f in fields(cls):
            yield f.name, f.metadata["kind"], f.metadata["help"], f.metadata["limit"]

    @classmethod
    def parse(cls, params: Mapping[str, Any]) -> ModelFilters:
        """The filters of a query string (a QueryDict or a dict; empty values mean no filter).

        Raises FilterError naming every bad value.
        """
        filters, errors = cls.parse_partial(params)
        if errors:
            raise FilterError(errors)
        return filters

    @classmethod
    def parse_partial(cls, params: Mapping[str, Any]) -> tuple[ModelFilters, dict[str, str]]:
        """(the filters with the good values, {key: message} for the bad ones): pages that show the
        rest of a request while explaining what they could not use."""
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for key, kind, _help, limit in cls.terms():
            raw = params.get(key)
            text = "" if raw is None else str(raw).strip()
            if not text:
                continue
            try:
                values[key] = _PARSERS[kind](key, text, limit)
            except _TermError as exc:
                errors[key] = exc.message
        low, high = values.get("min_params"), values.get("max_params")
        if low is not None and high is not None and low > high:
            errors["max_params"] = _("max_params must not be below min_params.")
            del values["max_params"]
        if values.get("commercial") is False:
            del values["commercial"]  # "not only commercial" is the same as no filter
        return cls(**values), errors

    def as_dict(self) -> dict[str, Any]:
        """The terms in use, {key: value}: what `model_filter` takes, and a stable cache key."""
        return {key: value for key, value in self.__dict__.items() if value is not None}

    def __bool__(self) -> bool:
        return any(value is not None for value in self.__dict__.values())

    def parameter_bounds(self) -> tuple[int | None, int | None]:
        """(at least, below) from the size bucket and min/max_params together; None: unbounded."""
        low, below = SIZE_BUCKETS[self.size] if self.size else (None, None)
        if self.min_params is not None:
            low = self.min_params if low is None else max(low, self.min_params)
        if self.max_params is not None:
            below = self.max_params + 1 if below is None else min(below, self.max_params + 1)
        return low, below

    def apply(self, qs: QuerySet[LanguageModel]) -> QuerySet[LanguageModel]:
        """`qs` narrowed to the models these filters select."""
        if self.weights:
            qs = qs.filter(weights=self.weights)
        if self.language:
            qs = qs.filter(languages__code=self.language)
        if self.license:
            qs = qs.filter(license__key__iexact=self.license)
        if self.commercial:
            qs = qs.filter(license__commercial_use__in=[License.Commercial.YES, License.Commercial.RESTRICTED])
        if self.organization:
            qs = qs.filter(organization__slug__iexact=self.organization)
        low, below = self.parameter_bounds()
        if low is not None:
            qs = qs.filter(parameters__gte=low)
        if below is not None:
            qs = qs.filter(parameters__lt=below)
        if self.modality:
            qs = qs.filter(modality=self.modality)
        if self.base:
            qs = qs.filter(
                Q(repo_id__iexact=self.base)
                | Q(base_model__repo_id__iexact=self.base)
                | Q(base_model_ref__iexact=self.base)
            )
        if self.on_hub is not None:
            qs = qs.filter(on_hub=self.on_hub)
        if self.search:
            qs = qs.filter(Q(repo_id__icontains=self.search) | Q(name__icontains=self.search))
        if self.language:
            qs = qs.distinct()
        return qs


# The filter keys, in the order forms show them (the leaderboard's cache keys and "is filtered" test).
FILTER_KEYS = tuple(f.name for f in fields(ModelFilters))


class _TermError(Exception):
    def __init__(self, message: str) -> None:
        self.message = message


def _parse_choice(key: str, text: str, _limit: int) -> str:
    allowed = ModelFilters.choices(key)
    if text not in allowed:
        raise _TermError(
            _("'%(value)s' is not a valid choice; use one of: %(choices)s.")
            % {"value": text[:50], "choices": ", ".join(allowed)}
        )
    return text


def _parse_language(_key: str, text: str, _limit: int) -> str:
    code = text.lower()
    if len(code) == 2 and code.isascii() and code.isalpha():
        return code
    raise _TermError(_("Use a two-letter ISO 639-1 code such as 'en' or 'zh'."))


def _parse_bool(_key: str, text: str, _limit: int) -> bool:
    try:
        return _BOOLEAN_WORDS[text.lower()]
    except KeyError:
        raise _TermError(_("Use true or false.")) from None


def _parse_parameters(_key: str, text: str, _limit: int) -> int:
    try:
        return parameters_parse(text)
    except ValueError:
        raise _TermError(
            _("Use a parameter count such as 7000000000 or 7B (K, M, B, T suffixes; a fraction needs one: 1.5B).")
        ) from None


def _parse_text(_key: str, text: str, limit: int) -> str:
    if len(text) > limit:
        raise _TermError(_("At most %(limit)d characters.") % {"limit": limit})
    if "\x00" in text:  # PostgreSQL text cannot hold NUL: refuse it rather than fail
        raise _TermError(_("Null characters are not allowed."))
    return text


_PARSERS = {
    "choice": _parse_choice,
    "language": _parse_language,
    "bool": _parse_bool,
    "parameters": _parse_parameters,
    "text": _parse_text,
}


def model_queryset() -> QuerySet[LanguageModel]:
    """Models with everything a list row shows, in a fixed number of queries."""
    return LanguageModel.objects.select_related("organization", "license", "base_model").prefetch_related("languages")


def model_filter(qs: QuerySet[LanguageModel], filters: ModelFilters | Mapping[str, Any]) -> QuerySet[LanguageModel]:
    """`qs` narrowed by the filters: a ModelFilters, or a mapping of raw or cleaned values (unknown keys
    are ignored). Raises FilterError on a bad value."""
    if not isinstance(filters, ModelFilters):
        filters = ModelFilters.parse(filters)
    return filters.apply(qs)


def model_filters_clean(params: Mapping[str, Any]) -> dict[str, Any]:
    """The model list's query string validated: the filters in use (see ModelFilters.as_dict) plus
    `ordering` (one of ORDERINGS) when given. Raises FilterError naming every bad value."""
    filters, errors = ModelFilters.parse_partial(params)
    ordering = str(params.get("ordering") or "").strip()
    if ordering and ordering not in ORDERINGS:
        errors["ordering"] = _("'%(value)s' is not a valid choice; use one of: %(choices)s.") % {
            "value": ordering[:50],
            "choices": ", ".join(ORDERINGS),
        }
    if errors:
        raise FilterError(errors)
    cleaned = filters.as_dict()
    if ordering:
        cleaned["ordering"] = ordering
    return cleaned


def model_list(
    *, filters: ModelFilters | Mapping[str, Any] | None = None, ordering: str = ""
) -> QuerySet[LanguageModel]:
    """Filtered, ordered models: `ordering` one of ORDERINGS (default by id; a mapping of filters may
    carry it as its `ordering` key)."""
    if filters is not None and not isinstance(filters, ModelFilters):
        ordering = ordering or str(filters.get("ordering") or "")
    qs = model_filter(model_queryset(), filters or ModelFilters())
    field_name = ORDERINGS.get(ordering, "repo_id")
    name = field_name.lstrip("-")
    # Names and ids sort as people read them (case-insensitive); unknown numbers and dates sort last
    # in both directions.
    expression = Lower(name) if name in ("name", "repo_id") else F(name)
    order = expression.desc(nulls_last=True) if field_name.startswith("-") else expression.asc(nulls_last=True)
    return qs.order_by(order, "repo_id")


def model_get(*, repo_id: str) -> LanguageModel:
    """One model by its id (case-insensitive, as the Hub); raises LanguageModel.DoesNotExist."""
    if "\x00" in repo_id:  # no id holds a NUL, and PostgreSQL refuses one in a query
        raise LanguageModel.DoesNotExist(f"No model {repo_id!r}.")
    return model_queryset().get(repo_id__iexact=repo_id)


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
    chinese = bool(language and language.lower().startswith("zh"))
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
