"""MMLU (lm-eval `mmlu`, default variant; task files mmlu/default/_default_template_yaml, _generate_configs.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evals.benchmarks.base import BenchmarkSpec, HubSource

MMLU_REVISION = "c30699e8356da336a370243923dbaf21066bb9fe"
LETTERS = ("A", "B", "C", "D")

SUBJECTS = (
    "abstract_algebra", "anatomy", "astronomy", "business_ethics", "clinical_knowledge", "college_biology",
    "college_chemistry", "college_computer_science", "college_mathematics", "college_medicine", "college_physics",
    "computer_security", "conceptual_physics", "econometrics", "electrical_engineering", "elementary_mathematics",
    "formal_logic", "global_facts", "high_school_biology", "high_school_chemistry", "high_school_computer_science",
    "high_school_european_history", "high_school_geography", "high_school_government_and_politics",
    "high_school_macroeconomics", "high_school_mathematics", "high_school_microeconomics", "high_school_physics",
    "high_school_psychology", "high_school_statistics", "high_school_us_history", "high_school_world_history",
    "human_aging", "human_sexuality", "international_law", "jurisprudence", "logical_fallacies", "machine_learning",
    "management", "marketing", "medical_genetics", "miscellaneous", "moral_disputes", "moral_scenarios", "nutrition",
    "philosophy", "prehistory", "professional_accounting", "professional_law", "professional_medicine",
    "professional_psychology", "public_relations", "security_studies", "sociology", "us_foreign_policy", "virology",
    "world_religions",
)  # fmt: skip


@dataclass(frozen=True)
class LetteredChoiceSpec(BenchmarkSpec):
    """Questions with four lettered options scored as " A".." D" (MMLU, C-Eval, CMMLU)."""

    question_field: str = "question"
    answer_field: str = "answer"
    answer_prompt: str = "Answer:"

    def options(self, doc: dict[str, Any]) -> list[str]:
        if "choices" in doc:
            return [str(c) for c in doc["choices"]]
        return [str(doc[letter]) for letter in LETTERS]

    def doc_to_text(self, doc: dict[str, Any]) -> str:
        opts = self.options(doc)
        lines = [str(doc[self.question_field]).strip()]
        lines += [f"{letter}. {opt}" for letter, opt in zip(LETTERS, opts, strict=True)]
        return "\n".join(lines) + "\n" + self.answer_prompt

    def doc_to_choice(self, doc: dict[str, Any]) -> list[str]:
        return list(LETTERS)

    def doc_to_target(self, doc: dict[str, Any]) -> int:
        value = doc[self.answer_field]
        if isinstance(value, int):
            return value
        return LETTERS.index(str(value).strip())


@dataclass(frozen=True)
class MmluSpec(LetteredChoiceSpec):
    def task_description(self, subject: str) -> str:
        return f"The following are multiple choice questions (with answers) about {' '.join(subject.split('_'))}.\n\n"


MMLU = MmluSpec(
    key="mmlu",
    name="MMLU",
    family="mmlu",
    language="en",
    license="MIT",
    random_baseline=0.25,
    random_baseline_note="4 options per item.",
    primary_metric="acc",
    metrics=("acc",),
    output_type="multiple_choice",
    hub=HubSource(
        dataset="cais/mmlu",
        config="all",
        revision=MMLU_REVISION,
        files={
            "test": ("all/test-00000-of-00001.parquet",),
            "dev": ("all/dev-00000-of-00001.parquet",),
            "validation": ("all/validation-00000-of-00001.parquet",),
        },
    ),
    eval_split="test",
    fewshot_split="dev",
    fewshot_sampler="first_n",
    data_dir="mmlu",
    eval_file="test",
    description="Massive Multitask Language Understanding: 57 subjects from elementary maths to law and medicine.",
    prompt_format=(
        '"The following are multiple choice questions (with answers) about {subject}.\\n\\n" then '
        '"{question}\\nA. {A}\\nB. {B}\\nC. {C}\\nD. {D}\\nAnswer:" scored against " A", " B", " C", " D". '
        "Few-shot examples: the first k items of the subject's dev split."
    ),
    lm_eval_task="mmlu",
    subjects=SUBJECTS,
    subject_names={s: " ".join(s.split("_")) for s in SUBJECTS},
    url="https://github.com/hendrycks/test",
    notes="Averaged over items (lm-eval 0.4 reports the group mean weighted by subject size, which is the same).",
)
