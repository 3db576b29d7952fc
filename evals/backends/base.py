"""The interface every model backend implements. Backends import heavy libraries lazily."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from evals.types import GenerationRequest, LoglikelihoodRequest


class BackendError(Exception):
    """The model could not be loaded or reached; the message is shown to users as the run's error."""


class Backend(Protocol):
    name: str

    @property
    def supports_loglikelihood(self) -> bool:
        """False where the backend cannot score continuations (an endpoint without prompt logprobs):
        the engine then asks multiple-choice questions generatively and records method="generative"."""
        ...

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[float]:
        """Summed log-probability of each continuation given its context, in request order."""
        ...

    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        """Greedy completions, cut at the first stop sequence, in request order."""
        ...

    def describe(self) -> dict[str, Any]:
        """What was run: {"revision_sha": ..., "dtype": ..., "device": ...}."""
        ...
