"""Reported scores: storing the published figures the registry reads (the seed catalog, the Hub sync).

The registry sends `reported_scores_read` with `ReportedFact`s (registry/services/reported.py); this
service maps each onto one of our benchmarks where its dataset is one of ours (by dataset id plus
config/task, and the metric for TruthfulQA), else keeps it under its raw dataset id, scales the value
to 0..1, and upserts `ReportedScore` rows by (model, origin, origin_key): the facts of a model replace
that origin's earlier rows of it, a second identical read writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from django.utils import timezone

from evals.models import ReportedScore

logger = logging.getLogger(__name__)

# Hub dataset ids (current and legacy spellings, lower-cased) -> our benchmark family.
_DATASETS = {
    "allenai/ai2_arc": "arc",
    "ai2_arc": "arc",
    "arc": "arc",
    "rowan/hellaswag": "hellaswag",
    "hellaswag": "hellaswag",
    "cais/mmlu": "mmlu",
    "hendrycks_test": "mmlu",
    "hendrycks/test": "mmlu",
    "lukaemon/mmlu": "mmlu",
    "mmlu": "mmlu",
    "truthfulqa/truthful_qa": "truthfulqa",
    "truthful_qa": "truthfulqa",
    "truthfulqa": "truthfulqa",
    "allenai/winogrande": "winogrande",
    "winogrande": "winogrande",
    "openai/gsm8k": "gsm8k",
    "gsm8k": "gsm8k",
    "ceval/ceval-exam": "ceval",
    "ceval-exam": "ceval",
    "ceval": "ceval",
    "haonan-li/cmmlu": "cmmlu",
    "cmmlu": "cmmlu",
}
_FIELDS = (
    "benchmark",
    "benchmark_known",
    "metric",
    "value",
    "published_value",
    "n_shot",
    "setting",
    "variant",
    "source_kind",
    "source_name",
    "source_url",
    "reported_by",
    "verified",
    "published",
)


def reported_benchmark(dataset_id: str, config: str = "", metric: str = "") -> tuple[str, bool]:
    """(our benchmark key, True) when the dataset is one of ours, else (the raw dataset id[:config], False)."""
    family = _DATASETS.get(dataset_id.strip().lower())
    hint = f"{config} {metric}".lower()
    if family == "arc":
        if "challenge" in hint:
            return "arc_challenge", True
        if "easy" in hint:
            return "arc_easy", True
        family = None  # ARC without a partition is not a score of either
    elif family == "truthfulqa":
        if "mc1" in hint:
            return "truthfulqa_mc1", True
        if "mc2" in hint or "multiple_choice" in hint:
            return "truthfulqa_mc2", True  # the Open LLM Leaderboard's TruthfulQA is mc2
        family = None  # generation scores (bleu, rouge) are not ours
    if family:
        return family, True
    raw = dataset_id.strip() + (f":{config.strip()}" if config.strip() else "")
    return raw[:100], False


def _fraction(published: float) -> float | None:
    """The value as a fraction: numbers above 1 are percentages; outside 0..100 is no score of ours."""
    if published < 0 or published > 100:
        return None
    return round(published / 100, 10) if published > 1 else published


def _row_values(fact: Any) -> dict[str, Any] | None:
    if fact.benchmark:
        benchmark, known = fact.benchmark, True
    else:
        benchmark, known = reported_benchmark(fact.dataset_id, fact.dataset_config, fact.metric)
    value = _fraction(float(fact.published_value))
    if value is None:
        return None
    return {
        "benchmark": benchmark,
        "benchmark_known": known,
        "metric": fact.metric[:50],
        "value": value,
        "published_value": float(fact.published_value),
        "n_shot": fact.n_shot if fact.n_shot is None or 0 <= fact.n_shot < 32768 else None,
        "setting": fact.setting,
        "variant": fact.variant[:200],
        "source_kind": fact.source_kind,
        "source_name": fact.source_name[:300],
        "source_url": fact.source_url[:500],
        "reported_by": fact.reported_by,
        "verified": fact.verified,
        "published": fact.published,
    }


def reported_scores_store(*, origin: str, facts_by_model: Mapping[int, Sequence[Any]]) -> int:
    """Upsert the origin's scores of these models; rows of the origin no longer read are deleted.

    Returns how many rows were created, changed or deleted (0 when the read changed nothing). Runs in
    the caller's transaction (the catalog load, a sync's chunk).
    """
    pks = list(facts_by_model)
    current = {
        (row.model_id, row.origin_key): row for row in ReportedScore.objects.filter(model_id__in=pks, origin=origin)
    }
    new: list[ReportedScore] = []
    changed: list[ReportedScore] = []
    seen: set[tuple[int, str]] = set()
    for pk, facts in facts_by_model.items():
        for fact in facts:
            values = _row_values(fact)
            key = (pk, fact.origin_key[:300])
            if values is None or key in seen:
                continue
            seen.add(key)
            row = current.get(key)
            if row is None:
                new.append(ReportedScore(model_id=pk, origin=origin, origin_key=key[1], **values))
            elif any(getattr(row, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(row, name, value)
                row.updated_at = timezone.now()  # bulk_update does not touch auto_now fields
                changed.append(row)
    gone = [row.pk for key, row in current.items() if key not in seen]
    if new:
        ReportedScore.objects.bulk_create(new, batch_size=500)
    if changed:
        ReportedScore.objects.bulk_update(changed, [*_FIELDS, "updated_at"], batch_size=500)
    if gone:
        ReportedScore.objects.filter(pk__in=gone).delete()
    return len(new) + len(changed) + len(gone)


def reported_scores_read_receiver(*, origin: str, facts_by_model: Mapping[int, Sequence[Any]], **kwargs: Any) -> int:
    """The `reported_scores_read` receiver (connected in evals.apps)."""
    from django.db import transaction

    from evals.selectors.leaderboard import leaderboard_cache_bump

    count = reported_scores_store(origin=origin, facts_by_model=facts_by_model)
    if count:
        transaction.on_commit(leaderboard_cache_bump)  # the reported board and claim checks changed
    return count
