"""What an endpoint evaluation costs and what the endpoint can do, from the runs already stored.

- `quick_run_token_estimate`: the tokens a quick run of a model will take, from the prompt and completion
  tokens endpoints reported per benchmark (BenchmarkResult.prompt_tokens / completion_tokens), scaled to
  the quick suite's item counts. The model's own runs come first; benchmarks it never ran with token
  counts take the average per item over every other model's runs (said so: `basis`).
- `endpoint_probe`: the scoring method the model's endpoint supports, as its latest openai-backend run
  probed it (prompt log-probabilities that pass the sanity check: log-likelihood; otherwise generative).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Sum

from evals.models import BenchmarkResult, EvalRun
from registry.models import LanguageModel


@dataclass(frozen=True)
class TokenEstimate:
    """Tokens of one quick run: totals, per benchmark, and where the per-item figures come from."""

    prompt_tokens: int
    completion_tokens: int
    items: int
    per_benchmark: dict[str, dict[str, int]]
    measured_benchmarks: list[str]  # from this model's own runs
    borrowed_benchmarks: list[str]  # from other models' runs (average per item)
    missing_benchmarks: list[str] = field(default_factory=list)  # no run reported tokens for them

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def basis(self) -> str:
        if self.borrowed_benchmarks or self.missing_benchmarks:
            return "other_models" if not self.measured_benchmarks else "partly_other_models"
        return "this_model"


def _per_item(qs: Any) -> dict[str, tuple[float, float]]:
    """{benchmark: (prompt tokens per item, completion tokens per item)} over results that reported tokens."""
    rows = (
        qs.filter(prompt_tokens__isnull=False, n__gt=0)
        .values("benchmark")
        .annotate(prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens"), items=Sum("n"), runs=Count("id"))
        .order_by()
    )
    return {r["benchmark"]: (r["prompt"] / r["items"], (r["completion"] or 0) / r["items"]) for r in rows if r["items"]}


def quick_run_items(suite: str = "quick") -> dict[str, int]:
    """Items per benchmark of a suite run: its sample size, or the whole split where that is smaller/unknown."""
    from evals.selectors.leaderboard import benchmark_item_count
    from evals.suites import SUITES

    spec = SUITES[suite]
    counts = {}
    for key in spec.benchmarks:
        available = benchmark_item_count(key)
        if spec.sample_size is None:
            counts[key] = available or 0
        else:
            counts[key] = min(spec.sample_size, available) if available else spec.sample_size
    return counts


def quick_run_token_estimate(*, model: LanguageModel, suite: str = "quick") -> TokenEstimate | None:
    """The tokens a run of `suite` on `model` takes (None when no run anywhere reported tokens). Two queries."""
    succeeded = BenchmarkResult.objects.filter(run__status=EvalRun.Status.SUCCEEDED)
    own = _per_item(succeeded.filter(run__model=model))
    others = _per_item(succeeded.exclude(run__model=model))
    if not own and not others:
        return None
    per_benchmark: dict[str, dict[str, int]] = {}
    measured, borrowed, missing = [], [], []
    prompt_total = completion_total = items_total = 0
    for key, items in quick_run_items(suite).items():
        figures = own.get(key)
        if figures is not None:
            measured.append(key)
        else:
            figures = others.get(key)
            if figures is None:
                missing.append(key)
                continue
            borrowed.append(key)
        prompt, completion = round(figures[0] * items), round(figures[1] * items)
        per_benchmark[key] = {"items": items, "prompt_tokens": prompt, "completion_tokens": completion}
        prompt_total += prompt
        completion_total += completion
        items_total += items
    return TokenEstimate(
        prompt_tokens=prompt_total,
        completion_tokens=completion_total,
        items=items_total,
        per_benchmark=per_benchmark,
        measured_benchmarks=measured,
        borrowed_benchmarks=borrowed,
        missing_benchmarks=missing,
    )


@dataclass(frozen=True)
class EndpointProbe:
    """What the model's endpoint answered when a run probed it."""

    method: str  # "loglikelihood" | "generative"
    run_id: int
    probed_at: datetime | None
    chat_only: bool
    reason: str  # why log-likelihoods were refused ("" when they passed)


def endpoint_probe(*, model: LanguageModel) -> EndpointProbe | None:
    """The latest openai-backend run's probe of the model's endpoint (None before any run probed it). One query."""
    runs = (
        EvalRun.objects.filter(model=model, backend="openai", settings__backend__loglikelihood__isnull=False)
        .order_by("-created_at", "-id")
        .values("id", "settings", "finished_at", "heartbeat_at")[:10]
    )
    for run in runs:
        backend = (run["settings"] or {}).get("backend") or {}
        ok = backend.get("loglikelihood")
        if ok is None:
            continue
        probe = backend.get("probe") or {}
        return EndpointProbe(
            method="loglikelihood" if ok else "generative",
            run_id=run["id"],
            probed_at=run["finished_at"] or run["heartbeat_at"],
            chat_only=bool(backend.get("chat_only")),
            reason="" if ok else str(probe.get("reason") or "prompt log-probabilities failed the sanity check"),
        )
    return None
