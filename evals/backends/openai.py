"""OpenAI-compatible endpoints (vLLM, TGI, llama.cpp server, hosted providers) as a model backend.

- The API key is read from the environment variable NAMED on the model (`endpoint_api_key_env`); the
  key itself never appears in logs, errors or results (messages are scrubbed of it anyway).
- Log-likelihoods come from `/v1/completions` with `echo: true, logprobs: 1, max_tokens: 0`: the
  server returns the prompt's token log-probabilities and we sum those of the continuation's tokens
  (tokens starting at or after the end of the context). Some servers return wrong prompt
  log-probabilities (llama.cpp: see reference/model-serving.md), so they are sanity-checked first on
  an easy continuation; when the check fails, `supports_loglikelihood` is False and the engine asks
  multiple-choice questions generatively.
- Error messages become the run's public error: they name the path and the HTTP status, never the
  (staff-only) base URL, an address, the key or the upstream body (which may echo secrets or internal
  data); the body goes to the worker log at most, cut short and scrubbed of the key.
- The endpoint is checked by registry/services/endpoints.py, the same rules as at save time: the key
  variable must carry the allowed prefix (LADDER_KEY_ by default), https when a key is sent. At connect
  time the host is resolved and every address checked (no loopback, private, link-local, ...; unless
  LADDER_ENDPOINT_ALLOW_PRIVATE), and the connection is PINNED to the checked addresses: the HTTP
  client's network layer (an httpcore network backend) resolves and checks the host itself and connects
  to the checked address, while TLS still verifies the certificate for the host name. So DNS cannot
  answer one address to the check and another to the connection, and every new connection (a retry,
  a dropped keep-alive) is checked again. Redirects are never followed (a 3xx is an error naming only
  its status), and proxy variables of the environment are ignored (the check must see the real target).
- Generation: a chat variant's question (`GenerationRequest.chat`, evals/generative.py) goes to
  `/v1/chat/completions` first and falls back to `/v1/completions` when the endpoint has no chat route
  (404/405/501); other requests go to `/v1/completions` first and fall back to chat the same way.
- Tokens: the `usage` the endpoint reports (prompt and completion tokens) is kept per request of the last
  call (`last_usage`, which the engine stores per item) and summed for the run (`usage_total`, probe
  included).
- Timeouts, retries with exponential backoff on 429/5xx/connection errors (Retry-After honoured up
  to a cap) and a per-run request budget; every failure is a BackendError with a clear reason.

Configuration (environment of the worker): LADDER_OPENAI_TIMEOUT (seconds per request, 60),
LADDER_OPENAI_MAX_RETRIES (4), LADDER_OPENAI_BACKOFF (first back-off in seconds, 1.0),
LADDER_OPENAI_REQUEST_BUDGET (requests per run, 20000).
The endpoint policy comes from the Django settings (registry.services.endpoints.endpoint_policy) unless
given; httpx and httpcore are imported lazily.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from evals.backends.base import BackendError
from evals.types import GenerationRequest, LoglikelihoodRequest, ModelSpec

if TYPE_CHECKING:
    from registry.services.endpoints import EndpointPolicy

logger = logging.getLogger(__name__)

# A continuation any language model finds easy, and one it should find much less likely.
PROBE_CONTEXT = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,"
PROBE_EASY = " 13, 14, 15, 16, 17, 18"
PROBE_HARD = " 97, 3, 58, 21, 9, 60"
# Mean log-probability per token the easy continuation must reach (a correct model is near 0; the
# broken llama.cpp prompt logprobs were around -10).
PROBE_MIN_MEAN_LOGPROB = -2.0


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


class OpenAIBackend:
    """A model behind an OpenAI-compatible HTTP API; one instance per run (the budget is per run)."""

    name = "openai"

    def __init__(
        self,
        *,
        spec: ModelSpec,
        timeout: float | None = None,
        max_retries: int | None = None,
        backoff: float | None = None,
        request_budget: int | None = None,
        policy: EndpointPolicy | None = None,
    ) -> None:
        from registry.services.endpoints import EndpointInvalid, endpoint_policy, endpoint_validate

        if not spec.endpoint_base_url:
            raise BackendError(f"{spec.repo_id} has no API endpoint configured (endpoint_base_url is empty)")
        self.policy = policy or endpoint_policy()
        try:
            # The save-time rules again: a row written before them, or past the admin, is refused here.
            base_url, key_env = endpoint_validate(spec.endpoint_base_url, spec.endpoint_api_key_env, self.policy)
        except EndpointInvalid as exc:
            raise EndpointRefused(f"the model's endpoint is refused: {exc.message}") from exc
        self.spec = spec
        self.base_url = base_url
        if not self.base_url.endswith("/v1"):
            self.base_url += "/v1"
        self.model_name = spec.endpoint_model_name or spec.repo_id
        self.timeout = timeout if timeout is not None else _env_float("LADDER_OPENAI_TIMEOUT", 60.0)
        self.max_retries = int(max_retries if max_retries is not None else _env_float("LADDER_OPENAI_MAX_RETRIES", 4))
        self.backoff = backoff if backoff is not None else _env_float("LADDER_OPENAI_BACKOFF", 1.0)
        self.request_budget = int(
            request_budget if request_budget is not None else _env_float("LADDER_OPENAI_REQUEST_BUDGET", 20000)
        )
        self.requests_made = 0
        self._key = ""
        if key_env:
            self._key = os.environ.get(key_env, "")
            if not self._key:
                raise BackendError(f"the API key variable {key_env} is not set in this worker's environment")
        self._client: Any = None
        self._supports_ll: bool | None = None
        self._chat_only = False
        self._no_chat = False
        self._echo_max_tokens = 0
        self._post_usage: dict[str, int] | None = None
        self.last_usage: list[dict[str, int] | None] = []
        self.usage_total = {"prompt_tokens": 0, "completion_tokens": 0}
        self.probe_result: dict[str, Any] = {}

    # ---- HTTP ---------------------------------------------------------------------------------
    def _http(self) -> Any:
        if self._client is None:
            import httpx

            headers = {"Content-Type": "application/json"}
            if self._key:
                headers["Authorization"] = f"Bearer {self._key}"
            self._client = httpx.Client(
                timeout=httpx.Timeout(self.timeout),
                headers=headers,
                follow_redirects=False,
                trust_env=False,
                transport=_pinned_transport(self.policy),
            )
        return self._client

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST JSON with retries on 429/5xx/connection errors; returns the decoded object."""
        import httpx

        url = f"{self.base_url}{path}"
        last = ""
        for attempt in range(self.max_retries + 1):
            if self.requests_made >= self.request_budget:
                raise BackendError(
                    f"the run's request budget of {self.request_budget} requests to the endpoint is used up "
                    "(LADDER_OPENAI_REQUEST_BUDGET)"
                )
            self.requests_made += 1
            retry_after = 0.0
            try:
                response = self._http().post(url, json=payload)
            except httpx.TimeoutException:
                last = f"no answer within {self.timeout:g} s"
            except httpx.HTTPError as exc:
                last = f"connection failed ({type(exc).__name__})"
            else:
                status = response.status_code
                if status == 200:
                    try:
                        data = response.json()
                    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
                        raise BackendError(f"the endpoint returned malformed JSON from {path}") from exc
                    if not isinstance(data, dict):
                        raise BackendError(f"the endpoint returned a non-object JSON from {path}")
                    self._count_usage(data.get("usage"))
                    return data
                if status == 429 or status >= 500:
                    last = f"HTTP {status}"
                    header = response.headers.get("retry-after", "")
                    try:
                        retry_after = min(float(header), 60.0) if header else 0.0
                    except ValueError:
                        retry_after = 0.0
                else:
                    # The body stays in the worker log: it may echo the request, secrets or internal data.
                    logger.warning(
                        "openai backend: HTTP %s from %s: %s",
                        status,
                        path,
                        self._scrub(response.text[:300]).replace("\n", " "),
                    )
                    raise _HTTPStatusError(status, f"the endpoint ({path}) answered HTTP {status} ({_reason(status)})")
            if attempt < self.max_retries:
                delay = max(retry_after, self.backoff * (2**attempt))
                logger.info("openai backend: %s from %s, retrying in %.1f s", last, path, delay)
                time.sleep(delay)
        raise BackendError(f"the endpoint ({path}) failed after {self.max_retries + 1} tries: {last}")

    def _count_usage(self, usage: Any) -> None:
        """Keep the tokens a response reports (OpenAI's `usage`); None when it reports none."""
        counted: dict[str, int] | None = None
        if isinstance(usage, dict):
            counted = {}
            for key in ("prompt_tokens", "completion_tokens"):
                value = usage.get(key)
                if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                    counted[key] = value
                    self.usage_total[key] += value
            counted = counted or None
        self._post_usage = counted

    def _request_usage(self) -> dict[str, int] | None:
        """The usage of the last response, taken once."""
        usage, self._post_usage = self._post_usage, None
        return usage

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # ---- log-likelihoods ---------------------------------------------------------------------
    def _prompt_logprobs(self, prompt: str) -> tuple[list[int], list[float | None]]:
        """Character offsets and log-probabilities of the prompt's tokens (echo)."""
        payload = {
            "model": self.model_name,
            "prompt": prompt,
            "max_tokens": self._echo_max_tokens,
            "echo": True,
            "logprobs": 1,
            "temperature": 0,
        }
        try:
            data = self._post("/completions", payload)
        except _HTTPStatusError as exc:
            if exc.status not in (400, 422) or self._echo_max_tokens != 0:
                raise
            # Servers such as vLLM refuse max_tokens 0: ask for one token and ignore it (only the
            # prompt's tokens, those before len(prompt), are summed).
            self._echo_max_tokens = 1
            payload["max_tokens"] = 1
            data = self._post("/completions", payload)
        try:
            logprobs = data["choices"][0]["logprobs"]
            offsets = [int(x) for x in logprobs["text_offset"]]
            values = [None if v is None else float(v) for v in logprobs["token_logprobs"]]
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise BackendError("the endpoint returned no prompt log-probabilities (echo + logprobs)") from exc
        if len(offsets) != len(values):
            raise BackendError("the endpoint returned inconsistent log-probabilities")
        return offsets, values

    def _continuation_logprobs(self, context: str, continuation: str) -> list[float]:
        prompt = context + continuation
        offsets, values = self._prompt_logprobs(prompt)
        start, end = len(context), len(prompt)
        picked = [v for off, v in zip(offsets, values, strict=True) if start <= off < end]
        if not picked or any(v is None for v in picked):
            raise BackendError("the endpoint returned no log-probabilities for a continuation")
        return [float(v) for v in picked if v is not None]

    @property
    def supports_loglikelihood(self) -> bool:
        """Whether the endpoint's prompt log-probabilities pass the sanity check (probed once)."""
        if self._supports_ll is None:
            self._supports_ll = self._probe()
        return self._supports_ll

    def _probe(self) -> bool:
        try:
            easy = self._continuation_logprobs(PROBE_CONTEXT, PROBE_EASY)
            hard = self._continuation_logprobs(PROBE_CONTEXT, PROBE_HARD)
        except _HTTPStatusError as exc:
            self.probe_result = {"ok": False, "reason": str(exc)}
            logger.info("openai backend: no prompt log-probabilities (%s); using generative scoring", exc)
            return False
        except BackendError as exc:
            if isinstance(exc, EndpointRefused) or "failed after" in str(exc) or "budget" in str(exc):
                raise  # the endpoint is down or refused: that is a run failure, not a missing feature
            self.probe_result = {"ok": False, "reason": str(exc)}
            return False
        mean_easy = sum(easy) / len(easy)
        ok = mean_easy >= PROBE_MIN_MEAN_LOGPROB and sum(easy) > sum(hard)
        self.probe_result = {"ok": ok, "easy_mean_logprob": round(mean_easy, 4), "easy": sum(easy), "hard": sum(hard)}
        if not ok:
            logger.warning(
                "openai backend: prompt log-probabilities fail the sanity check (%s); using generative scoring",
                self.probe_result,
            )
        return ok

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[float]:
        if not self.supports_loglikelihood:
            raise BackendError("the endpoint does not return usable prompt log-probabilities")
        values: list[float] = []
        self.last_usage = []
        try:
            for r in requests:
                self._post_usage = None
                values.append(sum(self._continuation_logprobs(r.context, r.continuation)))
                self.last_usage.append(self._request_usage())
        except _HTTPStatusError as exc:
            raise BackendError(str(exc)) from exc
        return values

    # ---- generation --------------------------------------------------------------------------
    def _complete(self, request: GenerationRequest, stops: list[str]) -> str | None:
        """Text from /completions, or None when the endpoint has no such route (chat only)."""
        payload: dict[str, Any] = {
            "model": self.model_name,
            "prompt": request.context,
            "max_tokens": request.max_new_tokens,
            "temperature": 0,
        }
        if stops:
            payload["stop"] = stops
        try:
            data = self._post("/completions", payload)
        except _HTTPStatusError as exc:
            if exc.status not in (404, 405, 501):
                raise BackendError(str(exc)) from exc
            self._chat_only = True
            return None
        try:
            return str(data["choices"][0]["text"])
        except (KeyError, IndexError, TypeError) as exc:
            raise BackendError("the endpoint returned a completion without text") from exc

    def _chat(self, request: GenerationRequest, stops: list[str]) -> str | None:
        """Text from /chat/completions, or None when the endpoint has no such route (completions only)."""
        payload: dict[str, Any] = {
            "model": self.model_name,
            "messages": [{"role": "user", "content": request.context}],
            "max_tokens": request.max_new_tokens,
            "temperature": 0,
        }
        if stops:
            payload["stop"] = stops
        try:
            data = self._post("/chat/completions", payload)
        except _HTTPStatusError as exc:
            if exc.status not in (404, 405, 501) or self._chat_only:
                raise BackendError(str(exc)) from exc
            self._no_chat = True
            return None
        try:
            return str(data["choices"][0]["message"]["content"] or "")
        except (KeyError, IndexError, TypeError) as exc:
            raise BackendError("the endpoint returned a chat answer without content") from exc

    def _generate_one(self, request: GenerationRequest) -> str:
        stops = [s for s in request.until if s][:4]  # the API allows up to 4 stop sequences
        self._post_usage = None
        text: str | None = None
        if request.chat and not self._no_chat:
            text = self._chat(request, stops)
        if text is None and not self._chat_only:
            text = self._complete(request, stops)
        if text is None:
            text = self._chat(request, stops)
        if text is None:
            raise BackendError("the endpoint answers neither /completions nor /chat/completions")
        return _cut(text, request.until)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        texts: list[str] = []
        self.last_usage = []
        for request in requests:
            texts.append(self._generate_one(request))
            self.last_usage.append(self._request_usage())
        return texts

    def describe(self) -> dict[str, Any]:
        return {
            "revision_sha": "",
            "dtype": "remote",
            "device": "remote",
            "endpoint_model": self.model_name,
            "loglikelihood": self._supports_ll,
            "probe": dict(self.probe_result),
            "chat_only": self._chat_only,
            "requests": self.requests_made,
            "usage": dict(self.usage_total),
        }


class _HTTPStatusError(BackendError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class EndpointRefused(BackendError):
    """The endpoint breaks the endpoint rules (registry/services/endpoints.py): never retried."""


def _reason(status: int) -> str:
    """A short public reason for a status: the standard phrase, never the server's own text."""
    if 300 <= status < 400:
        return "a redirect; redirects are not followed"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "unexpected status"


def _pinned_transport(policy: EndpointPolicy) -> Any:
    """An httpx transport whose every TCP connection goes to an address that passed the connect-time check.

    httpx has no public hook for its network layer, so the transport's connection pool is rebuilt with
    a network backend of ours (httpcore's documented extension point) and httpx's own TLS context.
    The backend receives the URL's host name, resolves and checks it (endpoint_host_addresses) and
    connects to the checked address itself; TLS is then started by httpcore with the host name, so the
    certificate is verified for the name, not the address.
    """
    import httpcore
    import httpx

    from registry.services.endpoints import EndpointInvalid, endpoint_host_addresses

    class PinnedNetworkBackend(httpcore.SyncBackend):
        def connect_tcp(
            self,
            host: str,
            port: int,
            timeout: float | None = None,
            local_address: str | None = None,
            socket_options: Any = None,
        ) -> httpcore.NetworkStream:
            try:
                addresses = endpoint_host_addresses(host, port, policy)
            except EndpointInvalid as exc:
                logger.warning("openai backend: refused to connect to %s:%s (an internal address)", host, port)
                raise EndpointRefused(f"the model's endpoint is refused: {exc.message}") from None
            except OSError as exc:
                raise httpcore.ConnectError(f"the host name did not resolve ({type(exc).__name__})") from None
            error: Exception = httpcore.ConnectError("no address to connect to")
            for address in addresses:  # each one checked above; the first that answers is used
                try:
                    return super().connect_tcp(address, port, timeout, local_address, socket_options)
                except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                    error = exc
            raise error

    transport = httpx.HTTPTransport(trust_env=False)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=100,  # httpx's DEFAULT_LIMITS, as HTTPTransport would set them
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=PinnedNetworkBackend(),
    )
    return transport


def _cut(text: str, until: Sequence[str]) -> str:
    """Cut at the first stop sequence (servers may ignore `stop`)."""
    cut = len(text)
    for stop in until:
        if stop:
            idx = text.find(stop)
            if idx != -1:
                cut = min(cut, idx)
    return text[:cut]
