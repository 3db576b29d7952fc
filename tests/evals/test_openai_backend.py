"""The OpenAI-compatible backend against a real HTTP fake server on 127.0.0.1 (tests/evals/fakeopenai.py)."""

from __future__ import annotations

import logging
import time

import pytest

from evals.backends.base import BackendError
from evals.backends.openai import OpenAIBackend
from evals.types import GenerationRequest, LoglikelihoodRequest, ModelSpec
from tests.evals.fakeopenai import FakeOpenAI, token_logprob


@pytest.fixture(autouse=True)
def local_endpoint(settings):
    """The fake server is plain http on 127.0.0.1: allowed here on purpose, refused by default."""
    settings.ENDPOINT_ALLOW_HTTP = True
    settings.ENDPOINT_ALLOW_PRIVATE = True


def _backend(server: FakeOpenAI, **kwargs) -> OpenAIBackend:
    spec = ModelSpec(
        repo_id="acme/chat-model",
        endpoint_base_url=server.base_url,
        endpoint_model_name="chat-model-v1",
        endpoint_api_key_env=kwargs.pop("key_env", ""),
    )
    kwargs.setdefault("timeout", 2.0)
    kwargs.setdefault("max_retries", 2)
    kwargs.setdefault("backoff", 0.01)
    return OpenAIBackend(spec=spec, **kwargs)


def test_loglikelihood_sums_the_continuation_tokens_reported_by_the_endpoint():
    with FakeOpenAI(mode="good") as server:
        backend = _backend(server)
        assert backend.supports_loglikelihood is True
        [value] = backend.loglikelihood([LoglikelihoodRequest("The sky is", " blue today")])
    # Only the two continuation tokens count: " blue" after " is", " today" after " blue".
    expected = token_logprob(" is", " blue") + token_logprob(" blue", " today")
    assert value == pytest.approx(expected)
    # The request asked for prompt log-probabilities without generating anything.
    body = server.requests[-1]["body"]
    assert body["echo"] is True and body["max_tokens"] == 0 and body["model"] == "chat-model-v1"


def test_wrong_prompt_logprobs_fail_the_sanity_check_and_switch_to_generative_scoring():
    with FakeOpenAI(mode="bad_logprobs") as server:
        backend = _backend(server)
        assert backend.supports_loglikelihood is False
        assert backend.probe_result["ok"] is False
        with pytest.raises(BackendError, match="usable prompt log-probabilities"):
            backend.loglikelihood([LoglikelihoodRequest("Q", " A")])
        # Generation still works: the engine asks the question and reads the letter.
        [answer] = backend.generate([GenerationRequest("Question?\nAnswer:", until=("\n",), max_new_tokens=2)])
    assert answer.strip() in {"A", "B", "C", "D"}


def test_rate_limited_requests_are_retried_until_the_endpoint_answers():
    with FakeOpenAI(mode="flaky", fail_first=2) as server:
        backend = _backend(server)
        [text] = backend.generate([GenerationRequest("Say a letter:", until=())])
    assert text.strip() in {"A", "B", "C", "D"}
    assert len(server.requests) == 3  # two 429s, then the answer
    assert backend.requests_made == 3


def test_persistent_server_errors_give_a_clear_backend_error_after_bounded_retries():
    with FakeOpenAI(mode="error500") as server:
        backend = _backend(server, max_retries=2)
        with pytest.raises(BackendError, match=r"failed after 3 tries: HTTP 503"):
            backend.generate([GenerationRequest("x", until=())])
    assert len(server.requests) == 3


def test_a_hanging_endpoint_fails_after_the_timeout_instead_of_blocking_the_worker():
    with FakeOpenAI(mode="hang", hang_seconds=3) as server:
        backend = _backend(server, timeout=0.3, max_retries=1)
        started = time.monotonic()
        with pytest.raises(BackendError, match=r"no answer within 0.3 s"):
            backend.generate([GenerationRequest("x", until=())])
        elapsed = time.monotonic() - started
    assert elapsed < 2.5  # two tries of 0.3 s plus back-off, not the 3 s hang each


def test_nonsense_json_is_a_backend_error_naming_the_problem():
    with FakeOpenAI(mode="nonsense") as server:
        backend = _backend(server)
        with pytest.raises(BackendError, match="malformed JSON"):
            backend.generate([GenerationRequest("x", until=())])


def test_the_request_budget_stops_a_run_that_would_call_the_endpoint_forever():
    with FakeOpenAI(mode="good") as server:
        backend = _backend(server, request_budget=3)
        backend.generate([GenerationRequest("a", until=()), GenerationRequest("b", until=())])
        with pytest.raises(BackendError, match="request budget of 3"):
            backend.generate([GenerationRequest("c", until=()), GenerationRequest("d", until=())])
    assert len(server.requests) == 3


def test_the_api_key_is_sent_from_the_named_variable_and_never_shown(monkeypatch, caplog):
    secret = "sk-test-very-secret-1234"
    monkeypatch.setenv("LADDER_KEY_ACME", secret)
    caplog.set_level(logging.DEBUG)
    with FakeOpenAI(mode="good", api_key=secret) as server:
        backend = _backend(server, key_env="LADDER_KEY_ACME")
        backend.generate([GenerationRequest("x", until=())])
        assert server.requests[-1]["authorization"] == f"Bearer {secret}"
        server.api_key = "another-key"  # the server now refuses the key and echoes nothing secret
        with pytest.raises(BackendError) as excinfo:
            backend.generate([GenerationRequest("x", until=())])
    assert "401" in str(excinfo.value)
    assert secret not in str(excinfo.value)
    assert "127.0.0.1" not in str(excinfo.value)  # the endpoint URL is staff-only; run errors are public
    assert secret not in str(backend.describe())
    assert secret not in caplog.text


def test_a_missing_key_variable_is_reported_by_name():
    with FakeOpenAI() as server:
        with pytest.raises(BackendError, match="LADDER_KEY_TEST_UNSET is not set"):
            _backend(server, key_env="LADDER_KEY_TEST_UNSET")


def test_chat_only_endpoints_are_used_through_chat_completions():
    with FakeOpenAI(mode="chat_only") as server:
        backend = _backend(server)
        assert backend.supports_loglikelihood is False
        [text] = backend.generate([GenerationRequest("Pick one:", until=("\n",))])
    assert text in {"A", "B", "C", "D"}
    assert server.requests[-1]["path"] == "/v1/chat/completions"


def test_generation_is_cut_at_the_first_stop_sequence_even_if_the_server_ignores_stop():
    with FakeOpenAI() as server:
        backend = _backend(server)
        [text] = backend.generate([GenerationRequest("Pick:", until=("B", "C", "D", "A"))])
    assert text == " "
