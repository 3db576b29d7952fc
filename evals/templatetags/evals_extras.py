"""Template tags of the evals pages.

`{% model_evaluations model %}` renders the evaluation section of the model page (history and the
scores of the counted run per suite, with intervals). Filters format scores: `pct` (0..1 -> "61.2"),
`ci_pct` ([lo, hi] -> "58.3–64.1"), `pm_pct` (half-width of an interval: "±2.9"), and the same with
`_norm` for normalized scores that are already 0..100.
"""

from __future__ import annotations

from typing import Any

from django import template

from evals.selectors.leaderboard import model_evaluation_summary

register = template.Library()


@register.inclusion_tag("evals/partials/model_evaluations.html")
def model_evaluations(model: Any) -> dict[str, Any]:
    from django.db.models import prefetch_related_objects

    summary = model_evaluation_summary(model=model)
    # Queued and running runs show the benchmarks scored so far (one query for the whole history).
    active = [run for run in summary.runs if run.status in ("queued", "running")]
    prefetch_related_objects(active, "results")
    from evals.selectors.costs import endpoint_probe, quick_run_token_estimate

    endpoint = bool(getattr(model, "endpoint_base_url", ""))
    return {
        "model": model,
        "summary": summary,
        "endpoint": endpoint,
        "probe": endpoint_probe(model=model) if endpoint else None,
        "tokens": quick_run_token_estimate(model=model) if endpoint else None,
    }


def _number(value: Any, scale: float) -> str:
    if value is None or value == "":
        return "–"
    try:
        return f"{float(value) * scale:.1f}"
    except (TypeError, ValueError):
        return "–"


@register.filter
def pct(value: Any) -> str:
    """0.6123 -> "61.2" ("–" when unknown)."""
    return _number(value, 100.0)


@register.filter
def norm(value: Any) -> str:
    """A normalized 0..100 score -> "41.3"."""
    return _number(value, 1.0)


def _interval(pair: Any, scale: float) -> str:
    if not pair:
        return ""
    lo, hi = pair
    return f"{lo * scale:.1f}–{hi * scale:.1f}"


@register.filter
def ci_pct(pair: Any) -> str:
    return _interval(pair, 100.0)


@register.filter
def ci_norm(pair: Any) -> str:
    return _interval(pair, 1.0)


@register.filter
def ci_half_pct(stderr: Any) -> str:
    """Half the width of a 95% interval (1.96 standard errors), in points, from a 0-1 standard error."""
    return _number(None if stderr is None else 1.96 * float(stderr), 100.0)


def _half(pair: Any, scale: float) -> str:
    if not pair:
        return ""
    lo, hi = pair
    return f"±{(hi - lo) / 2 * scale:.1f}"


@register.filter
def pm_pct(pair: Any) -> str:
    return _half(pair, 100.0)


@register.filter
def pm_norm(pair: Any) -> str:
    return _half(pair, 1.0)


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def short_sha(value: Any) -> str:
    """A commit sha's first 10 characters; a weights digest (`sha256:<hex>`) keeps its prefix and 10 hex digits,
    so it never shows as a bare `sha256:`."""
    text = str(value or "")
    prefix, sep, digest = text.partition(":")
    if sep and digest:
        return f"{prefix}:{digest[:10]}"
    return text[:10]


@register.filter
def signed_pct(value: Any) -> str:
    """A difference of fractions in points: 0.031 -> "+3.1" ("–" when unknown)."""
    if value is None or value == "":
        return "–"
    try:
        return f"{float(value) * 100:+.1f}"
    except (TypeError, ValueError):
        return "–"


@register.inclusion_tag("evals/partials/model_scores.html")
def model_scores(model: Any) -> dict[str, Any]:
    """The model page's scores by provenance: reported / imported / measured side by side, per benchmark."""
    from evals.selectors.reported import model_scores as scores_of

    return {"model": model, "benchmarks": scores_of(model=model)}


@register.filter
def flag_text(reasons: Any) -> str:
    """A run's degenerate-flag reasons in words ("winogrande: answers collapsed onto A (100% of 40 parsed answers)")."""
    from django.utils.translation import gettext as _

    parts = []
    for reason in reasons or []:
        values = {
            "bench": reason.get("benchmark", ""),
            "share": _number(reason.get("share"), 100.0),
            "n": reason.get("n", 0),
            "answer": reason.get("answer", ""),
        }
        if reason.get("rule") == "unparsed":
            parts.append(_("%(bench)s: %(share)s%% of %(n)s answers could not be read") % values)
        else:
            parts.append(
                _("%(bench)s: answers collapsed onto %(answer)s (%(share)s%% of %(n)s parsed answers)") % values
            )
    return "; ".join(parts)
