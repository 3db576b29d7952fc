"""A fake OpenAI-compatible server: a real HTTP server on 127.0.0.1 for the openai backend's tests.

It serves /v1/completions (with echo + logprobs) and /v1/chat/completions from a tiny deterministic
"model": tokens are whitespace-led words; a number that continues a counting sequence gets
log-probability -0.05, any other token a value in [-7.5, -0.5] derived from its text. Modes make it
misbehave the ways real endpoints do:

- "good": correct-looking prompt log-probabilities.
- "bad_logprobs": every prompt token about -13 (like llama.cpp's echo logprobs): the sanity check fails.
- "flaky": the first `fail_first` requests answer 429 (with Retry-After: 0), then as "good".
- "error500": every request answers 503.
- "hang": every request sleeps `hang_seconds` before answering.
- "nonsense": 200 with a body that is not JSON.
- "chat_only": /v1/completions answers 404.
- "redirect": every request answers `redirect_status` (302) with `Location: redirect_to`.
- "leaky_error": every request answers 400 with `error_body` (an upstream body that echoes secrets).
Every request is recorded in `requests`, GETs too (a catcher that must receive nothing).
`reply` fixes what every generation answers (a constant answerer, an empty or unreadable reply); every
response reports `usage` (prompt and completion tokens counted as the fake tokenizes them) unless
`report_usage` is False.
`delay` slows every request (a slow model for kill-and-resume tests); `api_key` requires that bearer key.
"""

from __future__ import annotations

import json
import re
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN_RE = re.compile(r"\s*\S+|\s+")


def tokenize(text: str) -> list[tuple[int, str]]:
    return [(m.start(), m.group(0)) for m in TOKEN_RE.finditer(text)]


def _number(token: str) -> int | None:
    try:
        return int(token.strip().rstrip(",."))
    except ValueError:
        return None


def token_logprob(previous: str | None, token: str) -> float:
    """The fake model's log-probability of `token` after `previous`."""
    prev_n, n = (_number(previous) if previous else None), _number(token)
    if prev_n is not None and n is not None and n == prev_n + 1:
        return -0.05
    return -(0.5 + (zlib.crc32(token.strip().lower().encode()) % 700) / 100)


def answer_letter(prompt: str) -> str:
    return "ABCD"[zlib.crc32(prompt.encode()) % 4]


class FakeOpenAI:
    """Start with `with FakeOpenAI(mode="good") as server:`; `server.base_url` ends in /v1."""

    def __init__(
        self,
        *,
        mode: str = "good",
        delay: float = 0.0,
        hang_seconds: float = 5.0,
        fail_first: int = 0,
        api_key: str = "",
        redirect_to: str = "",
        redirect_status: int = 302,
        error_body: str = "",
        reply: str | None = None,
        report_usage: bool = True,
    ) -> None:
        self.mode = mode
        self.reply = reply
        self.report_usage = report_usage
        self.redirect_to = redirect_to
        self.redirect_status = redirect_status
        self.error_body = error_body
        self.delay = delay
        self.hang_seconds = hang_seconds
        self.fail_first = fail_first
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)  # an AF_INET server
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # http.server API
                with fake.lock:
                    fake.requests.append(
                        {"path": self.path, "body": None, "authorization": self.headers.get("Authorization", "")}
                    )
                return self._send(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:  # http.server API
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    return self._send(400, {"error": {"message": "bad json"}})
                with fake.lock:
                    fake.requests.append(
                        {"path": self.path, "body": body, "authorization": self.headers.get("Authorization", "")}
                    )
                    count = len(fake.requests)
                if fake.delay:
                    time.sleep(fake.delay)
                if fake.api_key and self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    return self._send(401, {"error": {"message": "invalid api key"}})
                mode = fake.mode
                if mode == "hang":
                    time.sleep(fake.hang_seconds)
                    mode = "good"
                if mode == "flaky":
                    if count <= fake.fail_first:
                        return self._send(429, {"error": {"message": "rate limited"}}, {"Retry-After": "0"})
                    mode = "good"
                if mode == "error500":
                    return self._send(503, {"error": {"message": "overloaded"}})
                if mode == "redirect":
                    return self._send(fake.redirect_status, {}, {"Location": fake.redirect_to})
                if mode == "leaky_error":
                    return self._send_raw(400, fake.error_body.encode(), "application/json")
                if mode == "nonsense":
                    return self._send_raw(200, b"<html>this is not json {", "text/html")
                if self.path.rstrip("/") == "/v1/completions":
                    if mode == "chat_only":
                        return self._send(404, {"error": {"message": "not found"}})
                    return self._send(200, fake.completion(body, bad=mode == "bad_logprobs"))
                if self.path.rstrip("/") == "/v1/chat/completions":
                    return self._send(200, fake.chat(body))
                return self._send(404, {"error": {"message": "not found"}})

            def _send(self, status: int, obj: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                self._send_raw(status, json.dumps(obj).encode(), "application/json", headers)

            def _send_raw(
                self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None
            ) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # ---- the fake model ----------------------------------------------------------------------
    def completion(self, body: dict[str, Any], *, bad: bool = False) -> dict[str, Any]:
        prompt = str(body.get("prompt", ""))
        if body.get("echo"):
            tokens = tokenize(prompt)
            values: list[float | None] = []
            previous = None
            for _offset, token in tokens:
                if previous is None:
                    values.append(None)
                elif bad:
                    values.append(-13.0 - (zlib.crc32(token.encode()) % 100) / 100)
                else:
                    values.append(token_logprob(previous, token))
                previous = token
            return {
                "id": "cmpl-fake",
                "object": "text_completion",
                "model": body.get("model"),
                **self._usage(prompt, ""),
                "choices": [
                    {
                        "index": 0,
                        "text": prompt,
                        "logprobs": {
                            "tokens": [t for _o, t in tokens],
                            "token_logprobs": values,
                            "text_offset": [o for o, _t in tokens],
                            "top_logprobs": None,
                        },
                        "finish_reason": "length",
                    }
                ],
            }
        text = " " + answer_letter(prompt) if self.reply is None else self.reply
        return {
            "id": "cmpl-fake",
            "object": "text_completion",
            "model": body.get("model"),
            **self._usage(prompt, text),
            "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": "stop"}],
        }

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = body.get("messages") or [{"content": ""}]
        content = str(messages[-1].get("content", ""))
        answer = answer_letter(content) if self.reply is None else self.reply
        return {
            "id": "chat-fake",
            "object": "chat.completion",
            "model": body.get("model"),
            **self._usage(content, answer),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer},
                    "finish_reason": "stop",
                }
            ],
        }

    def _usage(self, prompt: str, completion: str) -> dict[str, Any]:
        if not self.report_usage:
            return {}
        prompt_tokens, completion_tokens = len(tokenize(prompt)), len(tokenize(completion))
        return {
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            }
        }
