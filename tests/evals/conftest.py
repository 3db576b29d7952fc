"""Fixtures shared by the evals tests. Eval-run fixtures (fake OpenAI server, endpoint model) live in
tests/evals/runfixtures.py, the fake Hub in tests/hubfake/fixtures.py; both are registered here."""

from tests.evals.runfixtures import endpoint_model, fake_openai, openai_env  # noqa: F401
from tests.hubfake.fixtures import fake_hub  # noqa: F401
