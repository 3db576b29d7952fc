"""Benchmark data: JSON Lines under LADDER_DATA_DIR, or the pinned Hugging Face dataset files.

Offline layout (as in ../shared/benchmarks): `<LADDER_DATA_DIR>/<spec.data_dir>/<split>.jsonl`, one item per
line with the field names of the HF dataset lm-eval reads, plus a string `id`. Without LADDER_DATA_DIR the
split's files are downloaded from the Hub at the spec's pinned revision (cached by huggingface_hub).
Any missing or malformed file is a `DataError` naming the file (and line), raised before scoring starts.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from evals.benchmarks.base import BenchmarkSpec


class DataError(Exception):
    """Benchmark data is missing or malformed; the message names the file (and line) and what is wrong."""


_CACHE: dict[tuple[str, str, str, float], list[dict[str, Any]]] = {}
_LOCK = threading.Lock()


def data_dir_from_env() -> str | None:
    """LADDER_DATA_DIR, or None when unset/empty (then data comes from the Hub)."""
    value = os.environ.get("LADDER_DATA_DIR", "").strip()
    return value or None


def split_file(spec: BenchmarkSpec, split: str, data_dir: str) -> Path:
    """The offline file of a split (the evaluation split may have its own file name, e.g. HellaSwag's)."""
    stem = spec.eval_file if split == spec.eval_split else split
    return Path(data_dir) / spec.data_dir / f"{stem}.jsonl"


def load_split(spec: BenchmarkSpec, split: str, *, data_dir: str | None = None) -> list[dict[str, Any]]:
    """All records of one split, in file order, each validated against the benchmark's prompt logic.

    Raises DataError when the file is missing, a line is not a JSON object, or a record lacks what the
    benchmark's prompt needs (the message names the file and line).
    """
    data_dir = data_dir or data_dir_from_env()
    if data_dir:
        return _load_local(spec, split, data_dir)
    return _load_hub(spec, split)


def _load_local(spec: BenchmarkSpec, split: str, data_dir: str) -> list[dict[str, Any]]:
    path = split_file(spec, split, data_dir)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise DataError(
            f"{spec.name}: the {split!r} split is missing: {path} does not exist "
            f"(LADDER_DATA_DIR={data_dir}; expected layout <dir>/{spec.data_dir}/<split>.jsonl)"
        ) from None
    key = (str(path), spec.key, split, stat.st_mtime)
    with _LOCK:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached
    records: list[dict[str, Any]] = []
    try:
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
                if not isinstance(record, dict):
                    raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(record).__name__}")
                if "id" not in record:
                    record["id"] = f"{split}/{len(records)}"
                _validate(spec, record, f"{path}:{lineno}")
                records.append(record)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 ({exc})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc})") from None
    if not records:
        raise DataError(f"{path}: the file holds no items")
    with _LOCK:
        _CACHE[key] = records
    return records


def _validate(spec: BenchmarkSpec, record: dict[str, Any], where: str) -> None:
    """Build the prompt once so a broken record fails here, naming its line, not deep inside scoring."""
    try:
        text = spec.doc_to_text(record)
        choices = spec.doc_to_choice(record)
        target = spec.doc_to_target(record)
        if spec.output_type == "multiple_choice":
            if len(choices) < 2:
                raise ValueError("fewer than two choices")
            if isinstance(target, int) and not 0 <= target < len(choices):
                raise ValueError(f"answer index {target} out of range for {len(choices)} choices")
            if isinstance(text, int) and not 0 <= text < len(choices):
                raise ValueError(f"answer index {text} out of range")
        if spec.subjects and spec.subject_of(record) not in spec.subjects:
            raise ValueError(f"unknown subject {record.get('subject')!r}")
    except (KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
        detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise DataError(f"{where}: malformed {spec.name} item ({detail})") from None


def _load_hub(spec: BenchmarkSpec, split: str) -> list[dict[str, Any]]:
    files = spec.hub.files.get(split)
    if not files:
        raise DataError(f"{spec.name}: no Hub files are known for split {split!r} of {spec.hub.dataset}")
    key = (f"hub:{spec.hub.dataset}@{spec.hub.revision}", spec.key, split, 0.0)
    with _LOCK:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached
    try:
        from registry.hub import hub_dataset_file
    except ImportError as exc:  # pragma: no cover - the registry app is always present in this project
        raise DataError(f"cannot download {spec.hub.dataset}: {exc}") from None

    records: list[dict[str, Any]] = []
    per_subject: Counter[str] = Counter()
    for filename in files:
        where = f"{spec.hub.dataset}@{spec.hub.revision}:{filename}"
        try:
            local = hub_dataset_file(spec.hub.dataset, filename, spec.hub.revision)
        except Exception as exc:  # HubError subclasses and network errors: all are "data unavailable"
            raise DataError(
                f"{where}: could not be downloaded ({exc}); set LADDER_DATA_DIR to use local files"
            ) from None
        # Per-subject repos (C-Eval, CMMLU) have the subject as the first path component.
        file_subject = filename.split("/")[0] if spec.subjects and filename.split("/")[0] in spec.subjects else ""
        for index, record in enumerate(_read_rows(local, where)):
            if file_subject and "subject" not in record:
                record["subject"] = file_subject
            subject = str(record.get("subject", ""))
            if not isinstance(record.get("id"), str):
                if "id" in record:
                    record["hf_id"] = record.pop("id")
                n = per_subject[subject]
                record["id"] = f"{subject}/{split}/{n}" if subject else f"{split}/{index}"
            per_subject[subject] += 1
            _validate(spec, record, f"{where} row {index}")
            records.append(record)
    if not records:
        raise DataError(f"{spec.hub.dataset}: split {split!r} holds no items")
    with _LOCK:
        _CACHE[key] = records
    return records


def _read_rows(path: str, where: str) -> list[dict[str, Any]]:
    if path.endswith(".parquet"):
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise DataError(f"{where}: reading Parquet needs pyarrow (pip install pyarrow)") from None
        try:
            return list(pq.read_table(path).to_pylist())
        except Exception as exc:
            raise DataError(f"{where}: not a readable Parquet file ({exc})") from None
    rows: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise DataError(f"{where}:{lineno}: not valid JSON ({exc.msg})") from None
    return rows


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()
