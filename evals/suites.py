"""Evaluation suites are data: which benchmarks, how many shots, and which items (sample or full split)."""

from __future__ import annotations

from dataclasses import dataclass, field


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

QUICK = Suite(
    key="quick",
    name="Quick",
    description=(
        "All ten benchmarks, 0-shot, on a fixed sample of at most 100 items each (seed 1234, stratified by "
        "subject for MMLU, C-Eval and CMMLU). The same items for every model; minutes on a CPU for a small model."
    ),
    benchmarks=ALL_BENCHMARKS,
    n_shot={b: 0 for b in ALL_BENCHMARKS},
    sample_size=100,
    seed=1234,
)

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
