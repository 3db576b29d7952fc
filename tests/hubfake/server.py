"""A fake Hugging Face Hub: a real HTTP server on 127.0.0.1 speaking the Hub's wire format.

It reproduces what huggingface_hub 2.x relies on (see the project's hub-api reference):
`GET /api/models` (filter/author/search/pipeline_tag/sort/limit/full/config/cardData/expand, repeated
keys and `key[]`, booleans true/True/1, absolute `Link: <...cursor=...>; rel="next"` pagination,
400 on an unknown expand value, expand returning only the asked fields plus `_id`/`id`),
`GET /api/models/{repo}` and `/api/models/{repo}/revision/{rev}` (branches, tags and `refs/pr/N` with their
own metadata: `add_revision`), `GET /api/models/{repo}/refs[?include_prs=1]`, the tree listing with file
sizes, `HEAD`/`GET /{repo}/resolve/{rev}/{file}`, dataset repos (`add_dataset`: their tree listing and files)
(gated repos refuse downloads: 401 anonymous, 403 with a token), errors with `X-Error-Code` and
`X-Error-Message`, 429 with `RateLimit: "api";r=0;t=0`, and 404 for `/api/agent-harnesses`.

Faults are switchable per path or per model: N times (or always) 429, 5xx, a hang longer than the
client's timeout, malformed JSON, missing fields, or a permanent error (not found, gated, disabled);
`slow` answers a GET normally but trickles its body over `hang_seconds` (a slow download).

Pull requests: `POST /api/models/{repo}/preupload/{rev}` and the NDJSON `POST /api/models/{repo}/commit/{rev}`
(`create_pr=1`) as `HfApi.create_commit` sends them, with a token from `write_tokens` (401 without one or with
an unknown one, 403 with a read-only token); each commit is recorded in `commits` (its files decoded) and a
pull request becomes `refs/pr/N` (served by the revision, tree, resolve and refs endpoints) and a discussion
(`GET /api/models/{repo}/discussions[/{num}]`). `add_pull_request` opens one as a community member would;
`set_pull_request_status` closes or merges it (a merge puts its files on main, with a new sha).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Mapping
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from tests.hubfake.records import fake_sha

EXPAND_VALUES = frozenset(
    "author baseModels cardData childrenModelCount config createdAt disabled downloads downloadsAllTime evalResults "
    "gated gguf inference inferenceProviderMapping lastModified library_name likes mask_token model-index "
    "pipeline_tag private resourceGroup safetensors sha siblings spaces tags transformersInfo trendingScore "
    "usedStorage widgetData".split()
)
# What a list item carries by default, with full=true, and what model_info carries without expand.
LIST_DEFAULT = ("likes", "trendingScore", "private", "downloads", "tags", "pipeline_tag", "library_name", "createdAt")
LIST_FULL = LIST_DEFAULT + ("author", "gated", "lastModified", "sha", "siblings", "disabled")
INFO_FIELDS = LIST_FULL + ("cardData", "config", "safetensors", "spaces", "usedStorage")

FAULT_KINDS = frozenset(
    {"rate_limit", "server_error", "hang", "slow", "malformed", "missing_fields", "not_found", "gated", "disabled"}
)


@dataclass
class Fault:
    """One switchable fault. `times=None` means every matching request; `skip` lets the first K pass."""

    kind: str
    path: str | None = None
    model: str | None = None
    times: int | None = None
    skip: int = 0
    status: int = 503
    fields: tuple[str, ...] = ()
    hang_seconds: float = 3.0
    where: str = "both"  # missing_fields: "list", "info" or "both"
    hits: int = 0
    method: str | None = None  # only requests with this HTTP method ("POST" for commits); None: any

    def matches_request(self, path: str, model: str | None) -> bool:
        if self.path is not None:
            return path == self.path
        return self.model is not None and model is not None and model.lower() == self.model.lower()


@dataclass
class RequestLog:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str] = field(default_factory=dict)


class FakeHub:
    """The fake Hub's state and server. Use as a context manager, or start()/stop().

    `url` is the endpoint to put in HF_ENDPOINT / settings.HF_ENDPOINT once started.
    """

    def __init__(self, models: list[dict[str, Any]] | None = None, *, page_size: int = 1000, port: int = 0) -> None:
        self._lock = threading.RLock()
        self._models: dict[str, dict[str, Any]] = {}
        self._old_shas: dict[str, set[str]] = {}
        # repo id -> {ref name: record}: other branches, tags and pull requests with their own metadata.
        self._revisions: dict[str, dict[str, dict[str, Any]]] = {}
        self._datasets: dict[str, dict[str, Any]] = {}
        # repo id -> its pull requests (num, title, description, status, author, createdAt, sha, files)
        self._pulls: dict[str, list[dict[str, Any]]] = {}
        # tokens allowed to commit, and tokens that can read but not write (answered 403)
        self.write_tokens: set[str] = set()
        self.read_tokens: set[str] = set()
        # every commit received: {repo, revision, create_pr, summary, description, files: {path: bytes}, sha, pr_num}
        self.commits: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.requests: list[RequestLog] = []
        self.page_size = page_size
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for record in models or []:
            self.add_model(record)

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "FakeHub is not started"
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)  # an AF_INET server
        return f"http://{host}:{port}"

    def start(self) -> FakeHub:
        hub = self

        class Handler(_Handler):
            fake = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-hub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- state changes between syncs --------------------------------------------------------------
    def add_model(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._models[record["id"]] = deepcopy(record)

    def add_dataset(self, repo_id: str, files: Mapping[str, bytes | str], *, sha: str | None = None) -> str:
        """A dataset repo whose files are served under /datasets/{repo}/resolve/{rev}/{path}; returns its sha."""
        commit = sha or fake_sha("dataset", repo_id, sorted(files))
        data = {path: content.encode() if isinstance(content, str) else content for path, content in files.items()}
        with self._lock:
            self._datasets[repo_id] = {"sha": commit, "files": data}
        return commit

    def remove_model(self, repo_id: str) -> None:
        """The model disappears from the Hub (deleted or made private)."""
        with self._lock:
            del self._models[repo_id]

    def model(self, repo_id: str) -> dict[str, Any]:
        with self._lock:
            return deepcopy(self._models[repo_id])

    def model_ids(self) -> list[str]:
        with self._lock:
            return list(self._models)

    def push_commit(self, repo_id: str, **changes: Any) -> str:
        """A new commit on the model: a new sha and lastModified, plus any top-level field changes.

        `config_file=` replaces the served config.json. Returns the new sha.
        """
        with self._lock:
            record = self._models[repo_id]
            self._old_shas.setdefault(repo_id, set()).add(record["sha"])
            record["sha"] = fake_sha(repo_id, record["sha"], time.monotonic_ns())
            record["lastModified"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            if "config_file" in changes:
                record["_config_file"] = changes.pop("config_file")
            for key, value in changes.items():
                record[key] = value
            return record["sha"]

    def add_revision(
        self,
        repo_id: str,
        ref: str,
        *,
        safetensors: dict[str, int] | None = None,
        file_sizes: dict[str, int] | None = None,
        **changes: Any,
    ) -> str:
        """Another revision of the model with its own metadata; returns its commit sha.

        `ref` is a branch name (`dev`), a tag (`tag:v1.0` makes `v1.0` a tag) or a pull request
        (`refs/pr/1`). The revision starts as a copy of the main record: `safetensors={"BF16": n}`
        replaces its safetensors metadata (`{}` removes it), `file_sizes={"pytorch_model.bin": n}` adds
        files with those sizes (what the tree listing reports), other keyword arguments replace
        top-level fields (`cardData=...`, `config_file=...` for the served config.json).
        """
        kind = "branch"
        if ref.startswith("tag:"):
            kind, ref = "tag", ref[len("tag:") :]
        elif ref.startswith("refs/pr/"):
            kind = "pr"
        with self._lock:
            record = deepcopy(self._models[repo_id])
            record["sha"] = fake_sha(repo_id, ref, time.monotonic_ns())
            record["_ref_kind"] = kind
            if safetensors is not None:
                record.pop("safetensors", None)
                record["siblings"] = [s for s in record["siblings"] if not s["rfilename"].endswith(".safetensors")]
                if safetensors:
                    record["safetensors"] = {"parameters": dict(safetensors), "total": sum(safetensors.values())}
                    record["siblings"].append({"rfilename": "model.safetensors"})
            if file_sizes:
                record["_file_sizes"] = {**record.get("_file_sizes", {}), **file_sizes}
                known = {s["rfilename"] for s in record["siblings"]}
                record["siblings"] += [{"rfilename": name} for name in file_sizes if name not in known]
            if "config_file" in changes:
                record["_config_file"] = changes.pop("config_file")
            record.update(changes)
            self._revisions.setdefault(record["id"], {})[ref] = record
            return record["sha"]

    def add_pull_request(
        self,
        repo_id: str,
        files: dict[str, bytes | str],
        *,
        title: str = "Add evaluation results",
        description: str = "",
        author: str = "community-member",
    ) -> int:
        """An open pull request adding `files` to the model (as a community member opens one); returns its number."""
        data = {path: content.encode() if isinstance(content, str) else content for path, content in files.items()}
        return self._open_pull(repo_id, data, title=title, description=description, author=author)["num"]

    def set_pull_request_status(self, repo_id: str, num: int, status: str) -> None:
        """Close (`closed`) or merge (`merged`) a pull request; a merge commits its files to main."""
        if status not in ("open", "closed", "merged", "draft"):
            raise ValueError(f"unknown pull request status {status!r}")
        with self._lock:
            pull = next(p for p in self._pulls[repo_id] if p["num"] == num)
            pull["status"] = status
            if status == "merged":
                record = self._models[repo_id]
                files = {**record.get("_files", {}), **pull["files"]}
                known = {s["rfilename"] for s in record["siblings"]}
                siblings = record["siblings"] + [{"rfilename": n} for n in pull["files"] if n not in known]
                self.push_commit(repo_id, _files=files, siblings=siblings)

    def pull_requests(self, repo_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return deepcopy(self._pulls.get(repo_id, []))

    def _open_pull(
        self, repo_id: str, files: dict[str, bytes], *, title: str, description: str, author: str
    ) -> dict[str, Any]:
        with self._lock:
            pulls = self._pulls.setdefault(repo_id, [])
            num = len(pulls) + 1
            ref = f"refs/pr/{num}"
            main = self._models[repo_id]
            record = deepcopy(main)
            record["sha"] = fake_sha(repo_id, ref, sorted(files), time.monotonic_ns())
            record["_ref_kind"] = "pr"
            record["_files"] = {**main.get("_files", {}), **files}
            known = {s["rfilename"] for s in record["siblings"]}
            record["siblings"] = record["siblings"] + [{"rfilename": n} for n in files if n not in known]
            self._revisions.setdefault(repo_id, {})[ref] = record
            pull = {
                "num": num,
                "title": title,
                "description": description,
                "status": "open",
                "author": author,
                "createdAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "sha": record["sha"],
                "files": dict(files),
            }
            pulls.append(pull)
            return deepcopy(pull)

    def add_fault(
        self,
        kind: str,
        *,
        path: str | None = None,
        model: str | None = None,
        times: int | None = None,
        skip: int = 0,
        status: int = 503,
        fields: tuple[str, ...] = (),
        hang_seconds: float = 3.0,
        where: str = "both",
        method: str | None = None,
    ) -> Fault:
        """Switch on a fault for requests to `path` (exact path, e.g. "/api/models") or about `model`.

        A model fault applies to that model's model_info, resolve, discussions, preupload and commit
        requests (`method="POST"` limits it to the last two); `missing_fields` drops `fields` from the
        model's list items and/or model_info answers (`where`).
        """
        if where not in ("list", "info", "both"):
            raise ValueError("where is one of list, info, both")
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(FAULT_KINDS)}")
        if (path is None) == (model is None):
            raise ValueError("give exactly one of path= or model=")
        fault = Fault(kind, path, model, times, skip, status, tuple(fields), hang_seconds, where, method=method)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def requests_to(self, prefix: str) -> list[RequestLog]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(prefix)]

    # -- used by the handler ---------------------------------------------------------------------
    def _take_fault(
        self, path: str, model: str | None, kinds: frozenset[str] = FAULT_KINDS, method: str = "GET"
    ) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.kind not in kinds or not fault.matches_request(path, model):
                    continue
                if fault.method is not None and fault.method != method:
                    continue
                if fault.kind == "missing_fields":
                    continue  # a property of the data (see _missing_fields), not of a request
                fault.hits += 1
                if fault.hits <= fault.skip:
                    continue
                if fault.times is not None and fault.hits > fault.skip + fault.times:
                    continue
                return fault
        return None

    def _missing_fields(self, repo_id: str, where: str) -> tuple[str, ...]:
        with self._lock:
            out: tuple[str, ...] = ()
            for fault in self.faults:
                if fault.kind != "missing_fields" or fault.where not in (where, "both"):
                    continue
                if fault.model and fault.model.lower() == repo_id.lower():
                    out += fault.fields
            return out

    def _find(self, repo_id: str) -> dict[str, Any] | None:
        with self._lock:
            record = self._models.get(repo_id)
            if record is None:  # repo ids are case-insensitive on the Hub
                lowered = repo_id.lower()
                record = next((r for k, r in self._models.items() if k.lower() == lowered), None)
            return deepcopy(record) if record else None

    def _at_revision(self, record: dict[str, Any], revision: str) -> dict[str, Any] | None:
        """The record as it is at `revision` (main, its sha, an older main sha, another ref or its sha)."""
        with self._lock:
            if revision in {"main", record["sha"]}:
                return record
            if revision in self._old_shas.get(record["id"], set()):
                return {**record, "sha": revision}
            for name, other in self._revisions.get(record["id"], {}).items():
                if revision in {name, other["sha"]}:
                    return deepcopy(other)
            return None

    def _refs(self, record: dict[str, Any], *, include_prs: bool) -> dict[str, Any]:
        """`GET /api/models/{repo}/refs` as the Hub answers it (pull requests only with include_prs)."""
        with self._lock:
            others = list(self._revisions.get(record["id"], {}).items())

        def ref(name: str, full: str, sha: str) -> dict[str, str]:
            return {"name": name, "ref": full, "targetCommit": sha}

        body: dict[str, Any] = {
            "branches": [ref("main", "refs/heads/main", record["sha"])]
            + [ref(n, f"refs/heads/{n}", r["sha"]) for n, r in others if r["_ref_kind"] == "branch"],
            "converts": [],
            "tags": [ref(n, f"refs/tags/{n}", r["sha"]) for n, r in others if r["_ref_kind"] == "tag"],
        }
        if include_prs:
            body["pullRequests"] = [ref(n, n, r["sha"]) for n, r in others if r["_ref_kind"] == "pr"]
        return body


def _public(record: dict[str, Any], fields: tuple[str, ...] | frozenset[str] | list[str]) -> dict[str, Any]:
    item = {"_id": record["_id"], "id": record["id"]}
    for name in fields:
        if name == "modelId":
            continue
        if name in record:
            item[name] = record[name]
    return item


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in {"true", "1", "yes"}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeHub
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: do not wait for delayed ACKs
    server_version = "FakeHub/1.0"
    _slow_seconds = 0.0  # set by a `slow` fault for the current request

    def log_message(self, format: str, *args: Any) -> None:  # silence the default stderr log
        return

    # -- plumbing --------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Request-Id", f"Root=1-fake-{time.monotonic_ns()}")
            self.end_headers()
            if self.command != "HEAD" and body and self._slow_seconds > 0:
                step = max(1, len(body) // 20)  # a slow download: 20 pieces spread over the fault's seconds
                for start in range(0, len(body), step):
                    self.wfile.write(body[start : start + step])
                    self.wfile.flush()
                    time.sleep(self._slow_seconds / 20)
            elif self.command != "HEAD" and body:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): nothing to do

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self._send(status, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})

    def _error(self, status: int, code: str | None, message: str, extra: dict[str, str] | None = None) -> None:
        headers = {"X-Error-Message": message, **(extra or {})}
        if code:
            headers["X-Error-Code"] = code
        self._json(status, {"error": message}, headers)

    def _apply_fault(self, fault: Fault, repo_id: str | None) -> bool:
        """Answer with the fault; False when the normal answer follows (after a hang)."""
        if fault.kind == "rate_limit":
            self._error(
                429,
                None,
                "You have exceeded our rate limit of API calls. Retry later.",
                {"RateLimit": '"api";r=0;t=0', "RateLimit-Policy": '"fixed window";"api";q=500;w=300'},
            )
        elif fault.kind == "server_error":
            self._error(fault.status, None, "Internal Error - We're working hard to fix this as soon as possible!")
        elif fault.kind == "slow":
            self._slow_seconds = fault.hang_seconds
            return False
        elif fault.kind == "hang":
            time.sleep(fault.hang_seconds)  # then the real answer, which a client that timed out never reads
            return False
        elif fault.kind == "malformed":
            self._send(200, b'{"_id": "65f0", "id": "broken", "tags": [', {"Content-Type": "application/json"})
        elif fault.kind == "not_found":
            self._repo_not_found(repo_id or self.path)
        elif fault.kind == "gated":
            self._error(
                403,
                "GatedRepo",
                f"Access to model {repo_id} is restricted and you are not in the authorized list. "
                f"Visit https://huggingface.co/{repo_id} to ask for access.",
            )
        elif fault.kind == "disabled":
            self._error(403, None, "Access to this resource is disabled.")
        else:
            return False
        return True

    def _repo_not_found(self, repo_id: str) -> None:
        self._error(
            404,
            "RepoNotFound",
            "Repository not found. Make sure the repository id is right and that you are authenticated.",
        )

    def _log(self, path: str, query: list[tuple[str, str]]) -> None:
        with self.fake._lock:
            self.fake.requests.append(RequestLog(self.command, path, query, dict(self.headers.items())))

    # -- routing ---------------------------------------------------------------------------------
    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        split = urlsplit(self.path)
        path = split.path
        query = parse_qsl(split.query, keep_blank_values=True)
        self._log(path, query)
        self._slow_seconds = 0.0  # one handler serves every request of a kept-alive connection
        if path == "/api/agent-harnesses":
            return self._error(404, None, "Not Found")
        model = None
        if path.startswith("/api/models/"):
            model = _model_of(path)
        elif "/resolve/" in path:
            model = unquote(path.lstrip("/").split("/resolve/", 1)[0])
        fault = self.fake._take_fault(path, model, method="GET")
        if fault is not None and self._apply_fault(fault, model):
            return None
        if path == "/api/models":
            return self._list(query)
        if path.startswith("/api/models/") and "/discussions" in path:
            return self._discussions(path, query)
        if path.startswith("/api/models/") and "/tree/" in path:
            return self._tree(path)
        if path.startswith("/api/models/") and path.endswith("/refs"):
            return self._list_refs(model or "", query)
        if path.startswith("/api/models/"):
            return self._info(path, query)
        if path.startswith("/datasets/") and "/resolve/" in path:
            return self._resolve_dataset(path)
        if path.startswith("/api/datasets/") and "/tree/" in path:
            return self._dataset_tree(path)
        if "/resolve/" in path:
            return self._resolve(path)
        return self._error(404, None, "Not Found")

    def do_POST(self) -> None:
        split = urlsplit(self.path)
        path = split.path
        query = parse_qsl(split.query, keep_blank_values=True)
        self._log(path, query)
        self._slow_seconds = 0.0
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        model = _model_of(path) if path.startswith("/api/models/") else None
        fault = self.fake._take_fault(path, model, method="POST")
        if fault is not None and self._apply_fault(fault, model):
            return None
        if path.startswith("/api/models/") and ("/preupload/" in path or "/commit/" in path):
            return self._write(path, query, body)
        return self._error(404, None, "Not Found")

    # -- POST /api/models/{repo}/preupload/{rev} and /commit/{rev} (what HfApi.create_commit sends) ----
    def _write(self, path: str, query: list[tuple[str, str]], body: bytes) -> None:
        action = "preupload" if "/preupload/" in path else "commit"
        repo_part, _, revision = path[len("/api/models/") :].partition(f"/{action}/")
        repo_id, revision = unquote(repo_part), unquote(revision)
        token = (self.headers.get("authorization") or "").removeprefix("Bearer ").strip()
        if not token or (token not in self.fake.write_tokens and token not in self.fake.read_tokens):
            return self._error(401, None, "Invalid credentials in Authorization header")
        record = self.fake._find(repo_id)
        if record is None:
            return self._repo_not_found(repo_id)
        create_pr = _truthy(dict(query).get("create_pr"))
        if token not in self.fake.write_tokens:
            what = "open a pull request on" if create_pr else "push to"
            return self._error(403, None, f"You don't have the rights to {what} {repo_id}: your token is read-only")
        if revision != "main":
            return self._error(400, None, f"the fake Hub only takes commits to main (got {revision!r})")
        if action == "preupload":
            try:
                files = json.loads(body)["files"]
            except (ValueError, KeyError, TypeError):
                return self._error(400, None, "Invalid preupload payload")
            out = []
            for item in files:
                existing = _file_content(record, item["path"])
                oid = _git_blob_sha(existing) if existing is not None else None
                out.append({"path": item["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": oid})
            return self._json(200, {"files": out, "commitOid": record["sha"]})
        if self.headers.get("content-type", "").split(";")[0] != "application/x-ndjson":
            return self._error(400, None, "A commit is an application/x-ndjson body")
        try:
            lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        except ValueError:
            return self._error(400, None, "Invalid NDJSON")
        if not lines or lines[0].get("key") != "header":
            return self._error(400, None, "The first line of a commit must be its header")
        header, files = lines[0]["value"], {}
        for line in lines[1:]:
            value = line.get("value") or {}
            if line.get("key") != "file" or value.get("encoding") != "base64":
                return self._error(400, None, f"the fake Hub only takes regular files (got {line.get('key')!r})")
            files[value["path"]] = base64.b64decode(value["content"])
        if not create_pr:
            return self._error(403, None, "the fake Hub only takes commits as pull requests (create_pr=1)")
        pull = self.fake._open_pull(
            record["id"],
            files,
            title=header.get("summary", ""),
            description=header.get("description", ""),
            author="ladder-bot",
        )
        with self.fake._lock:
            self.fake.commits.append(
                {
                    "repo": record["id"],
                    "revision": revision,
                    "create_pr": create_pr,
                    "summary": header.get("summary", ""),
                    "description": header.get("description", ""),
                    "files": files,
                    "sha": pull["sha"],
                    "pr_num": pull["num"],
                }
            )
        return self._json(
            200,
            {
                "success": True,
                "commitOid": pull["sha"],
                "commitUrl": f"{self.fake.url}/{record['id']}/commit/{pull['sha']}",
                "pullRequestUrl": f"{self.fake.url}/{record['id']}/discussions/{pull['num']}",
            },
        )

    # -- GET /api/models/{repo}/discussions[/{num}] ---------------------------------------------------
    def _discussions(self, path: str, query: list[tuple[str, str]]) -> None:
        repo_part, _, rest = path[len("/api/models/") :].partition("/discussions")
        record = self.fake._find(unquote(repo_part))
        if record is None:
            return self._repo_not_found(unquote(repo_part))
        pulls = self.fake.pull_requests(record["id"])

        def item(pull: dict[str, Any]) -> dict[str, Any]:
            return {
                "num": pull["num"],
                "title": pull["title"],
                "status": pull["status"],
                "isPullRequest": True,
                "createdAt": pull["createdAt"],
                "author": {"name": pull["author"]},
                "repo": {"name": record["id"], "type": "model"},
                "pinned": False,
                "numComments": 1,
            }

        if rest.strip("/"):
            pull = next((p for p in pulls if str(p["num"]) == rest.strip("/")), None)
            if pull is None:
                return self._error(404, None, "Discussion not found")
            return self._json(
                200,
                {
                    **item(pull),
                    "events": [],
                    "changes": {"base": "refs/heads/main"},
                    "filesWithConflicts": [],
                    "diff": "",
                },
            )
        params = dict(query)
        if params.get("type") == "discussion":
            pulls = []
        if params.get("status") in ("open", "closed"):
            pulls = [p for p in pulls if (p["status"] == "open") == (params["status"] == "open")]
        page = int(params.get("p") or 0)
        size = 50
        chosen = pulls[::-1][page * size : (page + 1) * size]  # newest first, as the Hub lists them
        return self._json(200, {"discussions": [item(p) for p in chosen], "count": len(pulls), "start": page * size})

    # -- GET /api/models ---------------------------------------------------------------------------
    def _list(self, query: list[tuple[str, str]]) -> None:
        params: dict[str, list[str]] = {}
        for key, value in query:
            params.setdefault(key.removesuffix("[]"), []).append(value)

        def one(name: str) -> str | None:
            values = params.get(name)
            return values[-1] if values else None

        expand = params.get("expand", [])
        unknown = [e for e in expand if e not in EXPAND_VALUES]
        if unknown:
            return self._error(400, None, f'"expand" must be one of {sorted(EXPAND_VALUES)}; got {unknown[0]!r}')
        if expand and (_truthy(one("full")) or _truthy(one("config")) or _truthy(one("cardData"))):
            return self._error(400, None, "expand cannot be combined with full, config or cardData")

        with self.fake._lock:
            records = list(self.fake._models.values())
        author = one("author")
        if author:
            records = [r for r in records if (r.get("author") or "").lower() == author.lower()]
        search = one("search")
        if search:
            records = [r for r in records if search.lower() in r["id"].lower()]
        for tag in params.get("filter", []):
            records = [r for r in records if tag in r.get("tags", []) or tag == r.get("pipeline_tag")]
        pipeline_tag = one("pipeline_tag")
        if pipeline_tag:
            records = [r for r in records if r.get("pipeline_tag") == pipeline_tag]
        sort = one("sort")
        if sort in {"downloads", "likes", "lastModified", "createdAt", "trendingScore"}:
            records.sort(key=lambda r: (r.get(sort) or 0, r["id"]), reverse=True)

        try:
            limit = int(one("limit") or 0)
        except ValueError:
            return self._error(400, None, '"limit" must be an integer')
        page_size = min(limit, self.fake.page_size) if limit > 0 else self.fake.page_size
        cursor = one("cursor")
        offset = 0
        if cursor:
            try:
                offset = int(json.loads(base64.urlsafe_b64decode(cursor.encode()))["$o"])
            except (ValueError, KeyError, TypeError):
                return self._error(400, None, "Invalid cursor")
        page = records[offset : offset + page_size]

        if expand:
            fields: tuple[str, ...] = tuple(expand)
        else:
            fields = LIST_FULL if _truthy(one("full")) else LIST_DEFAULT
            if _truthy(one("config")):
                fields += ("config",)
            if _truthy(one("cardData")):
                fields += ("cardData",)
        items = []
        for record in page:
            item = _public(record, fields)
            if not expand:
                item["modelId"] = record["id"]
            for name in self.fake._missing_fields(record["id"], "list"):
                item.pop(name, None)
            items.append(item)

        headers = {}
        if offset + page_size < len(records):
            token = base64.urlsafe_b64encode(json.dumps({"$o": offset + page_size}).encode()).decode()
            next_query = [(k, v) for k, v in query if k != "cursor"] + [("cursor", token)]
            headers["Link"] = f'<{self.fake.url}/api/models?{urlencode(next_query)}>; rel="next"'
        return self._json(200, items, headers)

    # -- GET /api/models/{repo}[/revision/{rev}] ---------------------------------------------------
    def _info(self, path: str, query: list[tuple[str, str]]) -> None:
        rest = path[len("/api/models/") :]
        revision = None
        if "/revision/" in rest:
            rest, revision = rest.split("/revision/", 1)
            revision = unquote(revision)
        repo_id = unquote(rest)
        record = self.fake._find(repo_id)
        if record is None:
            return self._repo_not_found(repo_id)
        if revision is not None:
            record = self.fake._at_revision(record, revision)
            if record is None:
                return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        expand = [v for k, v in query if k.removesuffix("[]") == "expand"]
        unknown = [e for e in expand if e not in EXPAND_VALUES]
        if unknown:
            return self._error(400, None, f'"expand" must be one of {sorted(EXPAND_VALUES)}; got {unknown[0]!r}')
        item = _public(record, tuple(expand) if expand else INFO_FIELDS)
        if not expand:
            item["modelId"] = record["id"]
        for name in self.fake._missing_fields(record["id"], "info"):
            item.pop(name, None)
        return self._json(200, item)

    # -- GET /api/models/{repo}/refs ------------------------------------------------------------------
    def _list_refs(self, repo_id: str, query: list[tuple[str, str]]) -> None:
        record = self.fake._find(repo_id)
        if record is None:
            return self._repo_not_found(repo_id)
        include_prs = _truthy(dict(query).get("include_prs"))
        return self._json(200, self.fake._refs(record, include_prs=include_prs))

    # -- HEAD/GET /{repo}/resolve/{rev}/{file} -----------------------------------------------------
    def _resolve(self, path: str) -> None:
        repo_part, rest = path.lstrip("/").split("/resolve/", 1)
        repo_id = unquote(repo_part)
        revision, _, filename = rest.partition("/")
        revision, filename = unquote(revision), unquote(filename)
        record = self.fake._find(repo_id)
        if record is None:
            return self._repo_not_found(repo_id)
        record = self.fake._at_revision(record, revision)
        if record is None:
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        if record.get("gated"):
            if self.headers.get("authorization"):
                message = (
                    f"Access to model {repo_id} is restricted and you are not in the authorized list. "
                    f"Visit https://huggingface.co/{repo_id} to ask for access."
                )
                return self._error(403, "GatedRepo", message)
            message = (
                f"Access to model {repo_id} is restricted. You must have access to it and be authenticated "
                "to access it. Please log in."
            )
            return self._error(401, "GatedRepo", message)
        content = _file_content(record, filename)
        if content is None:
            return self._error(404, "EntryNotFound", f"{filename} does not exist on {quote(revision)}")
        etag = _git_blob_sha(content)
        return self._send(
            200,
            content,
            {
                "Content-Type": "application/octet-stream",
                "ETag": f'"{etag}"',
                "X-Repo-Commit": record["sha"],
                "Accept-Ranges": "bytes",
            },
        )

    # -- GET /api/models/{repo}/tree/{rev}[/{path}] -----------------------------------------------
    def _tree(self, path: str) -> None:
        # The revision is one URL-encoded segment (`refs%2Fpr%2F1`): split before decoding.
        repo_part, _, rest = path[len("/api/models/") :].partition("/tree/")
        revision_part, _, prefix = rest.partition("/")
        repo_id, revision, prefix = unquote(repo_part), unquote(revision_part), unquote(prefix)
        record = self.fake._find(repo_id)
        if record is None:
            return self._repo_not_found(repo_id)
        record = self.fake._at_revision(record, revision)
        if record is None:
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        sizes = record.get("_file_sizes", {})
        entries = []
        for sibling in record.get("siblings", []):
            name = sibling["rfilename"]
            if prefix and not name.startswith(prefix.rstrip("/") + "/"):
                continue
            content = _file_content(record, name) or b""
            size = sizes.get(name, len(content))
            entries.append({"type": "file", "oid": _git_blob_sha(content), "size": size, "path": name})
        return self._json(200, entries)

    # -- GET /api/datasets/{repo}/tree/{rev}[/{path}] (recursive listing, as list_repo_tree asks) -----------
    def _dataset_tree(self, path: str) -> None:
        repo_part, _, rest = path[len("/api/datasets/") :].partition("/tree/")
        revision_part, _, prefix = rest.partition("/")
        repo_id, revision, prefix = unquote(repo_part), unquote(revision_part), unquote(prefix)
        with self.fake._lock:
            dataset = self.fake._datasets.get(repo_id)
        if dataset is None:
            return self._repo_not_found(repo_id)
        if revision not in {"main", dataset["sha"]}:
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        entries = []
        for name, content in sorted(dataset["files"].items()):
            if prefix and not name.startswith(prefix.rstrip("/") + "/"):
                continue
            entries.append({"type": "file", "oid": _git_blob_sha(content), "size": len(content), "path": name})
        return self._json(200, entries)

    # -- HEAD/GET /datasets/{repo}/resolve/{rev}/{path} ----------------------------------------------
    def _resolve_dataset(self, path: str) -> None:
        repo_part, rest = path[len("/datasets/") :].split("/resolve/", 1)
        repo_id = unquote(repo_part)
        revision, _, filename = rest.partition("/")
        revision, filename = unquote(revision), unquote(filename)
        with self.fake._lock:
            dataset = self.fake._datasets.get(repo_id)
        if dataset is None:
            return self._repo_not_found(repo_id)
        if revision not in {"main", dataset["sha"]}:
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        content = dataset["files"].get(filename)
        if content is None:
            return self._error(404, "EntryNotFound", f"{filename} does not exist on {quote(revision)}")
        return self._send(
            200,
            content,
            {
                "Content-Type": "application/octet-stream",
                "ETag": f'"{_git_blob_sha(content)}"',
                "X-Repo-Commit": dataset["sha"],
                "Accept-Ranges": "bytes",
            },
        )


def _model_of(path: str) -> str:
    """The repo id in an `/api/models/{repo}/...` path."""
    model = unquote(path[len("/api/models/") :])
    for part in ("/revision/", "/tree/", "/discussions", "/preupload/", "/commit/"):
        model = model.split(part, 1)[0]
    return model.removesuffix("/refs")


def _git_blob_sha(content: bytes) -> str:
    """The git blob id of a file: what the Hub sends as the ETag of a regular (non-LFS) file."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()  # git's own id


def _file_content(record: dict[str, Any], filename: str) -> bytes | None:
    if filename in record.get("_files", {}):
        return record["_files"][filename]
    if filename == "config.json" and record.get("_config_file"):
        return json.dumps(record["_config_file"], indent=2).encode()
    if filename == "README.md":
        front = json.dumps(record.get("cardData") or {})  # JSON is valid YAML
        return f"---\n{front}\n---\n{record.get('_readme', '')}".encode()
    return None
