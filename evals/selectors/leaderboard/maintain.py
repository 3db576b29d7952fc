"""The maintained board: BoardEntry rows kept equal to what the runs say, written with the change.

Per (model, suite, board, provenance, method) one row: the run that counts (the latest complete run of a
revision that may rank, by finished_at then id; a model without one shows its latest partial or
incomplete run), its results aligned with the board's benchmarks, the averages, their SE and interval
bounds, and the model's filter columns.

Writers call `board_models_refresh(model_ids)` (or `board_runs_changed(run_ids)`) inside the transaction
of their write: a run finished, imported, cancelled, retried, reaped or deleted, a flag accepted, a
revision allowed. Metadata edits of a model call `board_models_metadata_refresh`. Every change bumps
`BoardMeta.generation` in the same transaction and logs the models it rewrote (BoardChange), so readers
patch their columnar copies (columnar.py) rather than reload them. `board_rebuild()` (manage.py rebuild_leaderboard)
writes every row from the runs; the result equals the incremental state.

Rows are chosen per model; whether a complete row ranks depends on the board's usual item count (the
most common per-benchmark n), which readers derive from the complete rows (`BoardEntry.ns`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from config.bulk import insert_json
from evals import stats
from evals.models import BoardChange, BoardEntry, BoardMeta, EvalRun
from evals.selectors.leaderboard.boards import RUN_METHODS, RUN_PROVENANCES, random_baseline, suite_boards, suites
from evals.selectors.leaderboard.boards import board_benchmarks as _board_benchmarks
from evals.selectors.leaderboard.build import RunResults, _timestamp, board_runs, run_averages
from registry.models import LanguageModel

# Bumped when the rules that write rows change: `rebuild_leaderboard --if-stale` then rebuilds.
BOARD_VERSION = 1
_META_PK = 1
# Generations whose changed models stay logged (BoardChange); a reader further behind reloads its board.
BOARD_CHANGES_KEPT = 1000
_BATCH = 2000
_JSON_BATCH = 10_000  # board rows per INSERT statement (about 1 KB of JSON each)


def board_combinations(
    present: Iterable[tuple[str, str, str]] | None = None,
) -> list[tuple[str, str, str, str]]:
    """Every (suite, board, provenance, method) a row can belong to; with `present` ((suite, method,
    run provenance) of some runs), only those such runs can appear on."""
    wanted = None if present is None else set(present)
    combinations = []
    for suite in suites():
        for board in suite_boards(suite=suite):
            for provenance, run_provenances in RUN_PROVENANCES.items():
                for method in RUN_METHODS:
                    if wanted is None or any((suite, method, p) in wanted for p in run_provenances):
                        combinations.append((suite, board, provenance, method))
    return combinations


def model_filter_columns(model: LanguageModel) -> dict[str, Any]:
    """The model's filter columns as BoardEntry stores them (model needs organization, license,
    base_model and languages loaded)."""
    return {
        "repo_id": model.repo_id,
        "name": model.name,
        "weights": model.weights,
        "parameters": model.parameters,
        "languages": sorted(language.code for language in model.languages.all()),
        "license_key": model.license.key if model.license else "",
        "commercial_use": model.license.commercial_use if model.license else "",
        "organization_slug": model.organization.slug,
        "modality": model.modality,
        "base_repo_id": model.base_model.repo_id if model.base_model else "",
        "base_model_ref": model.base_model_ref,
        "on_hub": model.on_hub,
    }


def _models(model_ids: Collection[int] | None) -> dict[int, LanguageModel]:
    qs = LanguageModel.objects.select_related("organization", "license", "base_model").prefetch_related("languages")
    if model_ids is not None:
        qs = qs.filter(pk__in=list(model_ids))
    return {m.pk: m for m in qs.iterator(chunk_size=_BATCH)}


def _counted(runs: Iterable[RunResults], k: int) -> dict[int, tuple[RunResults, str]]:
    """Per model the run that counts and its kind: the latest complete run, else the latest other one."""
    best: dict[int, tuple[tuple[int, float, int], RunResults, str]] = {}
    for run in runs:
        if run.is_partial:
            kind = BoardEntry.Kind.PARTIAL
        elif run.present != k:
            kind = BoardEntry.Kind.INCOMPLETE
        else:
            kind = BoardEntry.Kind.COMPLETE
        priority = (1 if kind == BoardEntry.Kind.COMPLETE else 0, _timestamp(run.finished_at), run.run_id)
        current = best.get(run.model_pk)
        if current is None or priority > current[0]:
            best[run.model_pk] = (priority, run, str(kind))
    return {model_pk: (run, kind) for model_pk, (_p, run, kind) in best.items()}


def _entries(
    combination: tuple[str, str, str, str],
    model_ids: Collection[int] | None,
    models: dict[int, LanguageModel],
    columns: dict[int, dict[str, Any]],
) -> list[dict[str, Any]]:
    """The board rows of one (suite, board, provenance, method), as BoardEntry field values (attname -> value)."""
    suite, board, provenance, method = combination
    keys = _board_benchmarks(suite=suite, board=board)
    if not keys:
        return []
    baselines = [random_baseline(key) for key in keys]
    runs = board_runs(
        suite=suite, keys=keys, baselines=baselines, provenance=provenance, method=method, model_ids=model_ids
    )
    counted = _counted(runs, len(keys))
    if not counted:
        return []
    run_facts = {
        pk: (finished_at, run_provenance, flagged)
        for pk, finished_at, run_provenance, flagged in EvalRun.objects.filter(
            pk__in=[run.run_id for run, _kind in counted.values()]
        ).values_list("pk", "finished_at", "provenance", "flagged")
    }
    entries = []
    for model_pk, (run, kind) in counted.items():
        model = models.get(model_pk)
        if model is None:
            continue
        if model_pk not in columns:
            columns[model_pk] = model_filter_columns(model)
        finished_at, run_provenance, flagged = run_facts[run.run_id]
        averages = run_averages(run, baselines) if kind == BoardEntry.Kind.COMPLETE else None
        bounds: dict[str, float | None] = {"lo": None, "hi": None, "lo_normalized": None, "hi_normalized": None}
        if averages is not None and averages.average is not None and averages.average_normalized is not None:
            bounds["lo"], bounds["hi"] = stats.bounds(averages.average, averages.average_se)
            bounds["lo_normalized"], bounds["hi_normalized"] = stats.bounds(
                averages.average_normalized, averages.average_normalized_se
            )
        entries.append(
            {
                "model_id": model_pk,
                "suite": suite,
                "board": board,
                "provenance": provenance,
                "method": method,
                "run_id": run.run_id,
                "kind": kind,
                "run_provenance": run_provenance,
                "flagged": flagged,
                "finished_at": finished_at,
                "values": list(run.values),
                "stderrs": list(run.stderrs),
                "ns": list(run.ns),
                "metrics": list(run.metrics),
                "average": averages.average if averages else None,
                "average_se": averages.average_se if averages else None,
                "average_normalized": averages.average_normalized if averages else None,
                "average_normalized_se": averages.average_normalized_se if averages else None,
                **bounds,
                **columns[model_pk],
            }
        )
    return entries


def _entries_write(entries: list[dict[str, Any]]) -> None:
    """Insert these board rows (attname -> value). On PostgreSQL as JSON (config.bulk.insert_json: no
    per-value preparation in Python, most of a rebuild's time with bulk_create), else with bulk_create."""
    if connection.vendor != "postgresql":
        BoardEntry.objects.bulk_create([BoardEntry(**entry) for entry in entries], batch_size=_BATCH)
        return
    fields = [f for f in BoardEntry._meta.concrete_fields if not f.primary_key]
    defaults = {f.attname: f.get_default() for f in fields}
    names = [(f.attname, f.column or f.attname) for f in fields]
    for start in range(0, len(entries), _JSON_BATCH):
        rows = [
            {column: entry.get(name, defaults[name]) for name, column in names}
            for entry in entries[start : start + _JSON_BATCH]
        ]
        insert_json(BoardEntry._meta.db_table, [column for _, column in names], rows, skip_conflicts=False)


def _meta_bump(**fields: Any) -> int:
    """Bump the generation (the row lock also orders concurrent board writers); returns the new one."""
    updated = BoardMeta.objects.filter(pk=_META_PK).update(
        generation=F("generation") + 1, changed_at=timezone.now(), **fields
    )
    if not updated:
        BoardMeta.objects.get_or_create(pk=_META_PK)
        BoardMeta.objects.filter(pk=_META_PK).update(
            generation=F("generation") + 1, changed_at=timezone.now(), **fields
        )
    return int(BoardMeta.objects.filter(pk=_META_PK).values_list("generation", flat=True).get())


def _changes_record(model_ids: Collection[int]) -> None:
    """Bump the generation and log which models' rows it rewrites (readers patch their copies with them)."""
    generation = _meta_bump()
    BoardChange.objects.filter(generation__lte=generation - BOARD_CHANGES_KEPT).delete()
    BoardChange.objects.bulk_create(
        [BoardChange(generation=generation, model_id=pk) for pk in model_ids], batch_size=_BATCH
    )


def board_generation() -> int:
    """The maintained board's generation (0 before the first change)."""
    return BoardMeta.objects.filter(pk=_META_PK).values_list("generation", flat=True).first() or 0


def board_models_refresh(model_ids: Iterable[int]) -> int:
    """Rewrite the board rows of these models from their runs, in the caller's transaction (or one of its
    own); returns the number of rows written."""
    ids = sorted({int(pk) for pk in model_ids if pk is not None})
    if not ids:
        return 0
    with transaction.atomic():
        _changes_record(ids)
        present = (
            EvalRun.objects.filter(model_id__in=ids, status=EvalRun.Status.SUCCEEDED)
            .order_by()
            .values_list("suite", "method", "provenance")
            .distinct()
        )
        models = _models(ids)
        columns: dict[int, dict[str, Any]] = {}
        entries: list[dict[str, Any]] = []
        for combination in board_combinations(list(present)):
            entries.extend(_entries(combination, ids, models, columns))
        BoardEntry.objects.filter(model_id__in=ids).delete()
        _entries_write(entries)
    return len(entries)


def board_runs_changed(run_ids: Iterable[int]) -> int:
    """board_models_refresh for the models of these runs."""
    ids = [int(pk) for pk in run_ids if pk is not None]
    if not ids:
        return 0
    model_ids = EvalRun.objects.filter(pk__in=ids).order_by().values_list("model_id", flat=True).distinct()
    return board_models_refresh(list(model_ids))


def board_models_metadata_refresh(model_ids: Iterable[int]) -> int:
    """Copy the models' current filter columns onto their board rows; returns the rows updated."""
    ids = sorted({int(pk) for pk in model_ids if pk is not None})
    if not ids:
        return 0
    with transaction.atomic():
        have = set(BoardEntry.objects.filter(model_id__in=ids).values_list("model_id", flat=True).distinct())
        if not have:
            return 0
        _changes_record(have)
        updated = 0
        for pk, model in _models(have).items():
            updated += BoardEntry.objects.filter(model_id=pk).update(**model_filter_columns(model))
    return updated


def board_rebuild() -> int:
    """Write every board row from the runs (one transaction); returns the number of rows."""
    with transaction.atomic():
        _meta_bump(version=BOARD_VERSION, rebuilt_at=timezone.now())
        BoardChange.objects.all().delete()  # readers reload a rebuilt board whole
        models = _models(None)
        columns: dict[int, dict[str, Any]] = {}
        BoardEntry.objects.all().delete()
        count = 0
        for combination in board_combinations():
            entries = _entries(combination, None, models, columns)
            _entries_write(entries)
            count += len(entries)
    return count


def board_is_stale() -> bool:
    """True when the rows were never built, or built with other rules than this code's."""
    meta = BoardMeta.objects.filter(pk=_META_PK).values_list("version", "rebuilt_at").first()
    return meta is None or meta[0] != BOARD_VERSION or meta[1] is None


def board_ensure() -> bool:
    """Build the rows when they were never built, or built by other rules (a fresh install before
    migrate's `rebuild_leaderboard --if-stale` ran); returns True when this call built them.

    Concurrent first readers wait on the bookkeeping row's lock and build once."""
    if not board_is_stale():
        return False
    with transaction.atomic():
        BoardMeta.objects.get_or_create(pk=_META_PK)
        BoardMeta.objects.select_for_update().filter(pk=_META_PK).values_list("pk", flat=True).first()
        if not board_is_stale():
            return False
        board_rebuild()
    return True


def board_entries_snapshot() -> list[tuple[Any, ...]]:
    """Every board row as a comparable tuple (tests and checks compare a rebuild with the maintained state)."""
    fields: Sequence[str] = [f.attname for f in BoardEntry._meta.concrete_fields if f.attname != "id"]
    return sorted(BoardEntry.objects.values_list(*fields))
