"""HellaSwag (lm-eval `hellaswag`; task files hellaswag/hellaswag.yaml and hellaswag/utils.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from evals.benchmarks.base import BenchmarkSpec, HubSource


def preprocess(text: str) -> str:
    """lm-eval's hellaswag `preprocess`: WikiHow bracket artifacts out, " [title]" to ". ", double spaces once."""
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    text = text.replace("  ", " ")
    return text


@dataclass(frozen=True)
class HellaswagSpec(BenchmarkSpec):
    def context(self, doc: dict[str, Any]) -> str:
        # The original HF schema has ctx_a / ctx_b and lm-eval capitalises ctx_b; the derived llama.cpp file
        # only has the joined `ctx` (ctx_b not capitalised), which we take as it is.
        if "ctx_a" in doc and "ctx_b" in doc:
            return doc["ctx_a"] + " " + doc["ctx_b"].capitalize()
        return doc["ctx"]

    def doc_to_text(self, doc: dict[str, Any]) -> str:
        return preprocess(doc["activity_label"] + ": " + self.context(doc))

    def doc_to_choice(self, doc: dict[str, Any]) -> list[str]:
        return [preprocess(ending) for ending in doc["endings"]]

    def doc_to_target(self, doc: dict[str, Any]) -> int:
        return int(doc["label"])


HELLASWAG = HellaswagSpec(
    key="hellaswag",
    name="HellaSwag",
    family="hellaswag",
    language="en",
    license="MIT",
    random_baseline=0.25,
    random_baseline_note="4 endings per item.",
    primary_metric="acc_norm",
    metrics=("acc", "acc_norm"),
    output_type="multiple_choice",
    hub=HubSource(
        dataset="Rowan/hellaswag",
        config=None,
        # The Hub repo is a loading script; its Parquet conversion is the branch the Hub serves files from.
        revision="refs/convert/parquet",
        files={
            "validation": ("default/validation/0000.parquet",),
            "train": ("default/train/0000.parquet",),
        },
    ),
    eval_split="validation",
    fewshot_split="train",
    fewshot_sampler="default",
    data_dir="hellaswag",
    eval_file="validation_derived_llamacpp",
    description="Commonsense sentence completion: pick the most plausible ending of an ActivityNet/WikiHow snippet.",
    prompt_format='"{activity_label}: {ctx}" (preprocessed) scored against " {ending}" for the 4 endings.',
    lm_eval_task="hellaswag",
    url="https://rowanzellers.com/hellaswag/",
    notes=(
        "Offline data is a derived copy (llama.cpp text format): ctx_b is not capitalised as lm-eval does, so "
        "scores are close to, not equal to, lm-eval's. The train split (few-shot examples) is not staged offline."
    ),
)
