"""The Hugging Face Hub, behind one door: the only module that imports huggingface_hub.

Returns our own frozen dataclasses (`HubModel`) and two error kinds:
`HubPermanentError` (`.kind`: not_found, gated, disabled, revision_not_found, bad_request) and
`HubTemporaryError` (429, 5xx, timeouts, connection errors, malformed JSON), the latter raised only
after bounded retries with exponential backoff (settings.HUB_MAX_RETRIES, HUB_BACKOFF_BASE), honouring
the Hub's `RateLimit: ...;t=N` and `Retry-After` on a 429.

Why not the client's own conveniences:
- `HF_ENDPOINT` is read by huggingface_hub at import time, so every call passes settings.HF_ENDPOINT.
- The client has no default timeout: every request carries settings.HUB_TIMEOUT, and the shared
  client (`get_session()`) gets the same default before each call.
- `model_info` is never retried by the client; `list_models` retries each page itself with sleeps of
  up to 8 s (56 s after a `t=55` 429) that we cannot bound. So we page `GET /api/models` ourselves with
  the client's session, headers, error mapping (`hf_raise_for_status`) and `ModelInfo` parsing, and
  retry a failed page from its own cursor URL.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx2
from django.conf import settings
from huggingface_hub import HfApi, ModelInfo
from huggingface_hub import errors as hf_errors
from huggingface_hub.hf_api import ExpandModelProperty_T
from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status, parse_ratelimit_headers

logger = logging.getLogger(__name__)

# Everything the registry reads, asked for explicitly so a listing needs no model_info per model.
EXPAND: tuple[ExpandModelProperty_T, ...] = (
    "author",
    "cardData",
    "config",
    "createdAt",
    "disabled",
    "downloads",
    "gated",
    "lastModified",
    "library_name",
    "likes",
    "pipeline_tag",
    "private",
    "safetensors",
    "sha",
    "siblings",
    "tags",
)
# A list item without these is incomplete (the Hub omitted them): the sync asks model_info for it.
LIST_REQUIRED_FIELDS = frozenset({"sha", "tags"})
T = TypeVar("T")


class HubError(Exception):
    """Anything that went wrong talking to the Hub."""

    kind = "error"

    def __init__(self, message: str, *, kind: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        if kind:
            self.kind = kind
        self.status = status


class HubPermanentError(HubError):
    """Retrying will not help: not_found, gated, disabled, revision_not_found, bad_request."""

    kind = "not_found"


class HubTemporaryError(HubError):
    """The Hub may answer later: rate_limited, server_error, timeout, connection, malformed."""

    kind = "temporary"

    def __init__(
        self, message: str, *, kind: str = "temporary", status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, kind=kind, status=status)
        self.retry_after: float | None = retry_after


@dataclass(frozen=True)
class HubModel:
    """One model as the Hub describes it (only what the registry reads)."""

    repo_id: str
    author: str = ""
    sha: str = ""
    private: bool = False
    disabled: bool = False
    gated: str = ""  # "" | "auto" | "manual"
    downloads: int | None = None
    likes: int | None = None
    created_at: datetime | None = None
    last_modified: datetime | None = None
    pipeline_tag: str = ""
    library_name: str = ""
    tags: tuple[str, ...] = ()
    card_data: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    safetensors_total: int | None = None
    safetensors_parameters: dict[str, int] = field(default_factory=dict)
    siblings: tuple[str, ...] = ()
    # Keys the Hub actually sent (list items only; empty when built from model_info).
    fields: frozenset[str] = frozenset()

    @property
    def complete(self) -> bool:
        """False for a list item the Hub sent without a field the sync needs (then ask model_info)."""
        return not self.fields or LIST_REQUIRED_FIELDS <= self.fields


# -- client set-up ---------------------------------------------------------------------------------
def _ensure_client() -> None:
    """Give the shared client settings.HUB_TIMEOUT as its default timeout (huggingface_hub makes it with none).

    Checked before every request rather than once: huggingface_hub makes the shared client again after a
    fork or `close_session()`, and the new one has no timeout either.
    """
    session = get_session()
    timeout = httpx2.Timeout(settings.HUB_TIMEOUT)
    if session.timeout != timeout:
        session.timeout = timeout


def _endpoint() -> str:
    return settings.HF_ENDPOINT.rstrip("/")


def _api() -> HfApi:
    _ensure_client()
    return HfApi(endpoint=_endpoint())


# -- a person waiting: short timeout, fewer retries -------------------------------------------------
# (timeout seconds, max retries, first backoff) while a submission is checked; None: the sync's settings.
_interactive: contextvars.ContextVar[tuple[float, int, float] | None] = contextvars.ContextVar(
    "hub_interactive", default=None
)


@contextlib.contextmanager
def hub_interactive() -> Iterator[None]:
    """Within this block, requests use settings.HUB_SUBMIT_TIMEOUT and HUB_SUBMIT_MAX_RETRIES (short backoff).

    For the submit path: a person waits on the answer, so an unreachable Hub must be reported within
    seconds, not after the background sync's 15 s timeout and four backed-off retries.
    """
    token = _interactive.set((settings.HUB_SUBMIT_TIMEOUT, settings.HUB_SUBMIT_MAX_RETRIES, 0.25))
    try:
        yield
    finally:
        _interactive.reset(token)


def _timeout() -> float:
    mode = _interactive.get()
    return mode[0] if mode else settings.HUB_TIMEOUT


def _max_retries() -> int:
    mode = _interactive.get()
    return mode[1] if mode else settings.HUB_MAX_RETRIES


# -- errors and retries ----------------------------------------------------------------------------
def _classify(exc: BaseException) -> HubError:
    """Map a client/transport exception to our two kinds."""
    if isinstance(exc, HubError):
        return exc
    if isinstance(exc, hf_errors.RevisionNotFoundError):
        return HubPermanentError(str(exc), kind="revision_not_found", status=404)
    if isinstance(exc, hf_errors.GatedRepoError):
        return HubPermanentError(str(exc), kind="gated", status=_status(exc))
    if isinstance(exc, hf_errors.DisabledRepoError):
        return HubPermanentError(str(exc), kind="disabled", status=_status(exc))
    if isinstance(exc, hf_errors.RepositoryNotFoundError | hf_errors.RemoteEntryNotFoundError):
        return HubPermanentError(str(exc), kind="not_found", status=_status(exc))
    if isinstance(exc, hf_errors.HfHubHTTPError):
        status = _status(exc)
        if status == 429:
            return HubTemporaryError(str(exc), kind="rate_limited", status=429, retry_after=_retry_after(exc))
        if status is None or status >= 500 or status == 408:
            return HubTemporaryError(str(exc), kind="server_error", status=status)
        if status == 404:
            return HubPermanentError(str(exc), kind="not_found", status=404)
        if status in (401, 403) and "disabled" in str(exc).lower():
            return HubPermanentError(str(exc), kind="disabled", status=status)
        return HubPermanentError(str(exc), kind="bad_request", status=status)
    if isinstance(exc, hf_errors.LocalEntryNotFoundError):
        # hf_hub_download could neither reach the Hub nor find a cached copy: judge by the cause.
        cause = exc.__cause__
        if cause is not None and not isinstance(cause, hf_errors.LocalEntryNotFoundError):
            try:
                return _classify(cause)
            except BaseException:  # an unclassifiable cause: the Hub was unreachable
                pass
        return HubTemporaryError(f"the Hub could not be reached: {exc}", kind="connection")
    if isinstance(exc, httpx2.TimeoutException):
        return HubTemporaryError(f"timed out after {_timeout()}s: {exc}", kind="timeout")
    if isinstance(exc, httpx2.TransportError | hf_errors.OfflineModeIsEnabled | ConnectionError):
        return HubTemporaryError(f"connection failed: {exc}", kind="connection")
    if isinstance(exc, ValueError | KeyError | TypeError | AttributeError):
        # json.JSONDecodeError is a ValueError; ModelInfo raises KeyError/TypeError on missing or odd fields.
        return HubTemporaryError(f"malformed answer from the Hub: {exc!r}", kind="malformed")
    raise exc


def _status(exc: hf_errors.HfHubHTTPError) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _retry_after(exc: hf_errors.HfHubHTTPError) -> float | None:
    response = getattr(exc, "response", None)
    if response is None:
        return None
    info = parse_ratelimit_headers(response.headers)
    if info is not None and info.remaining == 0:
        return float(info.reset_in_seconds)
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # the HTTP-date form: fall back to our backoff


def _backoff(attempt: int, retry_after: float | None) -> float:
    mode = _interactive.get()
    delay = min((mode[2] if mode else settings.HUB_BACKOFF_BASE) * (2**attempt), 60.0)
    if retry_after is not None:
        delay = max(delay, min(retry_after, 300.0))
    if mode:
        delay = min(delay, 2.0)  # a person waits: never sleep out a long Retry-After
    return delay


def _with_retries(call: Callable[[], T], what: str) -> T:
    """Run `call`, retrying temporary errors up to settings.HUB_MAX_RETRIES times with backoff."""
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:  # classified below; unknown errors re-raise
            error = _classify(exc)
            if isinstance(error, HubPermanentError) or attempt >= _max_retries():
                if error is exc:
                    raise
                raise error from exc
            delay = _backoff(attempt, getattr(error, "retry_after", None))
            logger.warning("Hub %s: %s (%s); retry %d in %.2fs", what, error.kind, error, attempt + 1, delay)
            time.sleep(delay)
            attempt += 1


# -- conversions -----------------------------------------------------------------------------------
def _to_hub_model(info: ModelInfo, fields: frozenset[str] = frozenset()) -> HubModel:
    card = info.card_data.to_dict() if info.card_data is not None else {}
    safetensors = info.safetensors
    gated = info.gated if isinstance(info.gated, str) else ""
    return HubModel(
        repo_id=info.id,
        author=info.author or (info.id.split("/", 1)[0] if "/" in info.id else ""),
        sha=info.sha or "",
        private=bool(info.private),
        disabled=bool(info.disabled),
        gated=gated,
        downloads=info.downloads,
        likes=info.likes,
        created_at=info.created_at,
        last_modified=info.last_modified,
        pipeline_tag=info.pipeline_tag or "",
        library_name=info.library_name or "",
        tags=tuple(info.tags or ()),
        card_data=card,
        config=dict(info.config or {}),
        safetensors_total=int(safetensors.total) if safetensors is not None else None,
        safetensors_parameters=dict(safetensors.parameters or {}) if safetensors is not None else {},
        siblings=tuple(s.rfilename for s in (info.siblings or ())),
        fields=fields,
    )


def _parse_item(item: Any) -> HubModel:
    if not isinstance(item, dict):
        raise HubTemporaryError(f"malformed list item: {item!r:.100}", kind="malformed")
    try:
        return _to_hub_model(ModelInfo(**item), frozenset(item))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise HubTemporaryError(f"malformed model {item.get('id')!r}: {exc!r}", kind="malformed") from exc


# -- public API ------------------------------------------------------------------------------------
def hub_model_info(repo_id: str, *, revision: str | None = None) -> HubModel:
    """The model's metadata (safetensors, card data, config, tags ...), at `revision` if given.

    Raises HubPermanentError (not_found, gated, disabled, revision_not_found, bad_request) at once and
    HubTemporaryError after settings.HUB_MAX_RETRIES retries.
    """

    def call() -> HubModel:
        info = _api().model_info(repo_id, revision=revision, timeout=_timeout(), expand=list(EXPAND))
        return _to_hub_model(info)

    return _with_retries(call, f"model_info {repo_id}")


@dataclass
class HubListing:
    """Pages of a listing, plus whether it ended by itself (every matching model seen)."""

    pages: Iterator[list[HubModel | HubError]]
    state: dict[str, Any]

    @property
    def exhausted(self) -> bool:
        return bool(self.state.get("exhausted"))


def hub_list_pages(
    *, author: str | None = None, search: str | None = None, limit: int | None = None, pipeline_tag: str | None = None
) -> HubListing:
    """Page through `GET /api/models` with every field the registry needs (`expand`).

    Yields one list per page; an item the client cannot parse is yielded as a HubTemporaryError
    (kind malformed) naming the model, so one bad item never hides the rest. A page that keeps failing
    raises HubTemporaryError/HubPermanentError after bounded retries (from that page's own cursor).
    `listing.exhausted` is true once the Hub said there is no next page (not when `limit` cut it).
    """
    state: dict[str, Any] = {"exhausted": False}
    params: list[tuple[str, Any]] = []
    if author:
        params.append(("author", author))
    if search:
        params.append(("search", search))
    if pipeline_tag:
        params.append(("pipeline_tag", pipeline_tag))
    if limit:
        params.append(("limit", min(limit, 1000)))
    params.extend(("expand", value) for value in EXPAND)

    def get(url: str, query: list[tuple[str, Any]] | None) -> tuple[list[Any], str | None]:
        _ensure_client()
        response = get_session().get(url, params=query, headers=build_hf_headers(), timeout=settings.HUB_TIMEOUT)
        hf_raise_for_status(response)
        body = response.json()
        if not isinstance(body, list):
            raise HubTemporaryError(f"malformed listing: expected a JSON array, got {type(body).__name__}")
        return body, response.links.get("next", {}).get("url")

    def pages() -> Iterator[list[HubModel | HubError]]:
        url: str | None = f"{_endpoint()}/api/models"
        query: list[tuple[str, Any]] | None = params
        remaining = limit
        while url is not None:
            items, url = _with_retries(functools.partial(get, url, query), f"list {url}")
            query = None  # the next link carries every parameter plus the cursor
            if remaining is not None:
                items = items[:remaining]
                remaining -= len(items)
            page: list[HubModel | HubError] = []
            for item in items:
                try:
                    page.append(_parse_item(item))
                except HubError as exc:
                    page.append(exc)
            yield page
            if remaining is not None and remaining <= 0:
                return  # asked for no more: do not request the next page
        state["exhausted"] = True

    return HubListing(pages(), state)


def hub_list_models(
    *,
    author: str | None = None,
    search: str | None = None,
    limit: int | None = None,
    model_ids: list[str] | tuple[str, ...] | None = None,
    pipeline_tag: str | None = None,
) -> Iterator[HubModel]:
    """Models by author/search (or exactly `model_ids`, via model_info), at most `limit`.

    Items the client cannot parse are skipped with a warning; use hub_list_pages to see them.
    Raises like hub_model_info.
    """
    if model_ids:
        for repo_id in model_ids[:limit] if limit else model_ids:
            yield hub_model_info(repo_id)
        return
    listing = hub_list_pages(author=author, search=search, limit=limit, pipeline_tag=pipeline_tag)
    for page in listing.pages:
        for item in page:
            if isinstance(item, HubModel):
                yield item
            else:
                logger.warning("Hub listing: skipped an item: %s", item)


def hub_model_config(repo_id: str, *, revision: str | None = None) -> dict[str, Any]:
    """The repo's full config.json (the API's `config` only carries architectures/model_type).

    Returns {} when the repo has no config.json. Raises HubPermanentError (gated repos refuse
    downloads to anonymous clients) or HubTemporaryError after bounded retries.
    """
    url = f"{_endpoint()}/{repo_id}/resolve/{quote(revision or 'main', safe='')}/config.json"

    def call() -> dict[str, Any]:
        _ensure_client()
        response = get_session().get(url, headers=build_hf_headers(), timeout=_timeout())
        hf_raise_for_status(response)
        data = json.loads(response.content)
        if not isinstance(data, dict):
            raise HubTemporaryError(f"malformed config.json for {repo_id}", kind="malformed")
        return data

    try:
        return _with_retries(call, f"config.json {repo_id}")
    except HubPermanentError as exc:
        if isinstance(exc.__cause__, hf_errors.RemoteEntryNotFoundError):
            return {}  # no config.json in the repo (GGUF-only, adapters ...)
        raise


def hub_model_file(repo_id: str, filename: str, *, revision: str, max_bytes: int = 1024 * 1024) -> bytes:
    """The bytes of one small file of a model repo at `revision` (a commit sha, so it cannot move).

    For text files the registry reads (`.eval_results/*.yaml`); nothing goes to the download cache.
    Raises HubPermanentError (not_found, gated, revision_not_found; bad_request when the file is over
    `max_bytes`) at once and HubTemporaryError after bounded retries.
    """
    url = f"{_endpoint()}/{repo_id}/resolve/{quote(revision, safe='')}/{quote(filename)}"

    def call() -> bytes:
        _ensure_client()
        response = get_session().get(url, headers=build_hf_headers(), timeout=settings.HUB_TIMEOUT)
        hf_raise_for_status(response)
        if len(response.content) > max_bytes:
            raise HubPermanentError(
                f"{repo_id}/{filename} is {len(response.content)} bytes, over {max_bytes}", kind="bad_request"
            )
        return response.content

    return _with_retries(call, f"file {repo_id}/{filename}@{revision}")


@dataclass(frozen=True)
class HubFile:
    """One file of a model repo at a revision, with its size in bytes as the Hub lists it."""

    path: str
    size: int
    oid: str = ""  # the git blob id (tells a file a pull request changed from the same file on main)


def hub_model_files(repo_id: str, *, revision: str) -> tuple[HubFile, ...]:
    """Every file of the model repo at `revision` (recursive tree listing), with sizes; no download.

    What a submission's size policy and a worker's pre-download check read. Raises HubPermanentError
    (not_found, gated, revision_not_found) at once and HubTemporaryError after bounded retries.
    """
    from huggingface_hub.hf_api import RepoFile

    def call() -> tuple[HubFile, ...]:
        entries = _api().list_repo_tree(repo_id, revision=revision, recursive=True)
        return tuple(
            HubFile(path=e.path, size=int(e.size or 0), oid=e.blob_id or "") for e in entries if isinstance(e, RepoFile)
        )

    return _with_retries(call, f"files {repo_id}@{revision}")


@dataclass(frozen=True)
class HubRefs:
    """A model repo's branches and tags (name -> commit sha); pull requests are not listed."""

    branches: dict[str, str]
    tags: dict[str, str]

    def sha_of(self, name: str) -> str | None:
        """The commit a branch or tag name points at (`refs/heads/x` and `refs/tags/x` too), else None."""
        for prefix, refs in (("refs/heads/", self.branches), ("refs/tags/", self.tags)):
            if name.startswith(prefix):
                return refs.get(name[len(prefix) :])
        return self.branches.get(name) or self.tags.get(name)


def hub_model_refs(repo_id: str) -> HubRefs:
    """The branches and tags of a model repo (`GET /api/models/{repo}/refs`), without pull requests.

    Raises HubPermanentError (not_found, gated) at once and HubTemporaryError after bounded retries.
    """

    def call() -> HubRefs:
        refs = _api().list_repo_refs(repo_id)
        return HubRefs(
            branches={r.name: r.target_commit for r in refs.branches},
            tags={r.name: r.target_commit for r in refs.tags},
        )

    return _with_retries(call, f"refs {repo_id}")


# -- benchmark data (evals/data.py) ---------------------------------------------------------------
def hub_dataset_file(repo_id: str, filename: str, revision: str) -> str:
    """Local path of one file of a Hub *dataset* repo at `revision`, downloaded once then served from the cache.

    Used by evals/data.py for benchmark splits when LADDER_DATA_DIR is unset. Raises HubPermanentError
    (not found, gated, unknown revision) or HubTemporaryError after bounded retries.
    """
    from huggingface_hub import hf_hub_download

    _ensure_client()
    return _with_retries(
        lambda: hf_hub_download(repo_id, filename, repo_type="dataset", revision=revision, endpoint=_endpoint()),
        f"dataset file {repo_id}/{filename}@{revision}",
    )


# -- model weights (evals/backends/transformers.py) -----------------------------------------------
def hub_model_snapshot(repo_id: str, *, revision: str, allow_patterns: list[str]) -> str:
    """Local directory of the model repo at `revision` holding only the files matching `allow_patterns`.

    Files go to the Hugging Face cache (HF_HOME / HF_HUB_CACHE) once; a later call for the same commit
    is served from there. Pass a commit sha (the caller checked sizes at that commit). Raises
    HubPermanentError (not_found, gated, revision_not_found) at once and HubTemporaryError after bounded
    retries (an interrupted download resumes on the next try).
    """
    from huggingface_hub import snapshot_download

    _ensure_client()
    return _with_retries(
        lambda: snapshot_download(
            repo_id, revision=revision, allow_patterns=list(allow_patterns), endpoint=_endpoint()
        ),
        f"snapshot {repo_id}@{revision}",
    )


# -- results archives (evals/exchange: import_results --hub-dataset) --------------------------------
@dataclass(frozen=True)
class HubDatasetFile:
    """One file of a dataset repo: its path, size and the Hub's id of its content (LFS sha256, else git blob id)."""

    path: str
    size: int
    file_sha: str


def hub_dataset_files(repo_id: str, *, revision: str) -> tuple[HubDatasetFile, ...]:
    """Every file of the dataset repo at `revision` (recursive tree listing, paged by the client); no download.

    The content id lets an import skip files it already holds. Raises HubPermanentError (not_found,
    gated, revision_not_found) at once and HubTemporaryError after bounded retries.
    """
    from huggingface_hub.hf_api import RepoFile

    def call() -> tuple[HubDatasetFile, ...]:
        entries = _api().list_repo_tree(repo_id, revision=revision, recursive=True, repo_type="dataset")
        return tuple(
            HubDatasetFile(
                path=e.path,
                size=int(e.size or 0),
                file_sha=(e.lfs.sha256 if e.lfs is not None else e.blob_id) or "",
            )
            for e in entries
            if isinstance(e, RepoFile)
        )

    return _with_retries(call, f"dataset files {repo_id}@{revision}")


def hub_dataset_file_bytes(repo_id: str, filename: str, *, revision: str, max_bytes: int) -> bytes:
    """The bytes of one file of a dataset repo at `revision`, read into memory (no cache: results files are
    small and read once). Raises HubPermanentError (not_found ...; bad_request when over `max_bytes`, which
    the Content-Length shows before the body is read) or HubTemporaryError after bounded retries.
    """
    url = f"{_endpoint()}/datasets/{repo_id}/resolve/{quote(revision, safe='')}/{quote(filename)}"

    def call() -> bytes:
        _ensure_client()
        with get_session().stream("GET", url, headers=build_hf_headers(), timeout=_timeout()) as response:
            if response.status_code >= 400:
                response.read()  # the error mapping reads the body
            hf_raise_for_status(response)
            declared = int(response.headers.get("Content-Length") or 0)
            if declared > max_bytes:
                raise HubPermanentError(f"{filename} is {declared} bytes, over {max_bytes}", kind="bad_request")
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise HubPermanentError(f"{filename} is over {max_bytes} bytes", kind="bad_request")
                chunks.append(chunk)
        return b"".join(chunks)

    return _with_retries(call, f"dataset file {repo_id}/{filename}@{revision}")


# -- pull requests (publishing runs, reading community scores) ------------------------------------
@dataclass(frozen=True)
class HubPullRequest:
    """An open pull request of a model repo: its number, title, author and head commit (`sha`, "" if unknown)."""

    num: int
    title: str
    author: str
    sha: str
    created_at: datetime | None = None

    @property
    def ref(self) -> str:
        return f"refs/pr/{self.num}"


@dataclass(frozen=True)
class HubCommit:
    """A commit the Hub accepted: its sha and, for a pull request, the PR's number and URL."""

    sha: str
    commit_url: str
    pr_num: int | None = None
    pr_url: str = ""


def hub_model_pull_requests(repo_id: str) -> tuple[HubPullRequest, ...]:
    """The model repo's OPEN pull requests (closed, merged and draft ones are left out) with their head
    commits, from the discussions listing (paged by the client) and the refs with `include_pull_requests`.

    Two requests for a repo with fewer than one page of discussions. Raises HubPermanentError (not_found,
    gated) at once and HubTemporaryError after bounded retries.
    """

    def call() -> tuple[HubPullRequest, ...]:
        api = _api()
        opened = [
            d
            for d in api.get_repo_discussions(repo_id, discussion_type="pull_request", discussion_status="open")
            if d.is_pull_request and d.status == "open"
        ]
        if not opened:
            return ()
        refs = api.list_repo_refs(repo_id, include_pull_requests=True).pull_requests or []
        heads = {r.ref: r.target_commit for r in refs}
        return tuple(
            HubPullRequest(
                num=d.num,
                title=d.title,
                author=d.author,
                sha=heads.get(f"refs/pr/{d.num}", ""),
                created_at=d.created_at,
            )
            for d in sorted(opened, key=lambda d: d.num)
        )

    return _with_retries(call, f"pull requests {repo_id}")


def hub_pull_request_open(
    repo_id: str, files: dict[str, bytes], *, title: str, description: str, token: str
) -> HubCommit:
    """Open ONE pull request on the model repo adding `files` (path in repo -> bytes), with `token`.

    `HfApi.create_commit(create_pr=True)`: a preupload call, then one NDJSON commit. Never retried: a
    commit whose answer was lost may have opened the PR, and a retry would open a second. The token is
    passed per call (never put in the environment or logged). Raises HubPermanentError (`not_found`,
    `bad_request` with `.status` 401/403 when the token is refused, `unchanged` when the repo already
    holds these exact files so no PR was opened) or HubTemporaryError (5xx, timeout, connection).
    """
    from huggingface_hub import CommitOperationAdd

    operations = [CommitOperationAdd(path_in_repo=path, path_or_fileobj=content) for path, content in files.items()]
    try:
        info = _api().create_commit(
            repo_id,
            operations,
            commit_message=title,
            commit_description=description,
            token=token,
            create_pr=True,
        )
    except Exception as exc:  # classified; unknown errors re-raise
        error = _classify(exc)
        if error is exc:
            raise
        raise error from exc
    if not info.pr_url:
        raise HubPermanentError(f"{repo_id} already holds these exact files: no pull request opened", kind="unchanged")
    return HubCommit(sha=info.oid, commit_url=info.commit_url, pr_num=info.pr_num, pr_url=info.pr_url)
