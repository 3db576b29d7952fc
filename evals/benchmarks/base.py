"""What every benchmark is: data (where it comes from, license, metrics) plus the lm-eval 0.4 prompt logic.

A `BenchmarkSpec` mirrors one lm-evaluation-harness 0.4.x task definition: `doc_to_text`, `doc_to_choice`,
`doc_to_target`, the task `description`, the few-shot split and sampler, and `process_results`. The engine
builds the requests from these and never special-cases a benchmark by name. No Django, no torch here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

TARGET_DELIMITER = " "  # lm-eval's default target_delimiter
FEWSHOT_DELIMITER = "\n\n"  # lm-eval's default fewshot_delimiter


@dataclass(frozen=True)
class HubSource:
    """The Hugging Face dataset lm-eval loads, and the files of one split inside it."""

    dataset: str  # repo id, e.g. "allenai/ai2_arc"
    config: str | None  # lm-eval's dataset_name
    revision: str  # pinned revision used when downloading
    # split name -> file paths inside the dataset repo (parquet or JSON Lines); "{subject}" is expanded
    files: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class BenchmarkSpec:
    """One benchmark: the facts shown to users and the lm-eval task logic the engine runs."""

    key: str  # lm-eval task name (ceval's is "ceval-valid" in lm-eval)
    name: str
    family: str
    language: str  # "en" | "zh"
    license: str  # SPDX-like id of the data license
    random_baseline: float
    random_baseline_note: str
    primary_metric: str
    metrics: tuple[str, ...]
    output_type: str  # "multiple_choice" | "generate_until"
    hub: HubSource
    eval_split: str  # the split lm-eval scores (name of the Hub split)
    fewshot_split: str | None  # where few-shot examples come from; None = the benchmark has none
    fewshot_sampler: str  # "default" (seeded random.sample) | "first_n"
    data_dir: str  # directory under LADDER_DATA_DIR
    eval_file: str  # file stem under data_dir for the evaluation split
    description: str
    prompt_format: str  # human-readable template
    lm_eval_task: str
    subjects: tuple[str, ...] = ()
    subject_names: dict[str, str] = field(default_factory=dict)  # subject -> display name used in the prompt
    url: str = ""
    generation_until: tuple[str, ...] = ()
    max_gen_toks: int = 256
    notes: str = ""

    # ---- lm-eval task logic (overridden per family) -------------------------------------------------
    def doc_to_text(self, doc: dict[str, Any]) -> str:
        raise NotImplementedError

    def doc_to_choice(self, doc: dict[str, Any]) -> list[str]:
        return []

    def doc_to_target(self, doc: dict[str, Any]) -> int | str:
        raise NotImplementedError

    def subject_of(self, doc: dict[str, Any]) -> str:
        return str(doc.get("subject", "")) if self.subjects else ""

    def task_description(self, subject: str) -> str:
        """lm-eval's `description`, prepended before the few-shot examples ("" for most tasks)."""
        return ""

    @property
    def multiple_inputs(self) -> bool:
        """True where the choices are contexts sharing one continuation (Winogrande's partial scoring)."""
        return False

    def fewshot_example(self, doc: dict[str, Any]) -> str:
        """One labeled few-shot example as lm-eval's ContextSampler writes it (without the delimiter after)."""
        text: Any = self.doc_to_text(doc)
        target: Any = self.doc_to_target(doc)
        choices = self.doc_to_choice(doc)
        if isinstance(text, int):
            text = choices[text]
        if isinstance(target, int) and choices:
            target = choices[target]
        return f"{text}{TARGET_DELIMITER}{target}"

    def process_results(self, doc: dict[str, Any], lls: list[float]) -> dict[str, float]:
        """Per-item metrics from the choices' log-likelihoods (lm-eval's multiple_choice defaults)."""
        gold = self.doc_to_target(doc)
        assert isinstance(gold, int)
        choices = self.doc_to_choice(doc)
        out = {"acc": 1.0 if argmax(lls) == gold else 0.0}
        if "acc_norm" in self.metrics:
            normed = [ll / len(c) if len(c) else ll for ll, c in zip(lls, choices, strict=True)]
            out["acc_norm"] = 1.0 if argmax(normed) == gold else 0.0
        return out

    def prediction(self, doc: dict[str, Any], lls: list[float]) -> int:
        return argmax(lls)

    def as_dict(self) -> dict[str, Any]:
        """The public facts of the benchmark (no behaviour), for pages and the API."""
        return {
            "key": self.key,
            "name": self.name,
            "family": self.family,
            "language": self.language,
            "license": self.license,
            "random_baseline": self.random_baseline,
            "random_baseline_note": self.random_baseline_note,
            "primary_metric": self.primary_metric,
            "metrics": list(self.metrics),
            "output_type": self.output_type,
            "hf_dataset": self.hub.dataset,
            "hf_config": self.hub.config,
            "hf_split": self.eval_split,
            "hf_revision": self.hub.revision,
            "fewshot_split": self.fewshot_split,
            "fewshot_sampler": self.fewshot_sampler,
            "lm_eval_task": self.lm_eval_task,
            "description": self.description,
            "prompt_format": self.prompt_format,
            "subjects": list(self.subjects),
            "url": self.url,
            "notes": self.notes,
        }


def argmax(values: list[float]) -> int:
    """Index of the largest value; ties go to the first index (numpy.argmax's rule, which lm-eval uses)."""
    best = 0
    for i, v in enumerate(values):
        if v > values[best] or (math.isnan(values[best]) and not math.isnan(v)):
            best = i
    return best
