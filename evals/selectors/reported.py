"""Reported scores on the board and the model page, and the claim check against our own numbers.

Reported scores (evals.models.ReportedScore) are numbers someone published; their settings differ from
source to source (shots, prompt, chain-of-thought, model version), so they are never averaged with or
ranked against measured or imported runs, and never averaged with each other:

* The reported board ranks models by ONE benchmark at a time. Each model shows one figure: the one at
  the benchmark's most common shot count among published figures when the model has one, else its
  latest; `shots=N` keeps only figures at N shots. Rank = 1 + the number of models with a higher value
  (no intervals: sources rarely publish one). Each row carries its shots, setting and source.
* Claim check: a reported figure is compared with a measured or imported result of the same model,
  benchmark, shot count and metric (the latest complete run of each provenance). The difference is
  reported minus ours; the claim is "contradicted" when the reported value lies outside our 95%
  interval (value +- 1.96 SE), "consistent" when inside.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from evals.models import BenchmarkResult, EvalRun, Provenance, ReportedScore
from registry.models import LanguageModel
from registry.selectors.models import model_filter, model_queryset

Z95 = 1.96
DEFAULT_BENCHMARK = "mmlu"
CLAIM_STATUSES = ("contradicted", "consistent", "checked")
# How sources name our primary metrics.
_METRIC_ALIASES = {"accuracy": "acc", "mc1": "acc", "mc2": "acc", "em": "exact_match", "exact match": "exact_match"}


class ReportedBoardError(ValueError):
    """A request the reported board cannot answer (unknown benchmark); the message says why."""


def _specs() -> dict[str, Any]:
    from evals.benchmarks import BENCHMARKS

    return BENCHMARKS


@dataclass
class ClaimCheck:
    """A reported figure against one of our results (same benchmark, shots and metric)."""

    provenance: str  # measured | imported
    run_id: int
    value: float
    ci95: tuple[float, float] | None
    n: int
    difference: float  # reported - ours, 0..1 scale
    status: str  # contradicted | consistent | no_interval


@dataclass
class ReportedRow:
    rank: int
    model: LanguageModel
    score: ReportedScore
    other_figures: int
    claim: ClaimCheck | None = None


@dataclass
class ReportedBoard:
    benchmark: str
    benchmark_name: str
    shots: int | None
    usual_shots: int | None
    rows: list[ReportedRow]
    benchmarks: list[dict[str, Any]]
    shot_choices: list[int]
    claim: str | None = None


def reported_benchmarks() -> list[dict[str, Any]]:
    """Our benchmarks that have reported figures, in the benchmark registry's order, with counts."""
    counts = Counter(ReportedScore.objects.filter(benchmark_known=True).order_by().values_list("benchmark", flat=True))
    specs = _specs()
    return [{"key": key, "name": spec.name, "figures": counts[key]} for key, spec in specs.items() if counts.get(key)]


def reported_scores_exist() -> bool:
    return ReportedScore.objects.filter(benchmark_known=True).exists()


def runs_exist() -> bool:
    """Whether any run exists (measured or imported, in any state): then the measured board is the default."""
    return EvalRun.objects.exists()


def _metric_matches(reported_metric: str, primary: str) -> bool:
    metric = reported_metric.strip().lower()
    if not metric:
        return True
    return _METRIC_ALIASES.get(metric, metric) == primary


def _our_results(model_pks: Iterable[int], benchmarks: Iterable[str]) -> dict[tuple[int, str, int, str], Any]:
    """The latest complete measured/imported result per (model, benchmark, n_shot, provenance): one query."""
    rows = (
        BenchmarkResult.objects.filter(
            run__model_id__in=list(model_pks),
            benchmark__in=list(benchmarks),
            run__status=EvalRun.Status.SUCCEEDED,
            run__is_partial=False,
        )
        # A run flagged as degenerate (evals/generative.py) is no evidence for or against a claim until accepted.
        .exclude(run__flagged=True, run__flag_accepted_at__isnull=True)
        .order_by("run__finished_at", "run_id")
        .values_list(
            "run__model_id",
            "benchmark",
            "n_shot",
            "run__provenance",
            "run_id",
            "value",
            "stderr",
            "n",
            "primary_metric",
        )
    )
    latest: dict[tuple[int, str, int, str], Any] = {}
    for model_pk, bench, n_shot, provenance, run_id, value, stderr, n, metric in rows:
        latest[(model_pk, bench, n_shot, provenance)] = (run_id, value, stderr, n, metric)
    return latest


def _checks(score: ReportedScore, ours: dict[tuple[int, str, int, str], Any]) -> list[ClaimCheck]:
    if not score.benchmark_known or score.n_shot is None:
        return []
    out = []
    for provenance in (Provenance.MEASURED, Provenance.IMPORTED):
        found = ours.get((score.model_id, score.benchmark, score.n_shot, str(provenance)))
        if found is None:
            continue
        run_id, value, stderr, n, metric = found
        if not _metric_matches(score.metric, metric):
            continue
        ci = (value - Z95 * stderr, value + Z95 * stderr) if stderr is not None else None
        if ci is None:
            status = "no_interval"
        else:
            status = "consistent" if ci[0] <= score.value <= ci[1] else "contradicted"
        out.append(ClaimCheck(str(provenance), run_id, value, ci, n, score.value - value, status))
    return out


def claim_check(score: ReportedScore, ours: dict[tuple[int, str, int, str], Any]) -> ClaimCheck | None:
    """The figure's check against our measured result, else our imported one; None when neither exists."""
    checks = _checks(score, ours)
    return checks[0] if checks else None


def reported_board(
    *,
    benchmark: str = DEFAULT_BENCHMARK,
    shots: int | None = None,
    filters: dict[str, Any] | None = None,
    claim: str | None = None,
) -> ReportedBoard:
    """The reported board of one benchmark (see the module docstring); raises ReportedBoardError.

    `filters` are the model filters of registry.selectors.models.model_filter; `claim` keeps rows whose
    figure was checked ("checked"), found "contradicted" or "consistent". Queries: reported scores,
    models (3), our results for the claim check, and the model filter when one is set.
    """
    specs = _specs()
    if benchmark not in specs:
        raise ReportedBoardError(f"Unknown benchmark {benchmark!r}; known benchmarks: {', '.join(specs)}.")
    if claim is not None and claim not in CLAIM_STATUSES:
        raise ReportedBoardError(f"Unknown claim {claim!r}; use one of {', '.join(CLAIM_STATUSES)}.")
    scores: QuerySet[ReportedScore] = ReportedScore.objects.filter(benchmark=benchmark, benchmark_known=True)
    if filters:
        scores = scores.filter(model__in=model_filter(LanguageModel.objects.all(), filters).values("pk"))
    every = list(scores.order_by("model_id", "-published", "id"))
    shot_counts = Counter(s.n_shot for s in every if s.n_shot is not None)
    usual = max(shot_counts.items(), key=lambda kv: (kv[1], -kv[0]))[0] if shot_counts else None
    by_model: dict[int, list[ReportedScore]] = defaultdict(list)
    for s in every:
        if shots is None or s.n_shot == shots:
            by_model[s.model_id].append(s)
    chosen: dict[int, tuple[ReportedScore, int]] = {}
    for pk, figures in by_model.items():
        # At the usual shot count first, then stated shots, then the latest published, then the higher value.
        best = max(
            figures,
            key=lambda s: (
                s.n_shot == usual,
                s.n_shot is not None,
                s.published.toordinal() if s.published else 0,
                s.value,
            ),
        )
        chosen[pk] = (best, len(figures) - 1)
    ours = _our_results(chosen, [benchmark])
    models = model_queryset().in_bulk(list(chosen))
    rows = []
    for pk, (score, others) in chosen.items():
        check = claim_check(score, ours)
        if claim == "checked" and check is None:
            continue
        if claim in ("contradicted", "consistent") and (check is None or check.status != claim):
            continue
        rows.append(ReportedRow(0, models[pk], score, others, check))
    rows.sort(key=lambda r: (-r.score.value, r.model.repo_id.lower()))
    values = sorted((r.score.value for r in rows), reverse=True)
    for row in rows:
        row.rank = 1 + sum(1 for v in values if v > row.score.value)
    return ReportedBoard(
        benchmark=benchmark,
        benchmark_name=specs[benchmark].name,
        shots=shots,
        usual_shots=usual,
        rows=rows,
        benchmarks=reported_benchmarks(),
        shot_choices=sorted(shot_counts),
        claim=claim,
    )


# --- the model page and the scores API ----------------------------------------------------------


@dataclass
class OurScore:
    provenance: str
    run_id: int
    value: float
    stderr: float | None
    ci95: tuple[float, float] | None
    n: int
    n_shot: int
    metric: str
    suite: str


@dataclass
class ReportedEntry:
    score: ReportedScore
    checks: list[ClaimCheck]


@dataclass
class BenchmarkScores:
    """Every score of one model on one benchmark: reported, imported and measured side by side."""

    benchmark: str
    name: str
    known: bool
    reported: list[ReportedEntry] = field(default_factory=list)
    imported: list[OurScore] = field(default_factory=list)
    measured: list[OurScore] = field(default_factory=list)

    @property
    def contradicted(self) -> bool:
        return any(c.status == "contradicted" for e in self.reported for c in e.checks)


def model_scores(*, model: LanguageModel) -> list[BenchmarkScores]:
    """Every score of the model, all provenances, per benchmark (ours first in registry order, then raw ids).

    Measured and imported: the latest complete (succeeded, not partial) run per benchmark and shot count
    of each provenance. Reported: every stored figure, each with its claim checks. Two queries.
    """
    specs = _specs()
    out: dict[str, BenchmarkScores] = {}

    def entry(key: str, known: bool) -> BenchmarkScores:
        if key not in out:
            out[key] = BenchmarkScores(key, getattr(specs.get(key), "name", key) if known else key, known)
        return out[key]

    rows = (
        BenchmarkResult.objects.filter(run__model=model, run__status=EvalRun.Status.SUCCEEDED, run__is_partial=False)
        .order_by("-run__finished_at", "-run_id")
        .values_list(
            "benchmark", "n_shot", "run__provenance", "run_id", "value", "stderr", "n", "primary_metric", "run__suite"
        )
    )
    seen: set[tuple[str, int, str]] = set()
    ours: dict[tuple[int, str, int, str], Any] = {}
    for bench, n_shot, provenance, run_id, value, stderr, n, metric, suite in rows:
        if (bench, n_shot, provenance) in seen:
            continue  # an older run of the same settings
        seen.add((bench, n_shot, provenance))
        ours[(model.pk, bench, n_shot, provenance)] = (run_id, value, stderr, n, metric)
        ci = (value - Z95 * stderr, value + Z95 * stderr) if stderr is not None else None
        score = OurScore(provenance, run_id, value, stderr, ci, n, n_shot, metric, suite)
        target = entry(bench, bench in specs)
        (target.imported if provenance == Provenance.IMPORTED else target.measured).append(score)
    for reported in ReportedScore.objects.filter(model=model).order_by("benchmark", "n_shot", "-published", "id"):
        entry(reported.benchmark, reported.benchmark_known).reported.append(
            ReportedEntry(reported, _checks(reported, ours))
        )
    order = {key: i for i, key in enumerate(specs)}
    return sorted(out.values(), key=lambda b: (not b.known, order.get(b.benchmark, 0), b.benchmark))


def reported_note() -> str:
    """The plain sentence that says what the reported board's numbers are (page and API)."""
    from django.utils.translation import gettext as _

    return _(
        "These are published numbers: what each model's makers or a third party reported, with the shots and "
        "source of each. Settings differ from source to source (shots, prompts, chain-of-thought, model "
        "version), so they are not averaged, and they are never ranked against the scores we measure; pick a "
        "shot count to compare like with like."
    )
