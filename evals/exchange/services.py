"""Imported runs: results files in, runs out (lm-eval 0.4 shaped results JSON and samples JSONL).

An imported file becomes one EvalRun (`provenance="imported"`, status succeeded) with its
BenchmarkResults (the numbers exactly as the file prints them), its ItemResults when samples came with
it, and a ResultImport row holding its provenance. Each file is one transaction: a file either
becomes a whole run or nothing. Files are idempotent by their sha256: the same file twice changes
nothing. A run ranks on a suite only when its settings are the suite's: every benchmark of the suite,
the suite's shots, and the suite's items (full splits for `open-llm-v1`; for a sampled suite such as
`quick`, samples whose item ids are exactly the suite's sample). Anything else is stored as a partial
run: shown on the model and under "not ranked", never ranked.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from evals.benchmarks import BENCHMARKS
from evals.exchange import formats
from evals.exchange.formats import FormatError, ImportedRun
from evals.models import BenchmarkResult, EvalRun, ImportJob, ItemResult, Provenance, ResultImport
from evals.suites import SUITES

logger = logging.getLogger(__name__)

IMPORT_BACKEND = "lm-eval"  # EvalRun.backend of imported runs: the harness that made them
EXPORT_HARNESS_VERSION = "0.4.13"  # the lm-eval version whose output shape exports follow
ARCHIVE_PATH = re.compile(r"^(?P<org>[^/]+)/(?P<model>[^/]+)/(?P<file>results_[^/]+\.json)$")


class ImportRefused(FormatError):
    """A file that is not imported (too large, no model named, ...): names the file and field."""


@dataclass
class ImportOutcome:
    """What happened to one file: `created`, `unchanged` (same digest already imported) or `failed`."""

    source: str
    status: str
    run_id: int | None = None
    import_id: int | None = None
    model: str = ""
    model_created: bool = False
    ranked_suite: str | None = None
    notes: list[str] = field(default_factory=list)
    error: dict[str, str] | None = None


def _max_bytes() -> int:
    return int(settings.IMPORT_MAX_FILE_BYTES)


def _check_size(content: bytes, name: str) -> None:
    if len(content) > _max_bytes():
        raise ImportRefused(
            name,
            "",
            _("the file is %(size)d bytes, over the import limit of %(limit)d (LADDER_IMPORT_MAX_FILE_BYTES)")
            % {"size": len(content), "limit": _max_bytes()},
        )


# ---------------------------------------------------------------------------------------------- suites


def _suite_sample_ids(suite_key: str, benchmark: str) -> set[str] | None:
    """The item ids of a sampled suite's benchmark (None when the data cannot be read here)."""
    from evals import engine
    from evals.data import DataError

    try:
        (plan,) = engine.run_plan(suite=suite_key, benchmarks=[benchmark], data_dir=settings.LADDER_DATA_DIR or None)
    except (DataError, ValueError, OSError):
        return None
    return {doc.item_id for doc in plan.docs}


def _suite_matches(parsed: ImportedRun, suite_key: str) -> str:
    """ "" when the run has exactly the suite's settings, else why not (for the record)."""
    suite = SUITES[suite_key]
    for key in suite.benchmarks:
        bench = parsed.benchmark(key)
        if bench is None:
            return f"{key} missing"
        if bench.n_shot != suite.shots(key):
            return f"{key} {bench.n_shot}-shot, the suite runs {suite.shots(key)}-shot"
        if not bench.complete_subjects:
            return f"{key}: not every subject"
        if suite.sample_size is None:
            if parsed.limit is not None or bench.n != formats.SPLIT_SIZES[key]:
                return f"{key}: {bench.n} items, the suite scores the full split ({formats.SPLIT_SIZES[key]})"
        else:
            if not bench.items:
                return f"{key}: no samples to show the items are the suite's sample"
            wanted = _suite_sample_ids(suite_key, key)
            if wanted is None or {i.item_id for i in bench.items} != wanted:
                return f"{key}: the items are not the suite's sample"
    return ""


def _suite_choose(parsed: ImportedRun) -> tuple[str, bool, str]:
    """(suite, is_partial, reason): the suite whose settings the run has, else the nearest one, partial."""
    reasons = {}
    for key in SUITES:
        reason = _suite_matches(parsed, key)
        if not reason:
            return key, False, ""
        reasons[key] = reason

    def closeness(key: str) -> tuple[int, int]:
        suite = SUITES[key]
        same = [b for b in parsed.benchmarks if b.benchmark in suite.benchmarks]
        return (sum(1 for b in same if b.n_shot == suite.shots(b.benchmark)), len(same))

    best = max(SUITES, key=closeness)
    return best, True, reasons[best]


# ---------------------------------------------------------------------------------------------- import


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _when(parsed: ImportedRun, source: str) -> datetime | None:
    if parsed.evaluated_at is not None:
        return parsed.evaluated_at
    stamp = formats.results_timestamp(source.rsplit("/", 1)[-1].rsplit(":", 1)[-1])
    if stamp:
        date, _t, clock = stamp.partition("T")
        try:
            return datetime.fromisoformat(f"{date}T{clock.replace('-', ':')}").replace(tzinfo=UTC)
        except ValueError:
            return None
    return None


def result_import_file(
    *,
    content: bytes,
    name: str,
    samples: Mapping[str, bytes] | None = None,
    model: str | None = None,
    user: Any = None,
    job: ImportJob | None = None,
    source_file_sha: str = "",
    models_cache: dict[str, Any] | None = None,
) -> ImportOutcome:
    """Import one results file (with its samples files, keyed by lm-eval task name) as one imported run.

    `model` overrides the model the file names (needed when it names a local path). Returns the
    outcome (`created`, or `unchanged` for a file already imported). Raises FormatError/ImportRefused
    naming the file and field; nothing is written then. An unknown model is created in the registry,
    marked as not synced.
    """
    from registry.services.imported import language_model_get_or_create_unsynced

    samples = dict(samples or {})
    _check_size(content, name)
    for task, data in samples.items():
        _check_size(data, f"{name} samples_{task}")
    digest = _digest(content)
    existing = ResultImport.objects.filter(digest=digest).values_list("pk", "run_id", "run__model__repo_id").first()
    if existing is not None:
        return ImportOutcome(name, "unchanged", run_id=existing[1], import_id=existing[0], model=existing[2])
    parsed = formats.results_parse(content, name=name, samples=samples)
    repo_id = (model or parsed.model_name).strip()
    if not repo_id:
        raise ImportRefused(
            name,
            "model_name",
            _('the file names no Hub model (%(named)s); say which model it is (--model / "model")')
            % {"named": parsed.details.get("named_model") or "?"},
        )
    suite_key, is_partial, reason = _suite_choose(parsed)
    when = _when(parsed, name) or timezone.now()
    try:
        with transaction.atomic():
            cached = models_cache.get(repo_id.lower()) if models_cache is not None else None
            if cached is None:
                try:
                    registered, created = language_model_get_or_create_unsynced(repo_id=repo_id)
                except ValueError as exc:
                    raise ImportRefused(name, "model_name", str(exc)) from None
            else:
                registered, created = cached, False
            total = sum(b.n for b in parsed.benchmarks)
            run = EvalRun.objects.create(
                model=registered,
                revision=parsed.model_sha or "main",
                revision_sha=parsed.model_sha[:64],
                suite=suite_key,
                benchmarks=[b.benchmark for b in parsed.benchmarks],
                backend=IMPORT_BACKEND,
                dtype=(parsed.dtype or "auto")[:12],
                device="",
                batch_size=1,
                limit=int(parsed.limit) if parsed.limit is not None and parsed.limit >= 1 else None,
                is_partial=is_partial,
                settings={
                    "n_shot": {b.benchmark: b.n_shot for b in parsed.benchmarks},
                    "methods": {b.benchmark: b.method for b in parsed.benchmarks},
                    "imported": {"format": parsed.format, "not_ranked_reason": reason, "notes": list(parsed.notes)},
                },
                engine_version=parsed.harness_version[:20],
                provenance=Provenance.IMPORTED,
                status=EvalRun.Status.SUCCEEDED,
                progress_done=total,
                progress_total=total,
                started_at=when,
                finished_at=when,
                heartbeat_at=when,
            )
            BenchmarkResult.objects.bulk_create(
                [
                    BenchmarkResult(
                        run=run,
                        benchmark=b.benchmark,
                        metrics=b.metrics,
                        primary_metric=b.primary_metric,
                        value=b.value,
                        stderr=b.stderr,
                        n=b.n,
                        method=b.method,
                        n_shot=b.n_shot,
                    )
                    for b in parsed.benchmarks
                ]
            )
            items = [
                ItemResult(
                    run=run,
                    benchmark=b.benchmark,
                    item_id=i.item_id[:200],
                    position=pos,
                    subject=i.subject[:100],
                    prompt=i.prompt,
                    choices=i.choices,
                    loglikelihoods=i.loglikelihoods,
                    generated=i.generated,
                    target=i.target,
                    prediction=i.prediction,
                    metrics=i.metrics,
                    correct=i.correct,
                )
                for b in parsed.benchmarks
                for pos, i in enumerate(b.items)
            ]
            if items:
                ItemResult.objects.bulk_create(items, batch_size=2000)
            record = ResultImport.objects.create(
                digest=digest,
                format=parsed.format,
                run=run,
                source=name[:500],
                source_file_sha=source_file_sha[:64],
                samples_digest=_digest(b"".join(samples[t] for t in sorted(samples))) if samples else "",
                harness_version=parsed.harness_version[:100],
                model_name=(parsed.details.get("named_model") or parsed.model_name)[:300],
                model_args=parsed.model_args,
                model_sha=parsed.model_sha[:64],
                dtype=parsed.dtype[:30],
                evaluated_at=parsed.evaluated_at or _when(parsed, name),
                details={**parsed.details, "notes": list(parsed.notes), "suite": suite_key, "ranked": not is_partial},
                imported_by=user if getattr(user, "is_authenticated", False) else None,
                job=job,
            )
            if models_cache is not None:
                models_cache[repo_id.lower()] = registered
            from evals.services import leaderboard_runs_changed

            # The board rows change with the import, in its transaction.
            leaderboard_runs_changed(model_ids=[registered.pk])
    except IntegrityError:
        # The same file imported concurrently: the digest's unique constraint kept one.
        found = ResultImport.objects.filter(digest=digest).values_list("pk", "run_id").first()
        if found is None:
            raise
        return ImportOutcome(name, "unchanged", run_id=found[1], import_id=found[0], model=repo_id)
    return ImportOutcome(
        name,
        "created",
        run_id=run.pk,
        import_id=record.pk,
        model=registered.repo_id,
        model_created=created,
        ranked_suite=None if is_partial else suite_key,
        notes=list(parsed.notes) + ([reason] if reason else []),
    )


def _error_of(exc: Exception, source: str) -> dict[str, str]:
    if isinstance(exc, FormatError):
        return {"file": exc.file, "field": exc.field, "message": exc.message}
    return {"file": source, "field": "", "message": str(exc)}


@dataclass
class ResultFile:
    """One results file to import and the samples files that go with it."""

    name: str
    content: bytes
    samples: dict[str, bytes] = field(default_factory=dict)
    source_file_sha: str = ""
    model: str | None = None


def result_import_batch(
    files: Iterable[ResultFile], *, model: str | None = None, user: Any = None, job: ImportJob | None = None
) -> list[ImportOutcome]:
    """Import several files, each in its own transaction: the good ones are imported, the bad ones come
    back `failed` with their error (file, field, message); none is half imported. Counts go on `job`."""
    outcomes = []
    cache: dict[str, Any] = {}
    for item in files:
        try:
            outcome = result_import_file(
                content=item.content,
                name=item.name,
                samples=item.samples,
                model=item.model or model,
                user=user,
                job=job,
                source_file_sha=item.source_file_sha,
                models_cache=cache,
            )
        except (FormatError, ValueError) as exc:
            outcome = ImportOutcome(item.name, "failed", error=_error_of(exc, item.name))
        outcomes.append(outcome)
    if job is not None:
        _job_count(job, outcomes)
    return outcomes


def _job_count(job: ImportJob, outcomes: list[ImportOutcome]) -> None:
    job.files_done += len(outcomes)
    job.created += sum(1 for o in outcomes if o.status == "created")
    job.unchanged += sum(1 for o in outcomes if o.status == "unchanged")
    job.failed += sum(1 for o in outcomes if o.status == "failed")
    job.errors = (job.errors or []) + [o.error for o in outcomes if o.error]
    job.save(update_fields=["files_done", "created", "unchanged", "failed", "errors"])


def import_job_finish(job: ImportJob) -> ImportJob:
    job.status = (
        ImportJob.Status.SUCCEEDED
        if not job.failed
        else ImportJob.Status.PARTIAL
        if job.created or job.unchanged
        else ImportJob.Status.FAILED
    )
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "finished_at"])
    return job


def result_files_collect(paths: Iterable[str]) -> tuple[list[ResultFile], list[dict[str, str]]]:
    """The results files under `paths` (files or directories, recursively) with the samples files of the
    same run beside each (`samples_<task>_<same date>.jsonl`); unreadable paths come back as errors."""
    from pathlib import Path

    found: list[ResultFile] = []
    errors: list[dict[str, str]] = []
    candidates: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            candidates.extend(sorted(p for p in path.rglob("*.json") if p.name.startswith("results")))
        elif path.is_file():
            candidates.append(path)
        else:
            errors.append({"file": str(path), "field": "", "message": _("no such file or directory")})
    for path in candidates:
        try:
            if path.stat().st_size > _max_bytes():
                raise ImportRefused(
                    str(path), "", _("the file is over the import limit (LADDER_IMPORT_MAX_FILE_BYTES)")
                )
            content = path.read_bytes()
            stamp = formats.results_timestamp(path.name)
            samples = {}
            if stamp:
                for sample in path.parent.glob(f"samples_*_{stamp}.jsonl"):
                    task = formats.samples_task(sample.name)
                    if task:
                        samples[task] = sample.read_bytes()
        except (OSError, FormatError) as exc:
            errors.append(
                _error_of(exc, str(path))
                if isinstance(exc, FormatError)
                else {"file": str(path), "field": "", "message": str(exc)}
            )
            continue
        found.append(ResultFile(name=str(path), content=content, samples=samples))
    return found, errors


def result_files_from_uploads(uploads: Iterable[tuple[str, bytes]]) -> tuple[list[ResultFile], list[dict[str, str]]]:
    """Uploaded files (name, bytes) as results files with their samples, paired as `result_files_collect`
    pairs files on disk: each `.json` is a results file, and a `samples_<task>_<date>.jsonl` goes with the
    `results_<date>.json` of the same date. A samples file with no such results file, any other file, and a
    file over the import limit come back as errors naming the file."""
    results: list[tuple[str, bytes]] = []
    samples: dict[str, dict[str, bytes]] = defaultdict(dict)
    errors: list[dict[str, str]] = []
    for name, content in uploads:
        try:
            _check_size(content, name)
        except ImportRefused as exc:
            errors.append(_error_of(exc, name))
            continue
        task = formats.samples_task(name)
        if task is not None:
            samples[name.rsplit("_", 1)[1].removesuffix(".jsonl")][task] = content
        elif name.lower().endswith(".json"):
            results.append((name, content))
        else:
            message = _("not a results_*.json or samples_<task>_<date>.jsonl file")
            errors.append({"file": name, "field": "", "message": message})
    found = []
    used: set[str] = set()
    for name, content in results:
        stamp = formats.results_timestamp(name)
        if stamp and stamp in samples:
            used.add(stamp)
        found.append(ResultFile(name=name, content=content, samples=dict(samples.get(stamp or "", {}))))
    for stamp, tasks in samples.items():
        if stamp not in used:
            for task in tasks:
                message = _("no results_%(date)s.json uploaded with it") % {"date": stamp}
                errors.append({"file": f"samples_{task}_{stamp}.jsonl", "field": "", "message": message})
    return found, errors


def import_job_create(*, source: str, revision: str = "", user: Any = None, files_total: int = 0) -> ImportJob:
    return ImportJob.objects.create(
        source=source[:300],
        revision=revision[:200],
        requested_by=user if getattr(user, "is_authenticated", False) else None,
        files_total=files_total,
        status=ImportJob.Status.QUEUED,
    )


def import_job_run_files(
    job: ImportJob,
    files: list[ResultFile],
    *,
    errors: Sequence[dict[str, str]] = (),
    model: str | None = None,
    user: Any = None,
) -> ImportJob:
    """Import a batch of local files under `job` (the command and the API), then finish it."""
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, started_at=timezone.now())
    job.refresh_from_db()
    if errors:
        job.failed += len(errors)
        job.files_total += len(errors)
        job.errors = list(errors)
        job.save(update_fields=["failed", "files_total", "errors"])
    result_import_batch(files, model=model, user=user, job=job)
    return import_job_finish(job)


# ---------------------------------------------------------------------------------------------- archive


def import_job_enqueue(*, repo_id: str, revision: str = "main", user: Any = None) -> ImportJob:
    """An ImportJob for a Hub dataset archive, sent to a worker once the transaction commits."""
    from evals.tasks import import_archive_task

    with transaction.atomic():
        job = import_job_create(source=repo_id, revision=revision or "main", user=user)
        import_archive_task.delay_on_commit(job.pk)
    return job


def import_job_run_archive(*, job_id: int, progress_every: int = 100) -> ImportJob | None:
    """Import a Hub dataset laid out as `<org>/<model>/results_<timestamp>.json` (the Open LLM
    Leaderboard results archive): every results file becomes a run; the latest per model is the one
    the board shows (runs are dated by the file's timestamp), the earlier ones are its history.

    Incremental: files whose Hub content id is already imported are not downloaded again. The job is
    claimed with a conditional UPDATE (queued -> running), so a second delivery does nothing. Progress
    (files_done of files_total) is saved every `progress_every` files. Returns the job, or None when
    another worker holds it.
    """
    from registry.hub import HubError, hub_dataset_file_bytes, hub_dataset_files

    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return None
    job = ImportJob.objects.get(pk=job_id)
    revision = job.revision or "main"
    try:
        listing = hub_dataset_files(job.source, revision=revision)
    except HubError as exc:
        job.errors = [{"file": job.source, "field": "", "message": str(exc)}]
        job.status, job.finished_at = ImportJob.Status.FAILED, timezone.now()
        job.save(update_fields=["errors", "status", "finished_at"])
        return job
    wanted = [f for f in listing if ARCHIVE_PATH.match(f.path)]
    # Oldest first within a model, so each model's latest file is imported last.
    wanted.sort(key=lambda f: (f.path.rsplit("/", 1)[0], f.path))
    known: set[str] = set()
    shas = [f.file_sha for f in wanted if f.file_sha]
    for start in range(0, len(shas), 5000):
        known.update(
            ResultImport.objects.filter(source_file_sha__in=shas[start : start + 5000]).values_list(
                "source_file_sha", flat=True
            )
        )
    todo = [f for f in wanted if f.file_sha not in known]
    job.files_total = len(wanted)
    job.files_done = job.unchanged = len(wanted) - len(todo)
    job.save(update_fields=["files_total", "files_done", "unchanged"])
    cache: dict[str, Any] = {}
    pending: list[ImportOutcome] = []
    for entry in todo:
        match = ARCHIVE_PATH.match(entry.path)
        assert match is not None
        source = f"{job.source}@{revision}:{entry.path}"
        try:
            content = hub_dataset_file_bytes(job.source, entry.path, revision=revision, max_bytes=_max_bytes())
            outcome = result_import_file(
                content=content,
                name=source,
                model=None,
                user=job.requested_by,
                job=job,
                source_file_sha=entry.file_sha,
                models_cache=cache,
            )
        except (FormatError, ValueError, HubError) as exc:
            outcome = ImportOutcome(source, "failed", error=_error_of(exc, source))
        pending.append(outcome)
        if len(pending) >= progress_every:
            _job_count(job, pending)
            pending = []
    if pending:
        _job_count(job, pending)
    return import_job_finish(job)


# ---------------------------------------------------------------------------------------------- export


def _lm_eval_task(benchmark: str) -> str:
    return "ceval-valid" if benchmark == "ceval" else benchmark


def _subject_task(benchmark: str, subject: str) -> str:
    return f"{formats.LM_EVAL_GROUPS[benchmark][1]}{subject}"


def _metric_keys(benchmark: str, metric: str) -> tuple[str, str]:
    if benchmark == "gsm8k":
        theirs = {v: k for k, v in formats.GSM8K_METRICS.items()}.get(metric)
        if theirs:
            return f"{theirs[0]},{theirs[1]}", f"{theirs[0]}_stderr,{theirs[1]}"
    return f"{metric},none", f"{metric}_stderr,none"


def _entry(benchmark: str, alias: str, metrics: Mapping[str, float], stderrs: Mapping[str, float | None]) -> dict:
    out: dict[str, Any] = {"alias": alias}
    for metric, value in metrics.items():
        key, se_key = _metric_keys(benchmark, metric)
        out[key] = value
        se = stderrs.get(metric)
        out[se_key] = se if se is not None else "N/A"
    return out


def _item_stats(values: list[dict[str, float]]) -> tuple[dict[str, float], dict[str, float | None]]:
    from evals.engine import _mean_stderr

    names = [m for m in values[0] if all(m in v for v in values)] if values else []
    means = {m: math.fsum(float(v[m]) for v in values) / len(values) for m in names}
    errors = {m: _mean_stderr([float(v[m]) for v in values]) for m in names}
    return means, errors


def eval_run_export_results(run: EvalRun) -> dict[str, Any]:
    """The run as an lm-evaluation-harness 0.4 results JSON (what `import_results` reads back unchanged).

    Every benchmark is a task keyed as lm-eval names it (`"acc,none"`, `"acc_stderr,none"`, `alias`),
    subject benchmarks also get one subtask per subject (from the stored items) under their group;
    `n-shot`, `n-samples`, `configs` and `config` say how it was run. A `ladder` key says where it came from.
    """
    results: dict[str, Any] = {}
    groups: dict[str, Any] = {}
    group_subtasks: dict[str, list[str]] = {}
    n_shot: dict[str, int] = {}
    n_samples: dict[str, Any] = {}
    configs: dict[str, Any] = {}
    by_subject: dict[tuple[str, str], list[dict[str, float]]] = defaultdict(list)
    subject_benchmarks = [b for b in run.benchmarks if b in formats.LM_EVAL_GROUPS]
    if subject_benchmarks:
        rows = (
            ItemResult.objects.filter(run=run, benchmark__in=subject_benchmarks)
            .order_by("benchmark", "position")
            .values_list("benchmark", "subject", "metrics")
        )
        for bench, subject, metrics in rows.iterator(chunk_size=5000):
            by_subject[(bench, subject)].append(metrics)
    for result in run.results.all().order_by("benchmark"):
        bench = result.benchmark
        task = _lm_eval_task(bench)
        stderrs = {result.primary_metric: result.stderr}
        entry = _entry(bench, task, result.metrics, stderrs)
        results[task] = entry
        n_shot[task] = result.n_shot
        if bench in formats.LM_EVAL_GROUPS:
            groups[task] = dict(entry)
            subjects = sorted(s for b, s in by_subject if b == bench)
            group_subtasks[task] = [_subject_task(bench, s) for s in subjects]
            if not subjects:
                n_samples[task] = {"original": formats.SPLIT_SIZES[bench], "effective": result.n}
            for subject in subjects:
                sub = _subject_task(bench, subject)
                means, errors = _item_stats(by_subject[(bench, subject)])
                results[sub] = _entry(bench, f" - {subject}", means, errors)
                n_shot[sub] = result.n_shot
                n_samples[sub] = {
                    "original": len(by_subject[(bench, subject)]),
                    "effective": len(by_subject[(bench, subject)]),
                }
                configs[sub] = {"task": sub, "num_fewshot": result.n_shot, "output_type": "multiple_choice"}
        else:
            n_samples[task] = {"original": formats.SPLIT_SIZES.get(bench, result.n), "effective": result.n}
            spec = BENCHMARKS.get(bench)
            configs[task] = {
                "task": task,
                "num_fewshot": result.n_shot,
                "output_type": spec.output_type if spec else "multiple_choice",
            }
    model = run.model
    finished = run.finished_at or run.created_at
    args = f"pretrained={model.repo_id}" + (f",revision={run.revision_sha}" if run.revision_sha else "")
    if run.dtype and run.dtype != "auto":
        args += f",dtype={run.dtype}"
    return {
        "results": results,
        "groups": groups,
        "group_subtasks": group_subtasks,
        "configs": configs,
        "versions": {task: 1.0 for task in results},
        "n-shot": n_shot,
        "n-samples": n_samples,
        "config": {
            "model": run.backend,
            "model_args": args,
            "batch_size": run.batch_size,
            "limit": run.limit,
        },
        "model_name": model.repo_id,
        "model_revision": run.revision_sha,
        "lm_eval_version": EXPORT_HARNESS_VERSION,
        "date": finished.timestamp() if finished else None,
        "ladder": {
            "run": run.pk,
            "suite": run.suite,
            "provenance": run.provenance,
            "engine_version": run.engine_version,
            "is_partial": run.is_partial,
        },
    }


def eval_run_export_tasks(run: EvalRun) -> list[str]:
    """The lm-eval task names the run's samples are split into (one samples file each)."""
    tasks = []
    subjects = ItemResult.objects.filter(run=run).order_by().values_list("benchmark", "subject").distinct()
    for bench, subject in sorted(set(subjects)):
        tasks.append(
            _subject_task(bench, subject) if bench in formats.LM_EVAL_GROUPS and subject else _lm_eval_task(bench)
        )
    return tasks


def _task_filter(task: str) -> tuple[str, str] | None:
    for bench, (_group, prefix) in formats.LM_EVAL_GROUPS.items():
        if task.startswith(prefix) and task[len(prefix) :] in BENCHMARKS[bench].subjects:
            return bench, task[len(prefix) :]
    bench = "ceval" if task == "ceval-valid" else task
    return (bench, "") if bench in BENCHMARKS else None


def eval_run_export_samples(run: EvalRun, task: str) -> Iterator[str]:
    """One lm-eval 0.4.13 samples line (JSON + newline) per stored item of `task`, in the run's order.

    Raises ValueError for a task the run has no items of.
    """
    found = _task_filter(task)
    if found is None:
        raise ValueError(f"unknown task {task!r}")
    bench, subject = found
    qs = ItemResult.objects.filter(run=run, benchmark=bench)
    if subject:
        qs = qs.filter(subject=subject)
    if not qs.exists():
        raise ValueError(f"the run has no items of {task!r}")
    spec = BENCHMARKS[bench]
    for doc_id, item in enumerate(qs.order_by("position").iterator(chunk_size=2000)):
        for line in _sample_lines(spec, item, doc_id):
            yield json.dumps(line, ensure_ascii=False) + "\n"


def _sample_lines(spec: Any, item: ItemResult, doc_id: int) -> list[dict[str, Any]]:
    metrics = item.metrics or {}
    line: dict[str, Any] = {"doc_id": doc_id, "doc": {"id": item.item_id}, "target": item.target}
    if spec.output_type == "generate_until":
        line.update(
            {
                "arguments": {"gen_args_0": {"arg_0": item.prompt, "arg_1": {"until": list(spec.generation_until)}}},
                "resps": [[item.generated]],
                "filtered_resps": [str(item.prediction) if item.prediction is not None else ""],
                "filter": "strict-match",
                "metrics": ["exact_match"],
                "exact_match": metrics.get("exact_match", 0.0),
            }
        )
        if "exact_match_flexible" in metrics:
            # lm-eval writes one line per filter; the importer merges them by doc_id.
            return [line, dict(line, filter="flexible-extract", exact_match=metrics["exact_match_flexible"])]
        return [line]
    if spec.multiple_inputs:
        args = {f"gen_args_{i}": {"arg_0": c, "arg_1": item.prompt} for i, c in enumerate(item.choices)}
    else:
        args = {f"gen_args_{i}": {"arg_0": item.prompt, "arg_1": " " + c} for i, c in enumerate(item.choices)}
    line.update(
        {
            "arguments": args,
            "resps": [[[repr(ll), "False"]] for ll in item.loglikelihoods],
            "filtered_resps": [[repr(ll), "False"] for ll in item.loglikelihoods],
            "filter": "none",
            "metrics": list(metrics),
            **metrics,
        }
    )
    return [line]
