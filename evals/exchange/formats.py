"""Reading results files into our own dataclasses; no Django, no database.

Two formats:

* lm-evaluation-harness 0.4 `results_<date>.json` (keys `"<metric>,<filter>"`, `"<metric>_stderr,<filter>"`,
  `alias`, `n-shot`, `n-samples`, `configs`, `config`), optionally with its `samples_<task>_<date>.jsonl`
  files (per-item results). Earlier 0.4.x files lack `n-samples`, `higher_is_better`, `model_name`,
  `group_subtasks`: item counts then come from the samples, else from the limit and the split sizes.
* Open LLM Leaderboard v1 (`config_general`, `results` keyed `harness|<task>|<shots>`). MMLU is the
  unweighted mean of the 57 `hendrycksTest-<subject>` entries, as that leaderboard computed it.

Decisions: a task that is not one of our benchmarks is skipped with a note; a file with none of ours
is refused. An Open LLM Leaderboard file missing MMLU subjects keeps its other benchmarks and skips
MMLU with a note (a mean over fewer subjects is not the MMLU score). Values are kept exactly as the
file prints them (no recomputation), so an imported number equals what the harness printed.
Errors are `FormatError(file, field, message)`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from evals.benchmarks import BENCHMARKS

LM_EVAL = "lm_eval"
OPEN_LLM_V1 = "open_llm_v1"

# Full evaluation split sizes (lm-eval's splits), for files that give no item count.
SPLIT_SIZES = {
    "arc_easy": 2376,
    "arc_challenge": 1172,
    "hellaswag": 10042,
    "mmlu": 14042,
    "truthfulqa_mc1": 817,
    "truthfulqa_mc2": 817,
    "winogrande": 1267,
    "gsm8k": 1319,
    "ceval": 1346,
    "cmmlu": 11582,
}

# lm-eval task name -> our benchmark key, for single-task benchmarks.
LM_EVAL_TASKS = {
    "arc_easy": "arc_easy",
    "arc_challenge": "arc_challenge",
    "hellaswag": "hellaswag",
    "truthfulqa_mc1": "truthfulqa_mc1",
    "truthfulqa_mc2": "truthfulqa_mc2",
    "winogrande": "winogrande",
    "gsm8k": "gsm8k",
}
# Benchmarks made of subject subtasks: group name in lm-eval, subtask prefix.
LM_EVAL_GROUPS = {"mmlu": ("mmlu", "mmlu_"), "ceval": ("ceval-valid", "ceval-valid_"), "cmmlu": ("cmmlu", "cmmlu_")}
# lm-eval's MMLU category groups: aggregates of subjects, never benchmarks of their own.
MMLU_CATEGORIES = {"mmlu_humanities", "mmlu_stem", "mmlu_social_sciences", "mmlu_other"}
# (metric, filter) in lm-eval -> our metric name; filters other than these are ignored.
GSM8K_METRICS = {
    ("exact_match", "strict-match"): "exact_match",
    ("exact_match", "flexible-extract"): "exact_match_flexible",
}

OLL_TASK = re.compile(r"^harness\|(?P<task>[^|]+)\|(?P<shots>\d+)$")
OLL_SINGLE = {
    "arc:challenge": ("arc_challenge", {"acc": "acc", "acc_norm": "acc_norm"}),
    "hellaswag": ("hellaswag", {"acc": "acc", "acc_norm": "acc_norm"}),
    "winogrande": ("winogrande", {"acc": "acc"}),
    # The harness the leaderboard pinned called GSM8K's strict "#### N" match `acc`.
    "gsm8k": ("gsm8k", {"acc": "exact_match"}),
}
MMLU_SUBJECT_COUNT = 57


class FormatError(ValueError):
    """A results file we cannot read: names the file and the field (a JSON path) and says why."""

    def __init__(self, file: str, field: str, message: str) -> None:
        super().__init__(f"{file}: {field}: {message}" if field else f"{file}: {message}")
        self.file = file
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ImportedItem:
    """One per-item result from a samples file, in the shape of our ItemResult."""

    item_id: str
    position: int
    subject: str
    prompt: str
    choices: list[str]
    loglikelihoods: list[float]
    generated: str
    target: Any
    prediction: Any
    metrics: dict[str, float]
    correct: bool


@dataclass(frozen=True)
class ImportedBenchmark:
    """One benchmark's aggregate as the file prints it, plus its items when samples came with it."""

    benchmark: str
    metrics: dict[str, float]
    primary_metric: str
    value: float
    stderr: float | None
    n: int
    n_shot: int
    method: str
    tasks: tuple[str, ...]  # the file's task names it came from
    items: tuple[ImportedItem, ...] = ()
    subjects: tuple[str, ...] = ()  # subjects present, for subject benchmarks
    complete_subjects: bool = True


@dataclass(frozen=True)
class ImportedRun:
    """A whole results file: where it came from, how it was made, and its benchmarks."""

    format: str
    model_name: str  # as the file names it ("" when it names only a local path)
    model_args: str
    model_sha: str
    dtype: str
    harness_version: str
    evaluated_at: datetime | None
    limit: float | None
    benchmarks: tuple[ImportedBenchmark, ...]
    notes: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    def benchmark(self, key: str) -> ImportedBenchmark | None:
        return next((b for b in self.benchmarks if b.benchmark == key), None)


# ---------------------------------------------------------------------------------------------- entry


def results_load(content: bytes, *, name: str) -> dict[str, Any]:
    """The file's JSON object; raises FormatError for bytes that are not a JSON object."""
    try:
        data = json.loads(content.decode("utf-8"))
    except UnicodeDecodeError:
        raise FormatError(name, "", "not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise FormatError(name, f"line {exc.lineno} column {exc.colno}", f"not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise FormatError(name, "", f"expected a JSON object, got {type(data).__name__}")
    return data


def results_format(data: Mapping[str, Any], *, name: str) -> str:
    """`lm_eval` or `open_llm_v1`; raises FormatError when the file is neither."""
    results = data.get("results")
    if not isinstance(results, dict):
        raise FormatError(name, "results", "missing: not an lm-evaluation-harness or Open LLM Leaderboard file")
    if "config_general" in data or any(OLL_TASK.match(k) for k in results):
        return OPEN_LLM_V1
    return LM_EVAL


def results_parse(content: bytes, *, name: str, samples: Mapping[str, bytes] | None = None) -> ImportedRun:
    """Parse a results file (and the samples files beside it, keyed by task name).

    Raises FormatError naming the file and field for malformed input, or when no task is one of ours.
    """
    data = results_load(content, name=name)
    if results_format(data, name=name) == OPEN_LLM_V1:
        return _parse_oll(data, name=name)
    return _parse_lm_eval(data, name=name, samples=samples or {})


def samples_task(filename: str) -> str | None:
    """The task of an lm-eval samples file name (`samples_<task>_<date>.jsonl`), else None."""
    match = re.match(r"^samples_(?P<task>.+)_(?P<date>\d{4}-\d{2}-\d{2}T[\d\-.:]+)\.jsonl$", filename)
    return match.group("task") if match else None


def results_timestamp(filename: str) -> str | None:
    """The timestamp in `results_<timestamp>.json` (sortable as text), else None."""
    match = re.match(r"^results_(?P<date>\d{4}-\d{2}-\d{2}T[\d\-.:]+)\.json$", filename)
    return match.group("date") if match else None


# ---------------------------------------------------------------------------------------------- lm-eval


def _number(value: Any, name: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FormatError(name, where, f"expected a number, got {json.dumps(value)[:40]}")
    if not math.isfinite(value):
        raise FormatError(name, where, "not a finite number")
    return float(value)


def _stderr(value: Any) -> float | None:
    # lm-eval writes "N/A" where it could not compute one (a single item).
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _metrics_of(entry: Mapping[str, Any], benchmark: str, name: str, where: str) -> tuple[dict, dict]:
    """Our metric names -> value and stderr from one lm-eval results entry."""
    values: dict[str, float] = {}
    errors: dict[str, float | None] = {}
    for key, value in entry.items():
        if "," not in key:
            continue  # alias, sample_len, ...
        metric, _, filt = key.partition(",")
        is_stderr = metric.endswith("_stderr")
        base = metric.removesuffix("_stderr")
        if benchmark == "gsm8k":
            ours = GSM8K_METRICS.get((base, filt))
        else:
            ours = base if filt == "none" else None
        if ours is None:
            continue
        if is_stderr:
            errors[ours] = _stderr(value)
        else:
            values[ours] = _number(value, name, f"{where}.{key}")
    return values, errors


def _model_args(config: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    raw = config.get("model_args", "")
    if isinstance(raw, dict):
        parsed = {str(k): str(v) for k, v in raw.items()}
        return ",".join(f"{k}={v}" for k, v in parsed.items()), parsed
    text = str(raw or "")
    parsed = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if sep:
            parsed[key.strip()] = value.strip()
    return text, parsed


def _hub_like(value: str) -> bool:
    """True for an `org/name` repo id (not a local path)."""
    return bool(re.fullmatch(r"[A-Za-z0-9][\w.\-]*/[\w.\-]+", value)) and not value.startswith((".", "/"))


def _lm_eval_model(data: Mapping[str, Any], args: Mapping[str, str]) -> str:
    for candidate in (str(data.get("model_name") or ""), args.get("pretrained", ""), args.get("model", "")):
        if candidate and _hub_like(candidate):
            return candidate
    return ""


def _evaluated_at(data: Mapping[str, Any]) -> datetime | None:
    date = data.get("date")
    if isinstance(date, int | float) and not isinstance(date, bool) and date > 0:
        return datetime.fromtimestamp(float(date), tz=UTC)
    return None


def _dict_at(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    """data[key] when it is a JSON object, else an empty dict (absent, null or another type)."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _parse_lm_eval(data: Mapping[str, Any], *, name: str, samples: Mapping[str, bytes]) -> ImportedRun:
    results = data["results"]
    config = _dict_at(data, "config")
    configs = _dict_at(data, "configs")
    n_shot = _dict_at(data, "n-shot")
    n_samples = _dict_at(data, "n-samples")
    limit = config.get("limit")
    if limit is not None and not isinstance(limit, int | float):
        raise FormatError(name, "config.limit", "expected a number or null")
    model_args, args = _model_args(config)

    def shots_of(task: str) -> int:
        value = n_shot.get(task)
        if value is None:
            value = (configs.get(task) or {}).get("num_fewshot")
        try:
            return int(value or 0)
        except (TypeError, ValueError):
            raise FormatError(name, f"n-shot.{task}", "expected a whole number") from None

    def count_of(task: str, items: int | None) -> int:
        if items is not None:
            return items
        counts = n_samples.get(task)
        if isinstance(counts, dict) and isinstance(counts.get("effective"), int):
            return int(counts["effective"])
        return -1  # unknown: settled below from the limit and the split size

    benchmarks: list[ImportedBenchmark] = []
    notes: list[str] = []
    used: set[str] = set()
    for task, entry in results.items():
        if not isinstance(entry, dict):
            raise FormatError(name, f"results.{task}", "expected an object")
        key = LM_EVAL_TASKS.get(task)
        if key is None:
            continue
        used.add(task)
        values, errors = _metrics_of(entry, key, name, f"results.{task}")
        spec = BENCHMARKS[key]
        if spec.primary_metric not in values:
            raise FormatError(name, f"results.{task}", f"no '{spec.primary_metric}' metric for {key}")
        items = _items(samples[task], name=name, task=task, benchmark=key) if task in samples else ()
        n = count_of(task, len(items) if items else None)
        if n < 0:
            n = _guess_count(key, limit, 1)
        _check_items(items, values[spec.primary_metric], spec.primary_metric, name, task)
        benchmarks.append(
            ImportedBenchmark(
                benchmark=key,
                metrics=values,
                primary_metric=spec.primary_metric,
                value=values[spec.primary_metric],
                stderr=errors.get(spec.primary_metric),
                n=n,
                n_shot=shots_of(task),
                method="generative" if spec.output_type == "generate_until" else "loglikelihood",
                tasks=(task,),
                items=items,
            )
        )

    for key, (group, prefix) in LM_EVAL_GROUPS.items():
        spec = BENCHMARKS[key]
        subject_tasks = {
            t[len(prefix) :]: t
            for t in results
            if t.startswith(prefix) and t[len(prefix) :] in spec.subjects and t not in MMLU_CATEGORIES
        }
        if not subject_tasks and group not in results:
            continue
        used.update(subject_tasks.values())
        used.update(t for t in results if t == group or t in MMLU_CATEGORIES)
        items_list: list[ImportedItem] = []
        counts: dict[str, int] = {}
        for subject, task in sorted(subject_tasks.items()):
            sub_items = (
                _items(samples[task], name=name, task=task, benchmark=key, subject=subject) if task in samples else ()
            )
            items_list.extend(sub_items)
            counts[subject] = count_of(task, len(sub_items) if sub_items else None)
        group_entry = results.get(group)
        if isinstance(group_entry, dict) and spec.primary_metric + ",none" in group_entry:
            values, errors = _metrics_of(group_entry, key, name, f"results.{group}")
        elif subject_tasks:
            values, errors = _subject_mean(results, subject_tasks, counts, key, name)
        else:
            raise FormatError(name, f"results.{group}", f"no '{spec.primary_metric}' metric and no subjects")
        n = sum(counts.values()) if counts and all(c >= 0 for c in counts.values()) else -1
        if n < 0:
            group_counts = n_samples.get(group)
            n = (
                int(group_counts["effective"])
                if isinstance(group_counts, dict) and isinstance(group_counts.get("effective"), int)
                else _guess_count(key, limit, len(subject_tasks) or len(spec.subjects))
            )
        items = tuple(items_list) if subject_tasks and all(t in samples for t in subject_tasks.values()) else ()
        _check_items(items, values[spec.primary_metric], spec.primary_metric, name, group)
        complete = len(subject_tasks) == len(spec.subjects) or (not subject_tasks and group in results)
        shots = {shots_of(t) for t in subject_tasks.values()} or {shots_of(group)}
        if len(shots) > 1:
            raise FormatError(name, "n-shot", f"{key} subjects were run with different shot counts {sorted(shots)}")
        benchmarks.append(
            ImportedBenchmark(
                benchmark=key,
                metrics=values,
                primary_metric=spec.primary_metric,
                value=values[spec.primary_metric],
                stderr=errors.get(spec.primary_metric),
                n=n,
                n_shot=shots.pop(),
                method="loglikelihood",
                tasks=tuple(sorted(subject_tasks.values())) or (group,),
                items=items,
                subjects=tuple(sorted(subject_tasks)),
                complete_subjects=complete,
            )
        )
        if not complete:
            notes.append(f"{key}: {len(subject_tasks)} of {len(spec.subjects)} subjects (a subset: not ranked)")

    skipped = sorted(t for t in results if t not in used)
    if skipped:
        notes.append("skipped tasks that are not ours: " + ", ".join(skipped))
    if not benchmarks:
        raise FormatError(name, "results", "none of its tasks is one of our benchmarks (" + ", ".join(skipped) + ")")
    benchmarks.sort(key=lambda b: list(BENCHMARKS).index(b.benchmark))
    model = _lm_eval_model(data, args)
    return ImportedRun(
        format=LM_EVAL,
        model_name=model,
        model_args=model_args,
        model_sha=str(args.get("revision") or config.get("model_sha") or ""),
        dtype=str(args.get("dtype") or ""),
        harness_version=str(data.get("lm_eval_version") or ("0.4 (git " + str(data.get("git_hash")) + ")")),
        evaluated_at=_evaluated_at(data),
        limit=float(limit) if limit is not None else None,
        benchmarks=tuple(benchmarks),
        notes=tuple(notes),
        details={
            "tasks": sorted(used),
            "skipped": skipped,
            "n_shot": {b.benchmark: b.n_shot for b in benchmarks},
            "limit": limit,
            "model_source": data.get("model_source") or config.get("model", ""),
            "named_model": str(data.get("model_name") or args.get("pretrained") or ""),
        },
    )


def _guess_count(key: str, limit: float | None, subtasks: int) -> int:
    """Items of a benchmark when the file does not say: lm-eval applies --limit per (sub)task."""
    full = SPLIT_SIZES[key]
    if limit is None:
        return full
    if limit < 1:
        return int(math.ceil(full * limit))
    return min(full, int(limit) * subtasks)


def _subject_mean(
    results: Mapping[str, Any], subject_tasks: Mapping[str, str], counts: Mapping[str, int], key: str, name: str
) -> tuple[dict[str, float], dict[str, float | None]]:
    """A subject benchmark without its group entry: lm-eval's group aggregate (mean weighted by the items
    of each subject, pooled standard error)."""
    per: dict[str, list[tuple[float, float | None, int]]] = {}
    for subject, task in subject_tasks.items():
        values, errors = _metrics_of(results[task], key, name, f"results.{task}")
        size = counts.get(subject, -1)
        if size < 1:
            size = 1  # unknown sizes: an unweighted mean
        for metric, value in values.items():
            per.setdefault(metric, []).append((value, errors.get(metric), size))
    out_values: dict[str, float] = {}
    out_errors: dict[str, float | None] = {}
    for metric, rows in per.items():
        if len(rows) != len(subject_tasks):
            continue
        total = sum(size for _v, _e, size in rows)
        out_values[metric] = sum(v * size for v, _e, size in rows) / total
        known = [(e, size) for _v, e, size in rows if e is not None]
        if len(known) == len(rows) and total > len(rows):
            pooled = sum((size - 1) * e * e * size for e, size in known) / (total - len(rows))
            out_errors[metric] = math.sqrt(pooled / total)
        else:
            out_errors[metric] = None
    return out_values, out_errors


def _check_items(items: tuple[ImportedItem, ...], value: float, metric: str, name: str, task: str) -> None:
    """Samples must be the items behind the printed score (a samples file of another run is refused)."""
    if not items:
        return
    mean = math.fsum(float(i.metrics.get(metric, 0.0)) for i in items) / len(items)
    if abs(mean - value) > 1e-9:
        raise FormatError(
            name, f"samples_{task}", f"the items give {metric}={mean:.6f}, the results say {value:.6f}: not this run's"
        )


# ---------------------------------------------------------------------------------------------- samples


def _items(content: bytes, *, name: str, task: str, benchmark: str, subject: str = "") -> tuple[ImportedItem, ...]:
    """Per-item results from an lm-eval samples file (one JSON object per line; GSM8K has one line per
    filter and document, merged here)."""
    where = f"samples_{task}"
    by_doc: dict[int, dict[str, Any]] = {}
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(name, where, "not UTF-8 text") from None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FormatError(name, f"{where} line {lineno}", f"not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("doc_id"), int):
            raise FormatError(name, f"{where} line {lineno}", "expected an object with an integer doc_id")
        doc_id = row["doc_id"]
        current = by_doc.setdefault(doc_id, {"row": row, "filters": {}})
        current["filters"][str(row.get("filter", "none"))] = row
    spec = BENCHMARKS[benchmark]
    items = []
    for position, doc_id in enumerate(sorted(by_doc)):
        entry = by_doc[doc_id]
        row = entry["row"]
        doc = _dict_at(row, "doc")
        metrics: dict[str, float] = {}
        for filt, frow in entry["filters"].items():
            for metric in frow.get("metrics") or []:
                value = frow.get(metric)
                if not isinstance(value, int | float) or isinstance(value, bool):
                    continue
                ours = (
                    GSM8K_METRICS.get((metric, filt)) if benchmark == "gsm8k" else (metric if filt == "none" else None)
                )
                if ours:
                    metrics[ours] = float(value)
        if spec.primary_metric not in metrics:
            raise FormatError(name, f"{where} doc_id {doc_id}", f"no '{spec.primary_metric}' value")
        args = _arguments(row.get("arguments"))
        lls = [_loglikelihood(r) for r in row.get("filtered_resps") or row.get("resps") or []]
        generated = ""
        if spec.output_type == "generate_until":
            strict = entry["filters"].get("strict-match", row)
            resp = strict.get("resps") or [[""]]
            generated = str(resp[0][0] if isinstance(resp[0], list) else resp[0])
            lls = []
        choices = [str(a[1]).removeprefix(" ") for a in args] if spec.output_type == "multiple_choice" else []
        prompt = str(args[0][0]) if args else ""
        if spec.multiple_inputs and args:  # Winogrande: the contexts differ, the continuation is shared
            choices = [str(a[0]) for a in args]
            prompt = str(args[0][1])
        target = row.get("target")
        prediction: Any = None
        if lls and all(ll is not None for ll in lls):
            prediction = max(range(len(lls)), key=lambda i: (lls[i], -i))
        elif spec.output_type == "generate_until":
            filtered = entry["filters"].get("strict-match", row).get("filtered_resps") or [""]
            prediction = filtered[0] if not isinstance(filtered[0], list) else filtered[0][0]
        item_id = str(
            doc.get("id") or (f"{subject}/{spec.eval_split}/{doc_id}" if subject else f"{spec.eval_split}/{doc_id}")
        )
        items.append(
            ImportedItem(
                item_id=item_id,
                position=position,
                subject=subject,
                prompt=prompt,
                choices=choices,
                loglikelihoods=[ll for ll in lls if ll is not None],
                generated=generated,
                target=target,
                prediction=prediction,
                metrics=metrics,
                correct=metrics[spec.primary_metric] == 1.0,
            )
        )
    return tuple(items)


def _arguments(raw: Any) -> list[tuple[Any, Any]]:
    """Request arguments: 0.4.13 writes {"gen_args_0": {"arg_0": ctx, "arg_1": cont}}, earlier 0.4 a list."""
    if isinstance(raw, dict):
        out = []
        for key in sorted(raw, key=lambda k: int(re.sub(r"\D", "", k) or 0)):
            value = raw[key]
            if isinstance(value, dict):
                out.append((value.get("arg_0", ""), value.get("arg_1", "")))
        return out
    if isinstance(raw, list):
        return [(a[0], a[1] if len(a) > 1 else "") for a in raw if isinstance(a, list) and a]
    return []


def _loglikelihood(resp: Any) -> float | None:
    """A loglikelihood response: [ll, is_greedy] (numbers or, in 0.4.13, strings), possibly nested once."""
    if isinstance(resp, list) and resp and isinstance(resp[0], list):
        resp = resp[0]
    if isinstance(resp, list) and resp:
        try:
            return float(resp[0])
        except (TypeError, ValueError):
            return None
    return None


# ---------------------------------------------------------------------------------------------- Open LLM v1


def _parse_oll(data: Mapping[str, Any], *, name: str) -> ImportedRun:
    results = data["results"]
    general = _dict_at(data, "config_general")
    benchmarks: list[ImportedBenchmark] = []
    notes: list[str] = []
    skipped: list[str] = []
    mmlu: dict[str, tuple[float, float | None]] = {}
    mmlu_shots: set[int] = set()
    for task_key, entry in results.items():
        if task_key == "all":
            continue  # the leaderboard's own average, recomputed by us
        match = OLL_TASK.match(task_key)
        if not match:
            skipped.append(task_key)
            continue
        if not isinstance(entry, dict):
            raise FormatError(name, f"results.{task_key}", "expected an object")
        task, shots = match.group("task"), int(match.group("shots"))
        where = f"results.{task_key}"
        if task.startswith("hendrycksTest-"):
            subject = task.removeprefix("hendrycksTest-")
            if subject not in BENCHMARKS["mmlu"].subjects:
                skipped.append(task_key)
                continue
            mmlu[subject] = (_number(entry.get("acc"), name, f"{where}.acc"), _stderr(entry.get("acc_stderr")))
            mmlu_shots.add(shots)
            continue
        if task == "truthfulqa:mc":
            for key, metric in (("truthfulqa_mc1", "mc1"), ("truthfulqa_mc2", "mc2")):
                raw = entry.get(metric)
                if isinstance(raw, float) and math.isnan(raw):
                    notes.append(f"{key}: the file's {metric} is NaN, skipped")
                    continue
                value = _number(raw, name, f"{where}.{metric}")
                benchmarks.append(
                    _oll_benchmark(key, {"acc": value}, _stderr(entry.get(f"{metric}_stderr")), shots, task_key)
                )
            continue
        if task not in OLL_SINGLE:
            skipped.append(task_key)
            continue
        key, names = OLL_SINGLE[task]
        values = {ours: _number(entry.get(theirs), name, f"{where}.{theirs}") for theirs, ours in names.items()}
        primary = BENCHMARKS[key].primary_metric
        theirs_primary = next(t for t, o in names.items() if o == primary)
        benchmarks.append(_oll_benchmark(key, values, _stderr(entry.get(f"{theirs_primary}_stderr")), shots, task_key))
    if mmlu:
        if len(mmlu) == MMLU_SUBJECT_COUNT and len(mmlu_shots) == 1:
            value = math.fsum(v for v, _e in mmlu.values()) / len(mmlu)
            errors = [e for _v, e in mmlu.values()]
            stderr = (
                math.sqrt(math.fsum(e * e for e in errors)) / len(errors)  # type: ignore[operator]
                if all(e is not None for e in errors)
                else None
            )
            benchmarks.append(
                ImportedBenchmark(
                    benchmark="mmlu",
                    metrics={"acc": value},
                    primary_metric="acc",
                    value=value,
                    stderr=stderr,
                    n=SPLIT_SIZES["mmlu"],
                    n_shot=mmlu_shots.pop(),
                    method="loglikelihood",
                    tasks=tuple(f"harness|hendrycksTest-{s}|5" for s in sorted(mmlu)),
                    subjects=tuple(sorted(mmlu)),
                )
            )
        else:
            missing = sorted(set(BENCHMARKS["mmlu"].subjects) - set(mmlu))
            notes.append(
                f"mmlu: {len(mmlu)} of {MMLU_SUBJECT_COUNT} subjects (missing: {', '.join(missing[:5])}"
                f"{' …' if len(missing) > 5 else ''}): MMLU not imported"
            )
    if skipped:
        notes.append("skipped tasks that are not ours: " + ", ".join(sorted(skipped)))
    if not benchmarks:
        raise FormatError(name, "results", "none of its tasks is one of our benchmarks")
    model = str(general.get("model_name") or "")
    if not _hub_like(model):
        raise FormatError(name, "config_general.model_name", f"expected a Hub repo id (org/name), got {model!r}")
    benchmarks.sort(key=lambda b: list(BENCHMARKS).index(b.benchmark))
    dtype = str(general.get("model_dtype") or "").removeprefix("torch.")
    return ImportedRun(
        format=OPEN_LLM_V1,
        model_name=model,
        model_args="",
        model_sha=str(general.get("model_sha") or ""),
        dtype=dtype,
        harness_version="lighteval " + str(general.get("lighteval_sha") or "?"),
        evaluated_at=None,
        limit=float(general["max_samples"]) if isinstance(general.get("max_samples"), int | float) else None,
        benchmarks=tuple(benchmarks),
        notes=tuple(notes),
        details={
            "tasks": sorted(t for t in results if t != "all" and t not in skipped),
            "skipped": sorted(skipped),
            "n_shot": {b.benchmark: b.n_shot for b in benchmarks},
            "limit": general.get("max_samples"),
        },
    )


def _oll_benchmark(
    key: str, values: dict[str, float], stderr: float | None, shots: int, task: str
) -> ImportedBenchmark:
    primary = BENCHMARKS[key].primary_metric
    return ImportedBenchmark(
        benchmark=key,
        metrics=values,
        primary_metric=primary,
        value=values[primary],
        stderr=stderr,
        n=SPLIT_SIZES[key],
        n_shot=shots,
        method="generative" if BENCHMARKS[key].output_type == "generate_until" else "loglikelihood",
        tasks=(task,),
    )
