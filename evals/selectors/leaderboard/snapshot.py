"""A board's columnar copy saved to a file, so a restarted web worker starts from it instead of reading every row.

Reading 100,000 rows of a board from the table takes seconds; the saved copy loads in tens of milliseconds and is
then brought to the table's current generation by the usual patch (columnar._patch, from BoardChange). A copy
saved before the last rebuild, with other build rules, or unreadable is ignored (the table is read instead).

One `.npz` per (suite, board, provenance, method) under settings.LEADERBOARD_SNAPSHOT_DIR (empty: off), written
after each full read of the table and by `rebuild_leaderboard`; written to a temporary file and renamed, so a
reader never sees half a file. Loaded with allow_pickle=False: the file holds arrays and JSON, never code.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import zipfile
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from evals.selectors.leaderboard.columnar import _STRINGS, BoardArrays, Codes
from evals.selectors.leaderboard.maintain import BOARD_VERSION

logger = logging.getLogger(__name__)

FORMAT = 1
_SEPARATOR = "\x00"
_STRING_ARRAYS = ("kind", "status", "repo_id", "repo_lower", "name_lower")
_CODES = ("weights", "license", "commercial", "organization", "modality", "base", "base_ref")
_META = ("suite", "board", "provenance", "method", "benchmarks", "baselines", "expected_n", "n_ranked")
_DERIVED = ("unfiltered_orders", "permutations", "memo")  # rebuilt per process, never saved


def snapshot_path(key: tuple[str, str, str, str]) -> Path | None:
    folder = settings.LEADERBOARD_SNAPSHOT_DIR
    if not folder:
        return None
    return Path(folder) / ("board-" + "-".join(key) + ".npz")


def _pack(strings: list[str]) -> np.ndarray:
    return np.frombuffer(_SEPARATOR.join(strings).encode(), dtype=np.uint8)


def _unpack(packed: np.ndarray, count: int) -> list[str]:
    if count == 0:
        return []
    return bytes(packed).decode().split(_SEPARATOR)


def board_snapshot_save(arrays: BoardArrays) -> Path | None:
    """Write the copy to its file; returns the path, or None when snapshots are off or the copy cannot be
    written (a string holding the separator, a read-only folder: logged, the board works without it)."""
    path = snapshot_path((arrays.suite, arrays.board, arrays.provenance, arrays.method))
    if path is None:
        return None
    columns: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {name: getattr(arrays, name) for name in _META}
    meta.update(format=FORMAT, version=BOARD_VERSION, generation=list(arrays.generation), rows=len(arrays))
    for name in _STRING_ARRAYS:
        strings = getattr(arrays, name).tolist()
        if any(_SEPARATOR in s for s in strings):
            logger.warning("board snapshot not written: a %s holds a NUL character", name)
            return None
        columns[name] = _pack(strings)
    for name in _CODES:
        codes: Codes = getattr(arrays, name)
        words = list(codes.words)
        if any(_SEPARATOR in w for w in words):
            logger.warning("board snapshot not written: a %s holds a NUL character", name)
            return None
        columns[f"{name}.codes"] = codes.codes
        columns[f"{name}.words"] = _pack(words)
        meta[f"{name}.words"] = len(words)
    languages = sorted(arrays.languages)
    meta["languages"] = languages
    columns["languages"] = (
        np.column_stack([arrays.languages[code] for code in languages])
        if languages
        else np.zeros((len(arrays), 0), dtype=bool)
    )
    skip = {*_META, *_STRING_ARRAYS, *_CODES, *_DERIVED, "generation", "languages"}
    for field in fields(arrays):
        if field.name not in skip:
            columns[field.name] = getattr(arrays, field.name)
    columns["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.name, suffix=".tmp", delete=False) as handle:
            np.savez(handle, allow_pickle=False, **columns)
        os.replace(handle.name, path)
    except OSError as exc:
        logger.warning("board snapshot not written to %s: %s", path, exc)
        return None
    return path


def board_snapshot_load(key: tuple[str, str, str, str], rebuilt: float) -> BoardArrays | None:
    """The saved copy of this board if it was saved after the table's last rebuild (`rebuilt`, the
    generation's second part) by these build rules; None otherwise. Its generation may be behind the
    table's: the caller patches it forward."""
    path = snapshot_path(key)
    if path is None or not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode())
            if (
                meta.get("format") != FORMAT
                or meta.get("version") != BOARD_VERSION
                or tuple(meta[name] for name in ("suite", "board", "provenance", "method")) != key
                or meta["generation"][1] != rebuilt
            ):
                return None
            rows = int(meta["rows"])
            values: dict[str, Any] = {name: meta[name] for name in _META}
            values["generation"] = (int(meta["generation"][0]), float(meta["generation"][1]))
            for name in _STRING_ARRAYS:
                values[name] = np.array(_unpack(data[name], rows), dtype=_STRINGS)
            for name in _CODES:
                words = _unpack(data[f"{name}.words"], meta[f"{name}.words"])
                values[name] = Codes({word: i for i, word in enumerate(words)}, data[f"{name}.codes"])
            matrix = data["languages"]
            values["languages"] = {code: matrix[:, i].copy() for i, code in enumerate(meta["languages"])}
            for field in fields(BoardArrays):
                if field.name not in values and field.name not in _DERIVED:
                    values[field.name] = data[field.name]
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        logger.warning("board snapshot %s ignored: %s", path, exc)
        return None
    if any(len(values[name]) != rows for name in ("pk", *_STRING_ARRAYS)):
        logger.warning("board snapshot %s ignored: columns of different lengths", path)
        return None
    return BoardArrays(**values)


def board_snapshots_write() -> int:
    """Read every board with rows from the table and save its copy (after a rebuild, so the first request of
    each restarted worker does not read the table); returns the number saved."""
    from evals.models import BoardEntry
    from evals.selectors.leaderboard.columnar import board_arrays_load, board_table_meta

    if not settings.LEADERBOARD_SNAPSHOT_DIR:
        return 0
    generation, _ready = board_table_meta()
    keys = BoardEntry.objects.order_by().values_list("suite", "board", "provenance", "method").distinct()
    return sum(board_snapshot_save(board_arrays_load(*key, generation=generation)) is not None for key in sorted(keys))
