"""GSM8K (lm-eval `gsm8k`, version 3; task file gsm8k/gsm8k.yaml): greedy generation, exact match."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from evals.benchmarks.base import BenchmarkSpec, HubSource

STRICT_PATTERN = re.compile(r"#### (\-?[0-9\.\,]+)")
FLEXIBLE_PATTERN = re.compile(r"(-?[$0-9.,]{2,})|(-?[0-9]+)")
# exact_match's regexes_to_ignore, applied to prediction and reference alike (ignore_case: true).
IGNORE_PATTERNS = (",", "\\$", "(?s).*#### ", "\\.$")
INVALID = "[invalid]"


def extract_strict(text: str) -> str:
    """lm-eval's "strict-match" filter: the first "#### N" answer, else "[invalid]"."""
    matches = STRICT_PATTERN.findall(text)
    if not matches:
        return INVALID
    return matches[0].strip()


def extract_flexible(text: str) -> str:
    """lm-eval's "flexible-extract" filter: the last number-like match in the text, else "[invalid]"."""
    matches = FLEXIBLE_PATTERN.findall(text)
    if not matches:
        return INVALID
    groups = [g for g in matches[-1] if g]
    if not groups:
        return INVALID
    return groups[0].strip()


def normalize_answer(text: str) -> str:
    for pattern in IGNORE_PATTERNS:
        text = re.sub(pattern, "", text)
    return text.lower()


def exact_match(prediction: str, reference: str) -> float:
    """lm-eval's exact_match with the gsm8k settings (ignore_case, regexes_to_ignore, punctuation kept)."""
    return 1.0 if normalize_answer(prediction) == normalize_answer(reference) else 0.0


@dataclass(frozen=True)
class Gsm8kSpec(BenchmarkSpec):
    def doc_to_text(self, doc: dict[str, Any]) -> str:
        return f"Question: {doc['question']}\nAnswer:"

    def doc_to_target(self, doc: dict[str, Any]) -> str:
        return doc["answer"]

    def reference_answer(self, doc: dict[str, Any]) -> str:
        return normalize_answer(doc["answer"])

    def score_generation(self, doc: dict[str, Any], generated: str) -> tuple[dict[str, float], str]:
        """(metrics, prediction) for one completion."""
        strict = extract_strict(generated)
        flexible = extract_flexible(generated)
        metrics = {
            "exact_match": exact_match(strict, doc["answer"]),
            "exact_match_flexible": exact_match(flexible, doc["answer"]),
        }
        return metrics, strict


GSM8K = Gsm8kSpec(
    key="gsm8k",
    name="GSM8K",
    family="gsm8k",
    language="en",
    license="MIT",
    random_baseline=0.0,
    random_baseline_note="Free-form numeric answers: guessing scores 0.",
    primary_metric="exact_match",
    metrics=("exact_match", "exact_match_flexible"),
    output_type="generate_until",
    hub=HubSource(
        dataset="openai/gsm8k",
        config="main",
        revision="main",
        files={
            "test": ("main/test-00000-of-00001.parquet",),
            "train": ("main/train-00000-of-00001.parquet",),
        },
    ),
    eval_split="test",
    fewshot_split="train",
    fewshot_sampler="default",
    data_dir="gsm8k",
    eval_file="test",
    description="Grade-school math word problems with a single numeric answer.",
    prompt_format=(
        '"Question: {question}\\nAnswer:", greedy generation until "Question:", "</s>" or "<|im_end|>" '
        '(max 256 tokens). exact_match = strict-match (the first "#### N"); exact_match_flexible = the last '
        "number in the completion."
    ),
    lm_eval_task="gsm8k",
    url="https://github.com/openai/grade-school-math",
    generation_until=("Question:", "</s>", "<|im_end|>"),
    max_gen_toks=256,
)
