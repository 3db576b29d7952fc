"""The benchmark registry: `BENCHMARKS[key]` is the spec of one lm-eval 0.4 task (see base.py)."""

from __future__ import annotations

from evals.benchmarks.arc import ARC_CHALLENGE, ARC_EASY
from evals.benchmarks.base import FEWSHOT_DELIMITER, TARGET_DELIMITER, BenchmarkSpec, HubSource, argmax
from evals.benchmarks.ceval import CEVAL
from evals.benchmarks.cmmlu import CMMLU
from evals.benchmarks.gsm8k import GSM8K
from evals.benchmarks.hellaswag import HELLASWAG
from evals.benchmarks.mmlu import MMLU
from evals.benchmarks.truthfulqa import TRUTHFULQA_MC1, TRUTHFULQA_MC2
from evals.benchmarks.winogrande import WINOGRANDE

BENCHMARKS: dict[str, BenchmarkSpec] = {
    spec.key: spec
    for spec in (
        ARC_EASY,
        ARC_CHALLENGE,
        HELLASWAG,
        MMLU,
        TRUTHFULQA_MC1,
        TRUTHFULQA_MC2,
        WINOGRANDE,
        GSM8K,
        CEVAL,
        CMMLU,
    )
}

__all__ = ["BENCHMARKS", "FEWSHOT_DELIMITER", "TARGET_DELIMITER", "BenchmarkSpec", "HubSource", "argmax"]
