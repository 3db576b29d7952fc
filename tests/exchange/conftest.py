"""Fixtures of the results exchange tests: the committed results files (see fixtures/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hubfake.fixtures import fake_hub  # noqa: F401 - a fixture used by the archive tests

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SMOLLM2 = "HuggingFaceTB/SmolLM2-135M-Instruct"


def lm_eval_results(directory: str = "lm_eval_0.4.13") -> Path:
    return next((FIXTURES / directory).rglob("results_*.json"))


@pytest.fixture
def oll_file() -> Path:
    return next((FIXTURES / "open_llm_v1").glob("results_*.json"))
