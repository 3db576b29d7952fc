"""The read side over the maintained board: an in-process columnar (numpy) copy of BoardEntry rows.

Per (suite, board, provenance, method) the rows are loaded once per board generation
(`BoardMeta.generation`, one small query per request) into arrays: scores and interval bounds, the
filter columns as integer codes, per-language masks, lower-cased ids and names for search. A request
is then a mask per filter key (one function per key of registry.selectors.models.model_filter), tie-aware
ranks from the sorted bounds of the filtered rows (evals.stats.rank_arrays), one lexsort for the
ordering and a slice; only the rows of the page are read back from the table and hydrated.

A complete row ranks when it was scored on the board's usual items (per benchmark the most common n
among the complete rows); otherwise it is listed as not comparable.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from django.db import connection
from django.db.models import FloatField, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from evals import stats
from evals.models import BoardChange, BoardEntry, BoardMeta
from evals.selectors.leaderboard.boards import random_baseline
from evals.selectors.leaderboard.build import board_check
from evals.selectors.leaderboard.maintain import BOARD_VERSION
from registry.models import License
from registry.selectors.models import ModelFilters

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
_STRINGS = np.dtypes.StringDType()
_COMMERCIAL = (License.Commercial.YES, License.Commercial.RESTRICTED)


class CoreEntry(NamedTuple):
    """One board row as the read side hydrates it (columnar_entries reads the page's rows back)."""

    model_pk: int
    run_id: int
    repo_id: str
    parameters: int | None
    values: tuple[float | None, ...]  # per board benchmark, raw 0..1
    stderrs: tuple[float | None, ...]
    ns: tuple[int | None, ...]
    metrics: tuple[str, ...]
    average: float | None
    average_se: float | None
    average_normalized: float | None
    average_normalized_se: float | None
    status: str  # "ranked" | "partial" | "incomplete" | "not_comparable"


@dataclass
class Codes:
    """A categorical column: per row an index into `words` (lower-cased)."""

    words: dict[str, int]
    codes: IntArray

    @classmethod
    def of(cls, values: list[str]) -> Codes:
        words: dict[str, int] = {}
        codes = [words.setdefault((v or "").lower(), len(words)) for v in values]
        return cls(words, np.array(codes, dtype=np.int64))

    def take(self, index: IntArray) -> Codes:
        return Codes(self.words, self.codes[index])

    def concat(self, other: Codes) -> Codes:
        """These codes followed by other's, in one vocabulary (a new dict: readers may hold this one)."""
        words = dict(self.words)
        remap = np.array([words.setdefault(word, len(words)) for word in other.words], dtype=np.int64)
        return Codes(words, np.concatenate([self.codes, remap[other.codes] if len(other.codes) else other.codes]))

    def equals(self, value: str) -> BoolArray:
        code = self.words.get(value.lower())
        if code is None:
            return np.zeros(len(self.codes), dtype=bool)
        return np.asarray(self.codes == code)


@dataclass
class BoardArrays:
    """One board's rows as columns. Ranked candidates come first, in the board's base order (best raw
    average first, then id); the not-ranked rows follow, ordered by id."""

    suite: str
    board: str
    provenance: str
    method: str
    generation: tuple[int, float]
    benchmarks: list[str]
    baselines: list[float]
    expected_n: dict[str, int]
    n_ranked: int
    pk: IntArray
    model_pk: IntArray
    run_id: IntArray
    kind: npt.NDArray[Any]
    status: npt.NDArray[Any]  # ranked | partial | incomplete | not_comparable
    average: FloatArray
    average_normalized: FloatArray
    lo: FloatArray
    hi: FloatArray
    lo_normalized: FloatArray
    hi_normalized: FloatArray
    values: FloatArray  # rows x benchmarks, nan where missing
    ns: FloatArray  # rows x benchmarks, nan where missing
    repo_id: npt.NDArray[Any]
    id_order: IntArray  # position of each row's id in the sorted ids (ties by id as Python sorts strings)
    name_rank: IntArray  # dense rank of the lower-cased id (the name ordering, without a string sort per request)
    repo_lower: npt.NDArray[Any]
    name_lower: npt.NDArray[Any]
    parameters: FloatArray  # nan where unknown
    weights: Codes
    license: Codes
    commercial: Codes
    organization: Codes
    modality: Codes
    base: Codes
    base_ref: Codes
    on_hub: BoolArray
    languages: dict[str, BoolArray]
    # The unfiltered board's orders at this generation, per (score, ordering): derived once, like the
    # columns (a copy patched to a new generation starts empty).
    unfiltered_orders: dict[tuple[str, str], ColumnarOrder] = field(default_factory=dict, init=False, repr=False)

    def __len__(self) -> int:
        return len(self.pk)


# The per-row columns, which _take and _concat carry along (the rest is derived by _assemble).
_ROW_ARRAYS = (
    "pk",
    "model_pk",
    "run_id",
    "kind",
    "average",
    "average_normalized",
    "lo",
    "hi",
    "lo_normalized",
    "hi_normalized",
    "values",
    "ns",
    "repo_id",
    "repo_lower",
    "name_lower",
    "parameters",
    "on_hub",
)
_ROW_CODES = ("weights", "license", "commercial", "organization", "modality", "base", "base_ref")


def _take(arrays: BoardArrays, index: IntArray) -> BoardArrays:
    """These rows, in this order (derived fields copied as they are: _assemble recomputes them)."""
    columns: dict[str, Any] = {name: getattr(arrays, name)[index] for name in _ROW_ARRAYS}
    columns.update({name: getattr(arrays, name).take(index) for name in _ROW_CODES})
    return replace(arrays, languages={code: mask[index] for code, mask in arrays.languages.items()}, **columns)


def _concat(first: BoardArrays, second: BoardArrays) -> BoardArrays:
    """first's rows followed by second's (derived fields are first's until _assemble)."""
    n, m = len(first), len(second)
    languages = {
        code: np.concatenate(
            [first.languages.get(code, np.zeros(n, dtype=bool)), second.languages.get(code, np.zeros(m, dtype=bool))]
        )
        for code in first.languages.keys() | second.languages.keys()
    }
    columns: dict[str, Any] = {
        name: np.concatenate([getattr(first, name), getattr(second, name)]) for name in _ROW_ARRAYS
    }
    columns.update({name: getattr(first, name).concat(getattr(second, name)) for name in _ROW_CODES})
    return replace(first, languages=languages, **columns)


_loaded: dict[tuple[str, str, str, str], BoardArrays] = {}
_load_lock = threading.Lock()
_FIELDS = (
    "pk",
    "model_id",
    "run_id",
    "kind",
    "average",
    "average_normalized",
    "lo",
    "hi",
    "lo_normalized",
    "hi_normalized",
    "values",
    "ns",
    "repo_id",
    "name",
    "weights",
    "parameters",
    "languages",
    "license_key",
    "commercial_use",
    "organization_slug",
    "modality",
    "base_repo_id",
    "base_model_ref",
    "on_hub",
)


def board_table_meta() -> tuple[tuple[int, float], bool]:
    """(generation, ready): ready once `rebuild_leaderboard` built the rows with this code's rules. The
    generation is (the counter, the time of the last rebuild), so a rebuilt table never reuses a key."""
    meta = BoardMeta.objects.filter(pk=1).values_list("generation", "version", "rebuilt_at").first()
    if meta is None or meta[2] is None:
        return (0, 0.0), False
    return (int(meta[0]), meta[2].timestamp()), meta[1] == BOARD_VERSION


def board_arrays(*, suite: str, board: str, provenance: str, method: str, generation: tuple[int, float]) -> BoardArrays:
    """The board's columns at this generation: when the generation moved, the copy this process holds is
    patched with the rows of the models changed since (BoardChange), or reloaded when too much changed or
    the board was rebuilt."""
    key = (suite, board, provenance, method)
    current = _loaded.get(key)
    if current is not None and current.generation == generation:
        return current
    with _load_lock:
        current = _loaded.get(key)
        if current is None or current.generation != generation:
            patched = _patch(current, generation) if current is not None else None
            current = (
                patched if patched is not None else board_arrays_load(suite, board, provenance, method, generation)
            )
            _loaded[key] = current
    return current


def _patch(current: BoardArrays, generation: tuple[int, float]) -> BoardArrays | None:
    """current with the rows of the models changed since its generation, or None when it must be reloaded
    (rebuilt since, further behind than the change log reaches, or more than _PATCH_MAX_SHARE changed)."""
    from evals.selectors.leaderboard.maintain import BOARD_CHANGES_KEPT

    held, rebuilt = current.generation
    if rebuilt != generation[1] or generation[0] <= held or generation[0] - held >= BOARD_CHANGES_KEPT:
        return None
    changed = list(
        BoardChange.objects.filter(generation__gt=held, generation__lte=generation[0])
        .order_by()
        .values_list("model_id", flat=True)
        .distinct()
    )
    if len(changed) > max(_PATCH_MIN_ROWS, _PATCH_MAX_SHARE * len(current)):
        return None
    if changed:
        fresh = _fetch(current.suite, current.board, current.provenance, current.method, model_ids=changed)
        kept = _take(current, np.flatnonzero(~np.isin(current.model_pk, np.array(changed, dtype=np.int64))))
        current = _concat(kept, fresh)
    return _assemble(current, generation)


# A patch is worth it while few rows changed; past this share (or this many rows) a reload is as cheap.
_PATCH_MAX_SHARE = 0.05
_PATCH_MIN_ROWS = 1000


def _expected_shape(ns: FloatArray, complete: BoolArray) -> FloatArray:
    """Per benchmark the most common n among complete rows (ties: the larger), nan where none."""
    expected = np.full(ns.shape[1], np.nan)
    for i in range(ns.shape[1]):
        column = ns[complete, i]
        column = column[~np.isnan(column)]
        if len(column):
            values, counts = np.unique(column, return_counts=True)
            expected[i] = values[counts == counts.max()].max()
    return expected


def board_arrays_load(
    suite: str, board: str, provenance: str, method: str, generation: tuple[int, float]
) -> BoardArrays:
    """The board's columns read whole from the table (what a patched copy must equal)."""
    return _assemble(_fetch(suite, board, provenance, method), generation)


def _assemble(rows: BoardArrays, generation: tuple[int, float]) -> BoardArrays:
    """The rows in the board's order (ranked candidates by best raw average then id, then the others by id),
    with what derives from all rows: the usual item counts, each row's status, the id order."""
    complete = np.asarray(rows.kind == str(BoardEntry.Kind.COMPLETE))
    expected = _expected_shape(rows.ns, complete)
    same = ((rows.ns == expected) | (np.isnan(rows.ns) & np.isnan(expected))).all(axis=1)
    ranked_mask = complete & same
    id_rank = _id_order(rows.repo_id)
    average0 = np.nan_to_num(rows.average, nan=0.0)
    ranked = np.flatnonzero(ranked_mask)
    ranked = ranked[np.lexsort((id_rank[ranked], -average0[ranked]))]
    others = np.flatnonzero(~ranked_mask)
    others = others[np.argsort(id_rank[others], kind="stable")]
    perm = np.concatenate([ranked, others]).astype(np.int64)
    status = np.where(ranked_mask, "ranked", np.where(complete, "not_comparable", rows.kind)).astype(_STRINGS)
    ordered = _take(rows, perm)
    return replace(
        ordered,
        name_rank=_dense_rank(ordered.repo_lower),
        generation=generation,
        expected_n={key: int(e) for key, e in zip(rows.benchmarks, expected.tolist(), strict=True) if not np.isnan(e)},
        n_ranked=len(ranked),
        status=status[perm],
        id_order=id_rank[perm],
    )


def _fetch(suite: str, board: str, provenance: str, method: str, model_ids: list[int] | None = None) -> BoardArrays:
    """The board's rows (of these models only, if given) as columns in no particular order: one query, the
    per-benchmark arrays arriving as columns (no JSON decoded in Python)."""
    keys = board_check(suite=suite, board=board, provenance=provenance, method=method)
    k = len(keys)
    annotations: dict[str, Any] = {"languages_text": Cast("languages", TextField())}
    for i in range(k):
        annotations[f"v{i}"] = Cast(KeyTextTransform(i, "values"), FloatField())
        annotations[f"n{i}"] = Cast(KeyTextTransform(i, "ns"), FloatField())
    scalar = [f for f in _FIELDS if f not in ("values", "ns", "languages")]
    query = BoardEntry.objects.filter(suite=suite, board=board, provenance=provenance, method=method)
    if model_ids is not None:
        query = query.filter(model_id__in=model_ids)
    query = query.order_by().annotate(**annotations).values_list(*scalar, *annotations)
    # A plain cursor: numbers arrive as numbers, without a converter call per value.
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    n = len(rows)
    names = [*scalar, *annotations]
    transposed = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    columns: dict[str, Any] = dict(zip(names, transposed, strict=True))

    def floats(name: str) -> FloatArray:
        return np.array(columns[name], dtype=np.float64)

    def strings(name: str) -> list[str]:
        return [str(v or "") for v in columns[name]]

    language_cache: dict[str, list[str]] = {}
    languages: dict[str, list[int]] = {}
    for position, text in enumerate(columns["languages_text"]):
        codes = language_cache.get(text)
        if codes is None:
            codes = language_cache[text] = [str(c) for c in json.loads(text or "[]")]
        for code in codes:
            languages.setdefault(code, []).append(position)
    repo_ids = strings("repo_id")
    return BoardArrays(
        suite=suite,
        board=board,
        provenance=provenance,
        method=method,
        generation=(0, 0.0),
        benchmarks=keys,
        baselines=[random_baseline(key) for key in keys],
        expected_n={},
        n_ranked=0,
        pk=np.array(columns["pk"], dtype=np.int64),
        model_pk=np.array(columns["model_id"], dtype=np.int64),
        run_id=np.array(columns["run_id"], dtype=np.int64),
        kind=np.array(strings("kind"), dtype=_STRINGS),
        status=np.array(strings("kind"), dtype=_STRINGS),
        average=floats("average"),
        average_normalized=floats("average_normalized"),
        lo=floats("lo"),
        hi=floats("hi"),
        lo_normalized=floats("lo_normalized"),
        hi_normalized=floats("hi_normalized"),
        values=np.column_stack([floats(f"v{i}") for i in range(k)]) if k and n else np.zeros((n, k)),
        ns=np.column_stack([floats(f"n{i}") for i in range(k)]) if k and n else np.zeros((n, k)),
        repo_id=np.array(repo_ids, dtype=_STRINGS),
        id_order=np.zeros(n, dtype=np.int64),
        name_rank=np.zeros(n, dtype=np.int64),
        repo_lower=np.array([r.lower() for r in repo_ids], dtype=_STRINGS),
        name_lower=np.array([r.lower() for r in strings("name")], dtype=_STRINGS),
        parameters=floats("parameters"),
        weights=Codes.of(strings("weights")),
        license=Codes.of(strings("license_key")),
        commercial=Codes.of(strings("commercial_use")),
        organization=Codes.of(strings("organization_slug")),
        modality=Codes.of(strings("modality")),
        base=Codes.of(strings("base_repo_id")),
        base_ref=Codes.of(strings("base_model_ref")),
        on_hub=np.array([bool(x) for x in columns["on_hub"]], dtype=bool),
        languages={code: _mask(n, positions) for code, positions in languages.items()},
    )


def _mask(n: int, positions: list[int]) -> BoolArray:
    mask = np.zeros(n, dtype=bool)
    mask[positions] = True
    return mask


def _dense_rank(keys: npt.NDArray[Any]) -> IntArray:
    """Each key's rank among the distinct sorted keys (equal keys share one)."""
    order = np.argsort(keys, kind="stable")
    ranked = keys[order]
    starts = np.ones(len(keys), dtype=np.int64)
    if len(keys):
        starts[1:] = ranked[1:] != ranked[:-1]
    dense = np.empty(len(keys), dtype=np.int64)
    dense[order] = np.cumsum(starts) - 1
    return dense


def _id_order(ids: npt.NDArray[Any]) -> IntArray:
    """Each id's position among the sorted ids (code point order, as Python sorts strings)."""
    order = np.empty(len(ids), dtype=np.int64)
    order[np.argsort(ids, kind="stable")] = np.arange(len(ids), dtype=np.int64)
    return order


# --- one predicate per filter key (the meaning of registry.selectors.models.model_filter) -----------


def _truthy(value: Any) -> bool:
    return str(value).lower() in {"1", "true", "yes", "on"}


def filter_weights(arrays: BoardArrays, value: Any) -> BoolArray:
    return arrays.weights.equals(str(value))


def filter_language(arrays: BoardArrays, value: Any) -> BoolArray:
    mask = arrays.languages.get(str(value).lower())
    return mask if mask is not None else np.zeros(len(arrays), dtype=bool)


def filter_license(arrays: BoardArrays, value: Any) -> BoolArray:
    return arrays.license.equals(str(value))


def filter_commercial(arrays: BoardArrays, value: Any) -> BoolArray | None:
    if not _truthy(value):
        return None
    return np.logical_or.reduce([arrays.commercial.equals(str(c)) for c in _COMMERCIAL])


def filter_organization(arrays: BoardArrays, value: Any) -> BoolArray:
    return arrays.organization.equals(str(value))


def filter_parameters(arrays: BoardArrays, filters: dict[str, Any]) -> BoolArray | None:
    """size, min_params and max_params together: the registry's bounds (ModelFilters.parameter_bounds)."""
    low, below = ModelFilters.parse_partial({key: filters.get(key) for key in _PARAMETER_KEYS})[0].parameter_bounds()
    if low is None and below is None:
        return None
    with np.errstate(invalid="ignore"):
        mask = ~np.isnan(arrays.parameters)
        if low is not None:
            mask &= arrays.parameters >= low
        if below is not None:
            mask &= arrays.parameters < below
    return mask


def filter_modality(arrays: BoardArrays, value: Any) -> BoolArray:
    return arrays.modality.equals(str(value))


def filter_base(arrays: BoardArrays, value: Any) -> BoolArray:
    wanted = str(value).lower()
    return np.asarray(arrays.repo_lower == wanted) | arrays.base.equals(wanted) | arrays.base_ref.equals(wanted)


def filter_on_hub(arrays: BoardArrays, value: Any) -> BoolArray:
    return arrays.on_hub if _truthy(value) else ~arrays.on_hub


def filter_search(arrays: BoardArrays, value: Any) -> BoolArray | None:
    text = str(value or "").strip().lower()
    if not text:
        return None
    return np.asarray(np.strings.find(arrays.repo_lower, text) >= 0) | np.asarray(
        np.strings.find(arrays.name_lower, text) >= 0
    )


FILTER_PREDICATES: dict[str, Callable[[BoardArrays, Any], BoolArray | None]] = {
    "weights": filter_weights,
    "language": filter_language,
    "license": filter_license,
    "commercial": filter_commercial,
    "organization": filter_organization,
    "modality": filter_modality,
    "base": filter_base,
    "on_hub": filter_on_hub,
    "search": filter_search,
}
_PARAMETER_KEYS = ("size", "min_params", "max_params")


def board_mask(arrays: BoardArrays, filters: dict[str, Any]) -> BoolArray | None:
    """Rows matching every set filter (None when no filter is set)."""
    mask: BoolArray | None = None
    for key, predicate in FILTER_PREDICATES.items():
        value = filters.get(key)
        if key == "on_hub":
            if value in (None, ""):
                continue
        elif not value:
            continue
        part = predicate(arrays, value)
        if part is not None:
            mask = part if mask is None else mask & part
    if any(filters.get(key) not in (None, "", False) for key in _PARAMETER_KEYS):
        part = filter_parameters(arrays, filters)
        if part is not None:
            mask = part if mask is None else mask & part
    return mask


# --- ranking and ordering ---------------------------------------------------------------------------


@dataclass
class ColumnarOrder:
    """A filtered, ranked, ordered board: positions into the arrays, with rank and worst rank."""

    indexes: IntArray
    ranks: IntArray
    worsts: IntArray
    not_ranked: IntArray

    def __len__(self) -> int:
        return len(self.indexes)


def columnar_order(arrays: BoardArrays, *, filters: dict[str, Any], score: str, ordering: str) -> ColumnarOrder:
    """Rank the filtered ranked rows among themselves and order them; raises LeaderboardError."""
    from evals.selectors.leaderboard.read import _ordering_key

    name, descending = _ordering_key(ordering, arrays.benchmarks)
    mask = board_mask(arrays, filters)
    if mask is None:
        known = arrays.unfiltered_orders.get((score, ordering))
        if known is None:
            known = arrays.unfiltered_orders[(score, ordering)] = _order(arrays, None, score, name, descending)
        return known
    return _order(arrays, mask, score, name, descending)


def _order(arrays: BoardArrays, mask: BoolArray | None, score: str, name: str, descending: bool) -> ColumnarOrder:
    n = len(arrays)
    positions = np.arange(n, dtype=np.int64)
    keep = positions[: arrays.n_ranked] if mask is None else np.flatnonzero(mask[: arrays.n_ranked])
    others = positions[arrays.n_ranked :] if mask is None else arrays.n_ranked + np.flatnonzero(mask[arrays.n_ranked :])
    normalized = score == "normalized"
    lo = (arrays.lo_normalized if normalized else arrays.lo)[keep]
    hi = (arrays.hi_normalized if normalized else arrays.hi)[keep]
    ranks, worsts = stats.rank_arrays(lo, hi)
    value = np.nan_to_num((arrays.average_normalized if normalized else arrays.average)[keep], nan=0.0)
    # Stable sorts: the base order (best raw average, then id) breaks ties.
    if name == "rank":
        # rank, then score (best first), then id: the id order is the base order's among equal scores
        order = np.lexsort((arrays.id_order[keep], -value, ranks))
        if descending:
            order = order[::-1]
    elif name in ("average", "average_normalized"):
        column = arrays.average if name == "average" else arrays.average_normalized
        key = np.nan_to_num(column[keep], nan=0.0)
        order = np.argsort(-key if descending else key, kind="stable")
    elif name == "name":
        name_rank = arrays.name_rank[keep]
        order = np.argsort(-name_rank if descending else name_rank, kind="stable")
    elif name == "parameters":
        params = arrays.parameters[keep]
        known = ~np.isnan(params) & (np.nan_to_num(params) != 0)
        with_params = np.flatnonzero(known)
        key = params[with_params]
        with_params = with_params[np.lexsort((with_params, -key if descending else key))]
        order = np.concatenate([with_params, np.flatnonzero(~known)])
    else:
        column = np.nan_to_num(arrays.values[keep, arrays.benchmarks.index(name)], nan=0.0)
        order = np.argsort(-column if descending else column, kind="stable")
    return ColumnarOrder(
        indexes=keep[order],
        ranks=ranks[order].astype(np.int64),
        worsts=worsts[order].astype(np.int64),
        not_ranked=others,
    )


def columnar_entries(arrays: BoardArrays, positions: list[int]) -> list[CoreEntry]:
    """The rows at these positions as board lines, read back from the table (one query)."""
    if not positions:
        return []
    pks = [int(arrays.pk[p]) for p in positions]
    rows = {
        row[0]: row
        for row in BoardEntry.objects.filter(pk__in=pks).values_list(
            "pk",
            "model_id",
            "run_id",
            "repo_id",
            "parameters",
            "values",
            "stderrs",
            "ns",
            "metrics",
            "average",
            "average_se",
            "average_normalized",
            "average_normalized_se",
        )
    }
    entries = []
    for p, pk in zip(positions, pks, strict=True):
        row = rows.get(pk)
        if row is None:  # rewritten since this process loaded the board: left out until the next load
            continue
        status = str(arrays.status[p])
        ranked = status == "ranked"
        entries.append(
            CoreEntry(
                row[1],
                row[2],
                row[3],
                row[4],
                tuple(row[5]),
                tuple(row[6]),
                tuple(row[7]),
                tuple(row[8]),
                row[9] if ranked else None,
                row[10] if ranked else None,
                row[11] if ranked else None,
                row[12] if ranked else None,
                status,
            )
        )
    return entries


def columnar_chart(arrays: BoardArrays, order: ColumnarOrder, score: str, limit: int = 300) -> tuple[list[Any], int]:
    """Score against parameters with the Pareto frontier, as read._chart computes it."""
    from evals.selectors.leaderboard.read import ChartPoint

    keep = order.indexes
    params = arrays.parameters[keep]
    known = ~np.isnan(params) & (np.nan_to_num(params) != 0)
    idx = keep[known]
    if not len(idx):
        return [], 0
    column = arrays.average_normalized if score == "normalized" else arrays.average
    value = np.nan_to_num(column[idx], nan=0.0)
    p = arrays.parameters[idx]
    order_pv = np.lexsort((-value, p))  # by size, then best score first (Python's stable sort of the same)
    idx, value, p = idx[order_pv], value[order_pv], p[order_pv]
    previous_best = np.concatenate([[-np.inf], np.maximum.accumulate(value)[:-1]])
    frontier = value > previous_best
    top = np.argsort(-value, kind="stable")[:limit]
    chosen = frontier.copy()
    chosen[top] = True
    drawn = np.flatnonzero(chosen)  # only the drawn points become Python objects
    points = [
        ChartPoint(str(repo_id), int(pp), float(v), bool(f))
        for repo_id, pp, v, f in zip(
            arrays.repo_id[idx[drawn]].tolist(),
            p[drawn].tolist(),
            value[drawn].tolist(),
            frontier[drawn].tolist(),
            strict=True,
        )
    ]
    return points, len(idx)
