"""Model backends. Heavy libraries (torch, transformers, HTTP clients) are imported lazily here."""

from __future__ import annotations

from evals.backends.base import Backend, BackendError
from evals.types import ModelSpec

BACKENDS = ("transformers", "openai")


def get_backend(
    name: str, *, spec: ModelSpec, device: str = "auto", dtype: str = "auto", batch_size: int = 8
) -> Backend:
    """A ready backend for the model; the transformers backend keeps a loaded model warm per process."""
    if name == "transformers":
        from evals.backends.transformers import get_transformers_backend

        return get_transformers_backend(spec=spec, device=device, dtype=dtype, batch_size=batch_size)
    if name == "openai":
        from evals.backends.openai import OpenAIBackend

        return OpenAIBackend(spec=spec)
    raise BackendError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Backend", "BackendError", "get_backend"]
