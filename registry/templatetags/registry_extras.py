"""Template filters of the registry pages: release dates at their precision, byte sizes, fact labels."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from registry.selectors.models import model_description, model_release_text

register = template.Library()

FACT_LABELS = {
    "name": _("Name"),
    "organization": _("Organization"),
    "weights": _("Weights"),
    "gated": _("Gated"),
    "parameters": _("Parameters"),
    "active_parameters": _("Active parameters"),
    "context_length": _("Context length"),
    "model_type": _("Model type"),
    "license": _("License"),
    "license_name": _("License name"),
    "languages": _("Languages"),
    "base_model": _("Base model"),
    "modality": _("Modality"),
    "release_date": _("Release date"),
    "provider": _("Provider"),
    "endpoint": _("Endpoint"),
    "local_weights": _("Local weights"),
    "description": _("Description"),
}


@register.filter
def release(model: Any) -> str:
    """The release date at its precision: "2023-07-18", "2023-07" or "2023"; "" when unknown."""
    return model_release_text(model) or ""


@register.filter
def described(model: Any) -> str:
    """The model's description in the active language (Chinese catalog text on a page in Chinese)."""
    return model_description(model, get_language())


# Who recorded a fact (`by` in a source record), as the page's language says it.
SOURCE_BY_LABELS = {"catalog": _("catalog"), "hub": _("Hub"), "admin": _("admin")}


@register.filter
def source_by(by: str) -> str:
    return str(SOURCE_BY_LABELS.get(by, by))


@register.filter
def fact_label(fact: str) -> str:
    return str(FACT_LABELS.get(fact, fact.replace("_", " ")))


@register.filter
def gib(value: Any) -> str:
    """Bytes -> "12.6 GiB" (MiB below one GiB)."""
    try:
        size = int(value)
    except (TypeError, ValueError):
        return ""
    if size < 2**30:
        return f"{size / 2**20:.0f} MiB"
    return f"{size / 2**30:.1f} GiB"


@register.filter
def params(value: Any) -> str:
    """A parameter count in short form: 6738415616 -> "6.7B"."""
    from registry.formatting import parameters_display

    try:
        return parameters_display(int(value)) if value not in (None, "") else ""
    except (TypeError, ValueError):
        return ""


@register.filter
def get_source(sources: Any, fact: str) -> dict[str, str]:
    """The source record of one fact ({} when the fact comes from the Hub)."""
    try:
        return sources.get(fact) or {}
    except AttributeError:
        return {}


# Codes Django's LANG_INFO does not know by these two letters (it has zh-hans/zh-hant), named in their own language.
_LANGUAGE_NAMES_LOCAL = {"zh": "中文", "yue": "粵語", "yo": "Yorùbá", "ha": "Hausa", "zu": "isiZulu", "am": "አማርኛ"}


@register.filter
def language_label(language: Any) -> str:
    """A language as people read it, with its code: "English (en)", "中文 (zh)"; a Language row or a code.

    The name is the language's own (as a language switcher shows it), so a reader finds theirs in any UI
    language; unknown codes fall back to the registry's stored name, then to the bare code.
    """
    from django.conf.locale import LANG_INFO

    code = str(getattr(language, "code", language) or "")
    stored = str(getattr(language, "name", "") or "")
    name = _LANGUAGE_NAMES_LOCAL.get(code) or (LANG_INFO.get(code) or {}).get("name_local") or stored
    return f"{name} ({code})" if name and name != code else code
