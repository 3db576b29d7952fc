"""Plain data passed between the engine, the backends and the services (no Django, no torch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Doc:
    """One benchmark item as read from the data files."""

    benchmark: str
    item_id: str
    position: int  # index in the run's item order for this benchmark
    subject: str  # "" where the benchmark has no subjects
    fields: dict[str, Any]


@dataclass(frozen=True)
class LoglikelihoodRequest:
    """log P(continuation | context), summed over the continuation's tokens."""

    context: str
    continuation: str


@dataclass(frozen=True)
class GenerationRequest:
    """Greedy generation from context until a stop sequence or max_new_tokens."""

    context: str
    until: tuple[str, ...]
    max_new_tokens: int = 256
    # A chat variant's question (evals/generative.py): endpoints send it to /chat/completions as the user's
    # message; backends without chat generate from it as plain text.
    chat: bool = False


@dataclass
class ItemOutcome:
    """What the engine reports for one scored item; the services store it as an ItemResult."""

    benchmark: str
    item_id: str
    position: int
    subject: str
    prompt: str
    choices: list[str]
    loglikelihoods: list[float]
    generated: str
    target: Any
    prediction: Any
    metrics: dict[str, float]
    correct: bool
    prompt_tokens: int | None = None  # as the endpoint reported them (usage); None where unknown
    completion_tokens: int | None = None


@dataclass
class BenchmarkScore:
    """The aggregate of one benchmark over the stored items of a run."""

    benchmark: str
    metrics: dict[str, float]
    primary_metric: str
    value: float
    stderr: float | None
    n: int
    method: str = "loglikelihood"
    n_shot: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelSpec:
    """How a backend reaches a model: built from a registry row by the services."""

    repo_id: str
    revision: str = "main"
    local_weights: str = ""  # directory, GGUF file, or pkg:<package>/<file>
    endpoint_base_url: str = ""
    endpoint_model_name: str = ""
    endpoint_api_key_env: str = ""  # the NAME of the variable holding the key, never the key
