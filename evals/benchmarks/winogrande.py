"""Winogrande (lm-eval `winogrande`; task files winogrande/default.yaml and preprocess_winogrande.py).

Partial scoring: each choice is a *context* (the sentence up to "_" with the option substituted) and all
choices share one continuation (the rest of the sentence), so the model compares P(rest | option).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evals.benchmarks.base import BenchmarkSpec, HubSource, argmax

WINOGRANDE_REVISION = "01e74176c63542e6b0bcb004dcdea22d94fb67b5"


@dataclass(frozen=True)
class WinograndeSpec(BenchmarkSpec):
    @property
    def multiple_inputs(self) -> bool:
        return True

    def doc_to_text(self, doc: dict[str, Any]) -> int:  # type: ignore[override]
        # As in lm-eval: the "text" is the index of the correct partial context.
        return {"1": 0, "2": 1}[str(doc["answer"])]

    def doc_to_choice(self, doc: dict[str, Any]) -> list[str]:
        idx = doc["sentence"].index("_")
        return [doc["sentence"][:idx] + opt for opt in (doc["option1"], doc["option2"])]

    def doc_to_target(self, doc: dict[str, Any]) -> str:
        idx = doc["sentence"].index("_") + 1
        return doc["sentence"][idx:].strip()

    def gold(self, doc: dict[str, Any]) -> int:
        return self.doc_to_text(doc)

    def process_results(self, doc: dict[str, Any], lls: list[float]) -> dict[str, float]:
        return {"acc": 1.0 if argmax(lls) == self.gold(doc) else 0.0}


WINOGRANDE = WinograndeSpec(
    key="winogrande",
    name="Winogrande",
    family="winogrande",
    language="en",
    license="CC-BY-4.0",
    random_baseline=0.5,
    random_baseline_note="2 options per item.",
    primary_metric="acc",
    metrics=("acc",),
    output_type="multiple_choice",
    hub=HubSource(
        dataset="allenai/winogrande",
        config="winogrande_xl",
        revision=WINOGRANDE_REVISION,
        files={
            "validation": ("winogrande_xl/validation-00000-of-00001.parquet",),
            "train": ("winogrande_xl/train-00000-of-00001.parquet",),
        },
    ),
    eval_split="validation",
    fewshot_split="train",
    fewshot_sampler="default",
    data_dir="winogrande",
    eval_file="validation",
    description="Pronoun resolution (Winograd schema style): which of two names fills the blank.",
    prompt_format=(
        'Partial scoring: for each option, context = sentence up to "_" with the option in its place, '
        'continuation = " " + the rest of the sentence; the option whose context makes the rest most likely wins.'
    ),
    lm_eval_task="winogrande",
    url="https://winogrande.allenai.org/",
    notes="The few-shot split (train_xl) is not staged offline, so 5-shot runs need the Hub.",
)
