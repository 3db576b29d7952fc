"""ARC-Easy and ARC-Challenge (lm-eval `arc_easy`, `arc_challenge`; task files arc/arc_easy.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evals.benchmarks.base import BenchmarkSpec, HubSource

ARC_REVISION = "210d026faf9955653af8916fad021475a3f00453"


@dataclass(frozen=True)
class ArcSpec(BenchmarkSpec):
    def doc_to_text(self, doc: dict[str, Any]) -> str:
        return f"Question: {doc['question']}\nAnswer:"

    def doc_to_choice(self, doc: dict[str, Any]) -> list[str]:
        return list(doc["choices"]["text"])

    def doc_to_target(self, doc: dict[str, Any]) -> int:
        # Some items are labelled "1".."4" instead of "A".."D": lm-eval indexes into the item's own labels.
        return list(doc["choices"]["label"]).index(doc["answerKey"])


def _arc(key: str, name: str, config: str, description: str) -> ArcSpec:
    return ArcSpec(
        key=key,
        name=name,
        family="arc",
        language="en",
        license="CC-BY-SA-4.0",
        random_baseline=0.25,
        random_baseline_note="1/number of choices per item; almost all items have 4 (a few have 3 or 5).",
        primary_metric="acc_norm" if key == "arc_challenge" else "acc",
        metrics=("acc", "acc_norm"),
        output_type="multiple_choice",
        hub=HubSource(
            dataset="allenai/ai2_arc",
            config=config,
            revision=ARC_REVISION,
            files={
                "test": (f"{config}/test-00000-of-00001.parquet",),
                "train": (f"{config}/train-00000-of-00001.parquet",),
                "validation": (f"{config}/validation-00000-of-00001.parquet",),
            },
        ),
        eval_split="test",
        fewshot_split="train",
        fewshot_sampler="default",
        data_dir=key,
        eval_file="test",
        description=description,
        prompt_format='"Question: {question}\\nAnswer:" scored against " {choice}" for every choice.',
        lm_eval_task=key,
        url="https://allenai.org/data/arc",
    )


ARC_EASY = _arc(
    "arc_easy",
    "ARC-Easy",
    "ARC-Easy",
    "Grade-school science questions (AI2 Reasoning Challenge), the easy partition.",
)
ARC_CHALLENGE = _arc(
    "arc_challenge",
    "ARC-Challenge",
    "ARC-Challenge",
    "Grade-school science questions that retrieval and co-occurrence baselines got wrong (AI2 Reasoning Challenge).",
)
