"""Input validation and output shapes of the leaderboard, benchmark and suite endpoints.

`LeaderboardQuerySerializer` validates the query string for the API, the CSV export and the web page
(one definition of what a valid leaderboard request is). The output is built as plain dicts by
`leaderboard_row_data` (fast for 500 rows) and described to OpenAPI by the *Out serializers below.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from evals.benchmarks import BENCHMARKS
from evals.selectors.leaderboard import (
    BOARDS,
    DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
    SCORE_MODES,
    LeaderboardRow,
    RunInfo,
    Score,
    board_benchmarks,
    suites,
)
from evals.selectors.reported import CLAIM_STATUSES, ClaimCheck, ReportedRow
from registry.models import LanguageModel
from registry.selectors.models import SIZE_BUCKETS

PROVENANCE_CHOICES = ["all", "measured", "imported", "reported"]

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMbBtT]?)\s*$")
_SCALE = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "t": 10**12}


def parse_parameters(value: str) -> int:
    """ "7000000000", "7B", "1.5b", "500M" -> an int; raises ValueError."""
    match = _SIZE_RE.match(str(value))
    if not match:
        raise ValueError(value)
    number, suffix = match.groups()
    return int(float(number) * _SCALE[suffix.lower()])


@extend_schema_field(
    {
        "type": "string",
        "pattern": _SIZE_RE.pattern,
        "description": "A parameter count: 7000000000, 7B, 1.5b or 500M.",
        "example": "7B",
    }
)
class ParametersField(serializers.Field):
    default_error_messages = {"invalid": _("Enter a parameter count such as 7000000000, 7B or 500M.")}

    def to_internal_value(self, data: Any) -> int:
        try:
            value = parse_parameters(data)
        except (ValueError, KeyError):
            self.fail("invalid")
        if value <= 0:
            self.fail("invalid")
        return value

    def to_representation(self, value: int) -> int:
        return value


class LeaderboardQuerySerializer(serializers.Serializer):
    suite = serializers.CharField(default="quick", help_text="suite key, see /api/v1/suites/")
    board = serializers.ChoiceField(choices=BOARDS, default="overall", help_text="overall | en | zh")
    score = serializers.ChoiceField(
        choices=SCORE_MODES, default="raw", help_text="rank and sort by the raw or the normalized average"
    )
    ordering = serializers.CharField(
        default="rank",
        help_text="rank, average, average_normalized, name, parameters or a benchmark key; prefix - to reverse",
    )
    search = serializers.CharField(required=False, allow_blank=True, max_length=200)
    weights = serializers.ChoiceField(choices=["open", "closed"], required=False, allow_blank=True)
    language = serializers.RegexField(r"^[A-Za-z]{2,3}$", required=False, allow_blank=True)
    license = serializers.CharField(required=False, allow_blank=True, max_length=100)
    commercial = serializers.BooleanField(required=False, allow_null=True, default=None)
    organization = serializers.CharField(required=False, allow_blank=True, max_length=100)
    min_params = ParametersField(required=False)
    max_params = ParametersField(required=False)
    size = serializers.ChoiceField(choices=list(SIZE_BUCKETS), required=False, allow_blank=True)
    modality = serializers.ChoiceField(choices=LanguageModel.Modality.values, required=False, allow_blank=True)
    base = serializers.CharField(required=False, allow_blank=True, max_length=200)
    provenance = serializers.ChoiceField(
        choices=PROVENANCE_CHOICES,
        required=False,
        allow_blank=True,
        help_text="all (default: measured and imported runs ranked together, imported rows marked) | measured | "
        "imported | reported (published figures, one benchmark at a time: see `benchmark`, `shots`, `claim`)",
    )
    benchmark = serializers.ChoiceField(
        choices=list(BENCHMARKS), required=False, allow_blank=True, help_text="the reported board's benchmark (mmlu)"
    )
    shots = serializers.IntegerField(
        min_value=0, max_value=1000, required=False, help_text="reported board: only figures at this n-shot"
    )
    claim = serializers.ChoiceField(
        choices=CLAIM_STATUSES,
        required=False,
        allow_blank=True,
        help_text="reported board: figures checked against our measured/imported result (checked), or found "
        "outside (contradicted) or inside (consistent) its 95% interval",
    )
    page = serializers.IntegerField(min_value=1, default=1)
    per_page = serializers.IntegerField(min_value=1, max_value=MAX_PER_PAGE, default=DEFAULT_PER_PAGE)

    def to_internal_value(self, data: Any) -> Any:
        # Empty form fields (a GET form submits them all) mean "no filter", not "invalid".
        if hasattr(data, "lists"):
            data = {key: values[-1] for key, values in data.lists()}
        data = {key: value for key, value in data.items() if value not in ("", None)}
        return super().to_internal_value(data)

    def validate_suite(self, value: str) -> str:
        known = suites()
        if value not in known:
            raise serializers.ValidationError(
                _("Unknown suite %(suite)r; known suites: %(known)s.")
                % {"suite": value, "known": ", ".join(sorted(known))}
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        keys = board_benchmarks(suite=attrs["suite"], board=attrs["board"])
        if not keys:
            raise serializers.ValidationError(
                {"board": f"Suite {attrs['suite']!r} has no benchmarks on the {attrs['board']!r} board."}
            )
        name = attrs["ordering"].lstrip("-")
        allowed = ["rank", "average", "average_normalized", "name", "parameters", *keys]
        if name not in allowed:
            raise serializers.ValidationError(
                {"ordering": f"Unknown ordering {attrs['ordering']!r}; use one of {', '.join(allowed)}."}
            )
        low, high = attrs.get("min_params"), attrs.get("max_params")
        if low and high and low > high:
            raise serializers.ValidationError({"min_params": "min_params is larger than max_params."})
        return attrs


def model_filters(params: dict[str, Any]) -> dict[str, Any]:
    """The validated params that registry.selectors.models.model_filter understands."""
    keys = ("search", "weights", "language", "license", "organization", "min_params", "max_params", "size")
    out = {key: params[key] for key in (*keys, "modality", "base") if params.get(key) not in (None, "")}
    if params.get("commercial"):
        out["commercial"] = "true"
    return out


# --- output ----------------------------------------------------------------------------------


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def _pair(pair: tuple[float, float] | None, digits: int = 6) -> list[float] | None:
    return None if pair is None else [round(pair[0], digits), round(pair[1], digits)]


def model_data(model: LanguageModel) -> dict[str, Any]:
    return {
        "id": model.repo_id,
        "name": model.name,
        "organization": model.organization.slug,
        "weights": model.weights,
        "parameters": model.parameters,
        "parameters_display": model.parameters_display,
        "license": model.license.key if model.license else None,
        "commercial_use": model.license.commercial_use if model.license else None,
        "languages": [language.code for language in model.languages.all()],
        "modality": model.modality,
        "base_model": model.base_model.repo_id if model.base_model else (model.base_model_ref or None),
    }


def score_data(score: Score) -> dict[str, Any]:
    return {
        "value": _round(score.value),
        "normalized": _round(score.normalized, 4),
        "ci95": _pair(score.ci95),
        "ci95_normalized": _pair(score.ci95_normalized, 4),
        "stderr": _round(score.stderr),
        "n": score.n,
        "metric": score.metric,
        "random_baseline": score.random_baseline,
    }


def run_data(run: RunInfo) -> dict[str, Any]:
    return {
        "id": run.id,
        "sha": run.sha,
        "engine_version": run.engine_version,
        "suite": run.suite,
        "settings": run.settings,
        "backend": run.backend,
        "dtype": run.dtype,
        "is_partial": run.is_partial,
        "limit": run.limit,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "url": f"/api/v1/evaluations/{run.id}/",
        "provenance": run.provenance,
    }


def leaderboard_row_data(row: LeaderboardRow) -> dict[str, Any]:
    return {
        "rank": row.rank,
        "rank_worst": row.rank_worst,
        "status": row.status,
        "model": model_data(row.model),
        "average": _round(row.average),
        "average_normalized": _round(row.average_normalized, 4),
        "ci95": _pair(row.ci95),
        "ci95_normalized": _pair(row.ci95_normalized, 4),
        "stderr": _round(row.stderr),
        "on_frontier": row.on_frontier,
        "scores": {key: score_data(score) for key, score in row.scores.items()},
        "run": run_data(row.run),
    }


class ModelOut(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    organization = serializers.CharField()
    weights = serializers.ChoiceField(choices=["open", "closed"])
    parameters = serializers.IntegerField(allow_null=True)
    parameters_display = serializers.CharField(help_text='"7B", "135M"')
    license = serializers.CharField(allow_null=True)
    commercial_use = serializers.CharField(allow_null=True, help_text="yes | restricted | no | unknown")
    languages = serializers.ListField(child=serializers.CharField(), help_text="ISO 639-1 codes")
    modality = serializers.CharField()
    base_model = serializers.CharField(allow_null=True)


class ScoreOut(serializers.Serializer):
    value = serializers.FloatField(help_text="the primary metric, 0..1 (lm-eval's scale)")
    normalized = serializers.FloatField(help_text="max(0, (value - random_baseline) / (1 - random_baseline)) * 100")
    ci95 = serializers.ListField(child=serializers.FloatField(), allow_null=True, help_text="value +- 1.96 stderr")
    ci95_normalized = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    stderr = serializers.FloatField(allow_null=True, help_text="sample std of the per-item metric / sqrt(n)")
    n = serializers.IntegerField(help_text="items scored")
    metric = serializers.CharField(help_text="acc, acc_norm, mc2, exact_match ...")
    random_baseline = serializers.FloatField()


class RunOut(serializers.Serializer):
    id = serializers.IntegerField()
    sha = serializers.CharField(help_text="the model revision that was evaluated")
    engine_version = serializers.CharField()
    suite = serializers.CharField()
    settings = serializers.DictField(help_text="n-shot per benchmark, seed, sample size ...")
    backend = serializers.CharField()
    dtype = serializers.CharField()
    is_partial = serializers.BooleanField()
    limit = serializers.IntegerField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    url = serializers.CharField()
    provenance = serializers.ChoiceField(
        choices=["measured", "imported"], help_text="measured by our workers, or imported from lm-eval output"
    )


class LeaderboardRowOut(serializers.Serializer):
    rank = serializers.IntegerField(
        allow_null=True, help_text="1 + models whose 95% interval lies entirely above; null when not ranked"
    )
    rank_worst = serializers.IntegerField(allow_null=True, help_text="models whose interval is not entirely below")
    status = serializers.CharField(help_text="ranked | partial | incomplete | not_comparable")
    model = ModelOut()
    average = serializers.FloatField(allow_null=True, help_text="mean of the primary scores, 0..1")
    average_normalized = serializers.FloatField(allow_null=True, help_text="mean of the normalized scores, 0..100")
    ci95 = serializers.ListField(
        child=serializers.FloatField(), allow_null=True, help_text="average +- 1.96 * sqrt(sum SE_b^2) / k"
    )
    ci95_normalized = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    stderr = serializers.FloatField(allow_null=True)
    on_frontier = serializers.BooleanField(help_text="on the score/size Pareto frontier")
    scores = serializers.DictField(child=ScoreOut(), help_text="benchmark key -> score")
    run = RunOut(help_text="provenance of every score in the row")


class LeaderboardOut(serializers.Serializer):
    provenance = serializers.CharField(help_text="all (measured and imported together) | measured | imported")
    suite = serializers.CharField()
    board = serializers.CharField()
    score = serializers.CharField()
    ordering = serializers.CharField()
    benchmarks = serializers.ListField(child=serializers.CharField())
    count = serializers.IntegerField(help_text="ranked rows after filters")
    page = serializers.IntegerField()
    per_page = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = LeaderboardRowOut(many=True)
    not_ranked_count = serializers.IntegerField()
    not_ranked = LeaderboardRowOut(many=True, help_text="partial, incomplete or non-comparable runs (first 100)")


def claim_data(check: ClaimCheck | None) -> dict[str, Any] | None:
    if check is None:
        return None
    return {
        "status": check.status,
        "provenance": check.provenance,
        "run_id": check.run_id,
        "value": _round(check.value),
        "ci95": _pair(check.ci95),
        "n": check.n,
        "difference": _round(check.difference),
    }


def reported_score_data(score: Any) -> dict[str, Any]:
    """One published figure with its source (the board's cells and the model scores API)."""
    return {
        "benchmark": score.benchmark,
        "benchmark_known": score.benchmark_known,
        "value": _round(score.value),
        "published_value": score.published_value,
        "metric": score.metric,
        "n_shot": score.n_shot,
        "setting": score.setting,
        "variant": score.variant,
        "source": {"kind": score.source_kind, "name": score.source_name, "url": score.source_url},
        "reported_by": score.reported_by,
        "verified": score.verified,
        "published": score.published.isoformat() if score.published else None,
    }


def reported_row_data(row: ReportedRow) -> dict[str, Any]:
    return {
        "rank": row.rank,
        "model": model_data(row.model),
        "score": reported_score_data(row.score),
        "other_figures": row.other_figures,
        "claim": claim_data(row.claim),
    }


class ClaimOut(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["contradicted", "consistent", "no_interval"],
        help_text="the reported value lies outside (contradicted) or inside (consistent) our 95% interval",
    )
    provenance = serializers.ChoiceField(choices=["measured", "imported"])
    run_id = serializers.IntegerField()
    value = serializers.FloatField(help_text="our score, 0..1")
    ci95 = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    n = serializers.IntegerField()
    difference = serializers.FloatField(help_text="reported - ours, 0..1")


class SourceOut(serializers.Serializer):
    kind = serializers.CharField(help_text="paper | tech_report | model_card | leaderboard | hub_model_index | ...")
    name = serializers.CharField()
    url = serializers.CharField()


class ReportedScoreOut(serializers.Serializer):
    benchmark = serializers.CharField(help_text="our benchmark key, or the raw dataset id when not one of ours")
    benchmark_known = serializers.BooleanField()
    value = serializers.FloatField(help_text="0..1")
    published_value = serializers.FloatField(help_text="as published (often 0..100)")
    metric = serializers.CharField()
    n_shot = serializers.IntegerField(allow_null=True, help_text="null: the source does not say")
    setting = serializers.CharField(help_text="what makes the figure (in)comparable")
    variant = serializers.CharField()
    source = SourceOut()
    reported_by = serializers.ChoiceField(choices=["developer", "third_party", "community"])
    verified = serializers.BooleanField(help_text="the Hub verified it (verifyToken)")
    published = serializers.DateField(allow_null=True)


class ReportedRowOut(serializers.Serializer):
    rank = serializers.IntegerField(help_text="1 + models with a higher published value on this benchmark")
    model = ModelOut()
    score = ReportedScoreOut()
    other_figures = serializers.IntegerField(help_text="the model's other figures on this benchmark (model page)")
    claim = ClaimOut(allow_null=True)


class ReportedBenchmarkOut(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    figures = serializers.IntegerField()


class ReportedLeaderboardOut(serializers.Serializer):
    provenance = serializers.CharField(help_text="reported")
    benchmark = serializers.CharField()
    benchmark_name = serializers.CharField()
    shots = serializers.IntegerField(allow_null=True)
    usual_shots = serializers.IntegerField(allow_null=True, help_text="the most common n-shot among the figures")
    claim = serializers.CharField(allow_null=True)
    note = serializers.CharField(help_text="what the numbers are")
    benchmarks = ReportedBenchmarkOut(many=True)
    count = serializers.IntegerField()
    results = ReportedRowOut(many=True)


class BenchmarkOut(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    family = serializers.CharField()
    language = serializers.CharField()
    license = serializers.CharField()
    random_baseline = serializers.FloatField()
    random_baseline_note = serializers.CharField()
    primary_metric = serializers.CharField()
    metrics = serializers.ListField(child=serializers.CharField())
    output_type = serializers.CharField()
    hf_dataset = serializers.CharField()
    hf_config = serializers.CharField(allow_null=True)
    hf_split = serializers.CharField()
    hf_revision = serializers.CharField()
    fewshot_split = serializers.CharField(allow_null=True)
    lm_eval_task = serializers.CharField()
    description = serializers.CharField()
    prompt_format = serializers.CharField()
    subjects = serializers.ListField(child=serializers.CharField())
    item_count = serializers.IntegerField(allow_null=True, help_text="items in the evaluation split")
    suites = serializers.DictField(child=serializers.IntegerField(), help_text="suite -> n-shot")


class SuiteOut(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    benchmarks = serializers.ListField(child=serializers.CharField())
    n_shot = serializers.DictField(child=serializers.IntegerField())
    sample_size = serializers.IntegerField(allow_null=True, help_text="items per benchmark (null: all)")
    seed = serializers.IntegerField()
    boards = serializers.ListField(child=serializers.CharField())
