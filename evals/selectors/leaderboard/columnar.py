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

import bisect
import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
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
from evals.selectors.leaderboard.maintain import BOARD_VERSION, model_filter_columns
from registry.formatting import parameters_display
from registry.models import LanguageModel, License
from registry.selectors.models import ModelFilters

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
_STRINGS = np.dtypes.StringDType()
_COMMERCIAL = (License.Commercial.YES, License.Commercial.RESTRICTED)


# The BoardEntry columns BoardModel.from_columns reads (maintain.model_filter_columns' keys, but on_hub).
BOARD_MODEL_COLUMNS = (
    "repo_id",
    "name",
    "organization_slug",
    "weights",
    "parameters",
    "languages",
    "license_key",
    "commercial_use",
    "base_repo_id",
    "base_model_ref",
    "modality",
)


class BoardModel(NamedTuple):
    """A board row's model as the board table holds it (the registry's fields, copied into BoardEntry by
    every write that changes them): what the pages, the API and the CSV show of a model, with no model query."""

    pk: int
    repo_id: str
    name: str
    organization: str  # slug
    weights: str  # open | closed
    parameters: int | None
    license: str | None  # key
    commercial_use: str | None  # yes | restricted | no | unknown
    languages: tuple[str, ...]  # ISO 639-1 codes, sorted
    modality: str
    base_model: str | None  # the base's repo id, else the card's reference

    @classmethod
    def of(cls, model: LanguageModel) -> BoardModel:
        """The registry model as the board holds it (model needs organization, license, base_model and
        languages loaded, as registry.selectors.models.model_queryset does)."""
        return cls.from_columns(model.pk, model_filter_columns(model))

    @classmethod
    def from_columns(cls, pk: int, columns: dict[str, Any]) -> BoardModel:
        """From BoardEntry's model columns (maintain.model_filter_columns' keys)."""
        return cls(
            pk=pk,
            repo_id=columns["repo_id"],
            name=columns["name"],
            organization=columns["organization_slug"],
            weights=columns["weights"],
            parameters=columns["parameters"],
            license=columns["license_key"] or None,
            commercial_use=columns["commercial_use"] or None,
            languages=tuple(columns["languages"]),
            modality=columns["modality"],
            base_model=columns["base_repo_id"] or columns["base_model_ref"] or None,
        )

    @property
    def parameters_display(self) -> str:
        return parameters_display(self.parameters)

    @property
    def commercial_use_display(self) -> str:
        return str(License.Commercial(self.commercial_use).label) if self.commercial_use else ""


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
    # The ranked rows' positions per ordering (_permutation), derived once per generation like the orders.
    permutations: dict[tuple[str, bool], IntArray] = field(default_factory=dict, init=False, repr=False)
    # What readers derive at this generation, by name: read.py's hydrated rows, the search text.
    memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

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


_META_SQL = f"SELECT generation, version, rebuilt_at FROM {BoardMeta._meta.db_table} WHERE id = 1"


def board_table_meta() -> tuple[tuple[int, float], bool]:
    """(generation, ready): ready once `rebuild_leaderboard` built the rows with this code's rules. The
    generation is (the counter, the time of the last rebuild), so a rebuilt table never reuses a key."""
    # Every request asks: a plain cursor, without compiling a queryset each time.
    with connection.cursor() as cursor:
        cursor.execute(_META_SQL)
        meta = cursor.fetchone()
    if meta is None or meta[2] is None:
        return (0, 0.0), False
    rebuilt = meta[2] if isinstance(meta[2], datetime) else datetime.fromisoformat(str(meta[2]))
    if rebuilt.tzinfo is None:  # SQLite keeps UTC without a zone
        rebuilt = rebuilt.replace(tzinfo=UTC)
    return (int(meta[0]), rebuilt.timestamp()), meta[1] == BOARD_VERSION


def board_arrays(*, suite: str, board: str, provenance: str, method: str, generation: tuple[int, float]) -> BoardArrays:
    """The board's columns at this generation: when the generation moved, the copy this process holds is
    patched with the rows of the models changed since (BoardChange), or reloaded when too much changed or
    the board was rebuilt. A process holding no copy yet starts from the board's saved copy (snapshot.py)
    when there is one, and saves one after each full read of the table."""
    key = (suite, board, provenance, method)
    current = _loaded.get(key)
    if current is not None and current.generation == generation:
        return current
    with _load_lock:
        current = _loaded.get(key)
        if current is None:
            from evals.selectors.leaderboard.snapshot import board_snapshot_load

            current = board_snapshot_load(key, rebuilt=generation[1])
        if current is None or current.generation != generation:
            patched = _patch(current, generation) if current is not None else None
            if patched is None:
                from evals.selectors.leaderboard.snapshot import board_snapshot_save

                patched = board_arrays_load(suite, board, provenance, method, generation)
                board_snapshot_save(patched)
            current = patched
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
    index: SearchText | None = arrays.memo.get("search")
    if index is None:
        index = arrays.memo.setdefault("search", SearchText.of(arrays))
    return index.rows_containing(text, arrays)


# A search matching more rows than this is answered by one vectorized pass instead of a jump per row.
_SEARCH_JUMPS = 2000


@dataclass
class SearchText:
    """Every row's lower-cased id and name in one string, `\x00`-separated, built once per generation: a
    search is a scan of it (str.find) that jumps to the next row after each hit, so a rare term costs one
    pass over the text rather than a substring test per row."""

    text: str
    starts: list[int]  # where each row's part begins, and the text's end

    @classmethod
    def of(cls, arrays: BoardArrays) -> SearchText:
        rows = zip(arrays.repo_lower.tolist(), arrays.name_lower.tolist(), strict=True)
        parts = [f"{repo}\x00{name}\x00" for repo, name in rows]
        return cls("".join(parts), [0, *itertools.accumulate(len(part) for part in parts)])

    def rows_containing(self, term: str, arrays: BoardArrays) -> BoolArray:
        mask = np.zeros(len(self.starts) - 1, dtype=bool)
        if "\x00" not in term:
            position, hits = 0, 0
            while hits <= _SEARCH_JUMPS:
                found = self.text.find(term, position)
                if found < 0:
                    return mask
                row = bisect.bisect_right(self.starts, found) - 1
                mask[row] = True
                position = self.starts[row + 1]
                hits += 1
        return np.asarray(np.strings.find(arrays.repo_lower, term) >= 0) | np.asarray(
            np.strings.find(arrays.name_lower, term) >= 0
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
    """A filtered, ordered board: positions of its ranked rows in order, and of its not-ranked rows.

    Ranks are computed for the rows asked for (rank_range), from the sorted interval bounds of the filtered
    rows: 1 + the rows whose interval lies entirely above, and the worst rank, the rows not entirely below."""

    indexes: IntArray
    not_ranked: IntArray
    sorted_los: FloatArray
    sorted_his: FloatArray
    lo: FloatArray  # the board's columns (every row), for the score the ranks are of
    hi: FloatArray
    # columnar_frontier's answer, kept with an order that is cached (the unfiltered board's).
    frontier: Frontier | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.indexes)

    def rank_range(self, start: int, stop: int) -> list[tuple[int, int]]:
        """(rank, worst rank) of the rows at order positions start..stop."""
        positions = self.indexes[start:stop]
        ranks, worsts = stats.rank_among_sorted(
            self.sorted_los, self.sorted_his, self.lo[positions], self.hi[positions]
        )
        return list(zip(ranks.tolist(), worsts.tolist(), strict=True))


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
    """The filtered ranked rows in the asked order.

    No sort of the board per request: each ordering is a permutation of the ranked rows derived once per
    generation (_permutation), and the filtered rows are picked from it in order, as are the filtered rows'
    sorted interval bounds that ranks are searched in. Only the rank ordering computes every row's rank: a
    rank only grows as the upper bound falls, so the rows in upper-bound order are searched in one sweep,
    then stably sorted by rank from the score's base order (best first, then id)."""
    r = arrays.n_ranked
    keep = None if mask is None else mask[:r]
    others = np.arange(r, len(arrays), dtype=np.int64)
    if mask is not None:
        others = others[mask[r:]]
    normalized = score == "normalized"
    lo = arrays.lo_normalized if normalized else arrays.lo
    hi = arrays.hi_normalized if normalized else arrays.hi
    by_lo, by_hi = _permutation(arrays, ("lo", normalized)), _permutation(arrays, ("hi", normalized))
    if keep is not None:
        by_lo, by_hi = by_lo[keep[by_lo]], by_hi[keep[by_hi]]
    sorted_los, sorted_his = lo[by_lo], hi[by_hi]
    chosen = _permutation(arrays, ("score", normalized) if name == "rank" else (name, descending))
    if keep is not None:
        chosen = chosen[keep[chosen]]
    if name == "rank":
        rank_of = np.empty(r, dtype=np.int64)
        rank_of[by_hi] = 1 + len(by_hi) - np.searchsorted(sorted_los, sorted_his, side="right")
        order = np.argsort(rank_of[chosen], kind="stable")
        chosen = chosen[order[::-1] if descending else order]
    return ColumnarOrder(indexes=chosen, not_ranked=others, sorted_los=sorted_los, sorted_his=sorted_his, lo=lo, hi=hi)


def _permutation(arrays: BoardArrays, key: tuple[str, bool]) -> IntArray:
    """The ranked rows' positions in one order, derived once per generation (a copy patched to a new
    generation starts without them). Ties keep the board's base order (best raw average, then id), as a
    stable sort of any subset of the rows would."""
    known = arrays.permutations.get(key)
    if known is None:
        known = arrays.permutations[key] = _permutation_compute(arrays, *key)
    return known


def _permutation_compute(arrays: BoardArrays, name: str, flag: bool) -> IntArray:
    r = arrays.n_ranked
    positions = np.arange(r, dtype=np.int64)
    if name in ("lo", "hi"):  # flag: normalized
        column = getattr(arrays, f"{name}_normalized" if flag else name)[:r]
        return np.argsort(column, kind="stable").astype(np.int64)
    if name == "score":  # flag: normalized; best first, then id
        value = np.nan_to_num((arrays.average_normalized if flag else arrays.average)[:r], nan=0.0)
        return np.lexsort((arrays.id_order[:r], -value)).astype(np.int64)
    if name == "chart":  # flag: normalized; rows with a size, by size, then best score first
        params = arrays.parameters[:r]
        with_params = positions[~np.isnan(params) & (np.nan_to_num(params) != 0)]
        value = np.nan_to_num((arrays.average_normalized if flag else arrays.average)[with_params], nan=0.0)
        return with_params[np.lexsort((-value, params[with_params]))]
    descending = flag
    if name == "parameters":
        params = arrays.parameters[:r]
        known = ~np.isnan(params) & (np.nan_to_num(params) != 0)
        with_params = positions[known]
        key = params[with_params]
        with_params = with_params[np.lexsort((with_params, -key if descending else key))]
        return np.concatenate([with_params, positions[~known]])
    if name == "name":
        column = arrays.name_rank[:r]
    elif name in ("average", "average_normalized"):
        column = np.nan_to_num(getattr(arrays, name)[:r], nan=0.0)
    else:
        column = np.nan_to_num(arrays.values[:r, arrays.benchmarks.index(name)], nan=0.0)
    return np.argsort(-column if descending else column, kind="stable").astype(np.int64)


class Frontier(NamedTuple):
    """The filtered ranked rows with a size in chart order (by size, then best score first), their scores,
    and which are on the Pareto frontier: no smaller model scores higher."""

    positions: IntArray
    values: FloatArray
    on_frontier: BoolArray

    def frontier_positions(self) -> frozenset[int]:
        return frozenset(self.positions[self.on_frontier].tolist())


def columnar_frontier(arrays: BoardArrays, order: ColumnarOrder, score: str) -> Frontier:
    """The score/size Pareto frontier of the rows of `order` (kept with the order: the unfiltered board's
    orders are computed once per generation, so is their frontier)."""
    if order.frontier is not None:
        return order.frontier
    normalized = score == "normalized"
    idx = _permutation(arrays, ("chart", normalized))  # by size, then best score first
    if len(order) < arrays.n_ranked:
        chosen = np.zeros(arrays.n_ranked, dtype=bool)
        chosen[order.indexes] = True
        idx = idx[chosen[idx]]
    value = np.nan_to_num((arrays.average_normalized if normalized else arrays.average)[idx], nan=0.0)
    previous_best = np.concatenate([[-np.inf], np.maximum.accumulate(value)[:-1]]) if len(idx) else value
    order.frontier = Frontier(idx, value, value > previous_best)
    return order.frontier


def columnar_chart(arrays: BoardArrays, order: ColumnarOrder, score: str, limit: int = 300) -> tuple[list[Any], int]:
    """Score against parameters for the filtered ranked rows with a size: the Pareto frontier and the best
    `limit` rows, as points; and how many rows have a size."""
    from evals.selectors.leaderboard.read import ChartPoint

    idx, value, frontier = columnar_frontier(arrays, order, score)
    if not len(idx):
        return [], 0
    p = arrays.parameters[idx]
    drawn_mask = frontier.copy()
    if len(value) > limit:  # the best `limit` (ties in the order above), without sorting every row
        threshold = np.partition(value, len(value) - limit)[len(value) - limit]
        candidates = np.flatnonzero(value >= threshold)
        top = candidates[np.argsort(-value[candidates], kind="stable")[:limit]]
    else:
        top = np.arange(len(value))
    drawn_mask[top] = True
    drawn = np.flatnonzero(drawn_mask)  # only the drawn points become Python objects
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
