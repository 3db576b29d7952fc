"""Evaluation suites are data: which benchmarks, how many shots, and which items (sample or full split)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

QUICK_SAMPLE_SIZE_DEFAULT = 100


def quick_sample_size(environ: dict[str, str] | None = None) -> int:
    """Items per benchmark of the quick suite: LADDER_QUICK_SAMPLE_SIZE (default 100, at least 1).

    An installation setting, read from the environment (this module knows nothing of Django): the web
    process and every evaluation worker must see the same value. Runs on another sample size are scored
    on other items, so the board never ranks them against these (evals.selectors.leaderboard).
    """
    raw = (os.environ if environ is None else environ).get("LADDER_QUICK_SAMPLE_SIZE", "").strip()
    if not raw:
        return QUICK_SAMPLE_SIZE_DEFAULT
    try:
        size = int(raw)
    except ValueError:
        raise ValueError(f"LADDER_QUICK_SAMPLE_SIZE must be a whole number of items, got {raw!r}") from None
    if size < 1:
        raise ValueError(f"LADDER_QUICK_SAMPLE_SIZE must be at least 1, got {size}")
    return size


@dataclass(frozen=True)
class Suite:
    key: str
    name: str
    description: str
    benchmarks: tuple[str, ...]
    n_shot: dict[str, int] = field(default_factory=dict)
    sample_size: int | None = None  # at most this many items per benchmark (seeded, stratified); None = full split
    seed: int = 1234  # seeds the item sample; the few-shot sampler always uses lm-eval's 1234
    ranked: bool = True

    def shots(self, benchmark: str) -> int:
        return self.n_shot.get(benchmark, 0)

    def as_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "name": self.name,
            "description": self.description,
            "benchmarks": list(self.benchmarks),
            "n_shot": {b: self.shots(b) for b in self.benchmarks},
            "sample_size": self.sample_size,
            "seed": self.seed,
        }


ALL_BENCHMARKS = (
    "arc_easy",
    "arc_challenge",
    "hellaswag",
    "mmlu",
    "truthfulqa_mc1",
    "truthfulqa_mc2",
    "winogrande",
    "gsm8k",
    "ceval",
    "cmmlu",
)


def quick_suite(sample_size: int) -> Suite:
    return Suite(
        key="quick",
        name="Quick",
        description=(
            f"All ten benchmarks, 0-shot, on a fixed sample of at most {sample_size} items each (seed 1234, "
            "stratified by subject for MMLU, C-Eval and CMMLU). The same items for every model; minutes on a CPU "
            "for a small model."
        ),
        benchmarks=ALL_BENCHMARKS,
        n_shot={b: 0 for b in ALL_BENCHMARKS},
        sample_size=sample_size,
        seed=1234,
    )


QUICK = quick_suite(quick_sample_size())

OPEN_LLM_V1 = Suite(
    key="open-llm-v1",
    name="Open LLM Leaderboard v1",
    description=(
        "The Open LLM Leaderboard v1 settings on full splits: ARC-Challenge 25-shot, HellaSwag 10-shot, "
        "MMLU 5-shot, TruthfulQA mc2 0-shot, Winogrande 5-shot, GSM8K 5-shot. Needs a GPU worker and the "
        "few-shot splits (HellaSwag train and Winogrande train_xl are not in the offline data)."
    ),
    benchmarks=("arc_challenge", "hellaswag", "mmlu", "truthfulqa_mc2", "winogrande", "gsm8k"),
    n_shot={"arc_challenge": 25, "hellaswag": 10, "mmlu": 5, "truthfulqa_mc2": 0, "winogrande": 5, "gsm8k": 5},
    sample_size=None,
    seed=1234,
)

SUITES: dict[str, Suite] = {s.key: s for s in (QUICK, OPEN_LLM_V1)}
