"""Fixtures shared by the evals tests. Eval-run fixtures (fake OpenAI server, endpoint model) live in
tests/evals/runfixtures.py and are registered here."""

from tests.evals.runfixtures import endpoint_model, fake_openai, openai_env  # noqa: F401
