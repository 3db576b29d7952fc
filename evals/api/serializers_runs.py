"""Serializers of the evaluations API: submission input, run detail (with provenance), per-item results."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from evals.models import EvalRun, ItemResult
from evals.selectors.revisions import run_on_ranked_revision, run_revision_note
from evals.selectors.runs import FAILURE_MESSAGES, RunView, run_view
from evals.services import DTYPES, MAX_LIMIT


class EvaluationCreateSerializer(serializers.Serializer):
    model = serializers.CharField(max_length=200, help_text="Hub repo id (org/name) or a registry id")
    revision = serializers.CharField(max_length=200, required=False, default="main")
    suite = serializers.CharField(max_length=40, required=False, default="quick")
    backend = serializers.ChoiceField(choices=["transformers", "openai"], required=False, default="transformers")
    dtype = serializers.ChoiceField(choices=list(DTYPES), required=False, default="auto")
    benchmarks = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, allow_empty=True, max_length=20
    )
    limit = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_LIMIT)


class EvaluationFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=EvalRun.Status.choices, required=False)
    model = serializers.CharField(max_length=200, required=False)
    suite = serializers.CharField(max_length=40, required=False)
    backend = serializers.CharField(max_length=20, required=False)
    partial = serializers.BooleanField(required=False, allow_null=True, default=None)  # type: ignore[assignment]  # the API's field name shadows a DRF attribute


class ItemFilterSerializer(serializers.Serializer):
    benchmark = serializers.CharField(
        max_length=40, required=False, allow_blank=True, help_text="Only this benchmark's items (a benchmark key)."
    )


class ProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.IntegerField()


class BenchmarkResultSerializer(serializers.Serializer):
    metrics = serializers.DictField(child=serializers.FloatField())
    primary_metric = serializers.CharField()
    value = serializers.FloatField()
    stderr = serializers.FloatField(allow_null=True)
    n = serializers.IntegerField()
    method = serializers.CharField(help_text="loglikelihood | generative")
    variant = serializers.CharField(
        help_text="The lm-eval task or chat variant the benchmark was asked in (e.g. arc_easy, arc_easy_chat, "
        "gsm8k_cot_llama); empty for results stored before variants were recorded."
    )
    n_shot = serializers.IntegerField()
    unparsed = serializers.IntegerField(help_text="Items whose answer could not be read: scored wrong.")
    answer_stats = serializers.DictField(
        child=serializers.IntegerField(), help_text="How often each answer (option letter) was given, parsed ones."
    )
    prompt_tokens = serializers.IntegerField(allow_null=True, help_text="As the endpoint reported them; null if not.")
    completion_tokens = serializers.IntegerField(allow_null=True)
    ci95 = serializers.ListField(
        child=serializers.FloatField(),
        allow_null=True,
        help_text="95% interval [low, high] of value (value ± 1.96 stderr, within 0..1); null without stderr",
    )


class FlagSerializer(serializers.Serializer):
    flagged = serializers.BooleanField(help_text="The run's answers were unparsed or collapsed onto one option.")
    accepted = serializers.BooleanField(help_text="Staff accepted the flagged scores: the run ranks.")
    accepted_at = serializers.DateTimeField(allow_null=True)
    reasons = serializers.ListField(
        child=serializers.DictField(), help_text="[{benchmark, rule (unparsed | collapsed), share, n, answer?}]"
    )


class TokensSerializer(serializers.Serializer):
    prompt = serializers.IntegerField(allow_null=True)
    completion = serializers.IntegerField(allow_null=True)


class ProvenanceSerializer(serializers.Serializer):
    run_id = serializers.IntegerField()
    model = serializers.CharField()
    model_sha = serializers.CharField(help_text="Hub commit sha, or what the backend ran for local/closed models")
    engine_version = serializers.CharField()
    suite = serializers.CharField()
    backend = serializers.CharField()
    dtype = serializers.CharField()
    device = serializers.CharField()
    settings = serializers.DictField()


class TimingsSerializer(serializers.Serializer):
    created_at = serializers.DateTimeField()
    dispatched_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    heartbeat_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    queued_seconds = serializers.FloatField(allow_null=True)
    duration_seconds = serializers.FloatField(allow_null=True)


class EvaluationSerializer(serializers.ModelSerializer):
    """A run as the requesting user may see it (evals.selectors.runs.run_view: pass the request in the
    context): everyone gets the failure's code and public message; staff also the stored error text, the
    worker host and the backend's own settings; the submitter's username goes to that submitter and staff."""

    model = serializers.CharField(source="model.repo_id")
    progress = serializers.SerializerMethodField()
    results = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField(help_text="Why the run failed or stopped, for people; empty otherwise.")
    error_code = serializers.SerializerMethodField(
        help_text="Why the run failed or stopped, for programs: " + ", ".join(FAILURE_MESSAGES) + "; null otherwise."
    )
    error_detail = serializers.SerializerMethodField(help_text="Staff only: the stored error text; null for others.")
    worker_host = serializers.SerializerMethodField(help_text="Staff only: the worker that ran it; null for others.")
    revision_ranked = serializers.SerializerMethodField(
        help_text="Whether the run's revision may rank: false for a revision other than the model's current main "
        "(an older commit, a branch); such runs are listed in the model's history but never ranked."
    )
    revision_note = serializers.SerializerMethodField(help_text="Why the revision does not rank; empty when it does.")
    provenance = serializers.SerializerMethodField()
    method = serializers.CharField(
        help_text="How multiple choice was scored: loglikelihood (lm-eval's tasks), generative (chat variants) or "
        "mixed; each method ranks on its own board, mixed on none."
    )
    flag = serializers.SerializerMethodField()
    tokens = serializers.SerializerMethodField(help_text="Tokens the endpoint reported for the run's items.")
    timings = serializers.SerializerMethodField()
    submitted_by = serializers.SerializerMethodField(help_text="The submitter and staff only; null for others.")

    class Meta:
        model = EvalRun
        fields = [
            "id",
            "model",
            "revision",
            "revision_sha",
            "revision_ranked",
            "revision_note",
            "suite",
            "backend",
            "dtype",
            "device",
            "benchmarks",
            "limit",
            "is_partial",
            "status",
            "progress",
            "results",
            "error",
            "error_code",
            "error_detail",
            "cancel_requested",
            "attempts",
            "worker_host",
            "submitted_by",
            "provenance",
            "method",
            "flag",
            "tokens",
            "timings",
        ]
        read_only_fields = fields

    def _view(self, run: EvalRun) -> RunView:
        # One RunView per run and request, shared by the fields below (many=True shares the context).
        views = self.context.setdefault("_run_views", {})  # type: ignore[attr-defined]  # DRF passes a dict
        if run.pk not in views:
            request = self.context.get("request")
            views[run.pk] = run_view(run, getattr(request, "user", None))
        return views[run.pk]

    @extend_schema_field(serializers.CharField())
    def get_error(self, run: EvalRun) -> str:
        return self._view(run).error

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_error_code(self, run: EvalRun) -> str | None:
        return self._view(run).error_code

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_error_detail(self, run: EvalRun) -> str | None:
        return self._view(run).error_detail

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_worker_host(self, run: EvalRun) -> str | None:
        return self._view(run).worker_host

    @extend_schema_field(serializers.BooleanField())
    def get_revision_ranked(self, run: EvalRun) -> bool:
        return run_on_ranked_revision(run)

    @extend_schema_field(serializers.CharField())
    def get_revision_note(self, run: EvalRun) -> str:
        return run_revision_note(run)

    @extend_schema_field(FlagSerializer)
    def get_flag(self, run: EvalRun) -> dict[str, Any]:
        return {
            "flagged": run.flagged,
            "accepted": run.flag_accepted_at is not None,
            "accepted_at": run.flag_accepted_at,
            "reasons": list(run.flag_reasons or []),
        }

    @extend_schema_field(TokensSerializer)
    def get_tokens(self, run: EvalRun) -> dict[str, int | None]:
        return {"prompt": run.prompt_tokens, "completion": run.completion_tokens}

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, run: EvalRun) -> dict[str, int]:
        return {"done": run.progress_done, "total": run.progress_total, "percent": run.progress_percent}

    @extend_schema_field(serializers.DictField(child=BenchmarkResultSerializer()))
    def get_results(self, run: EvalRun) -> dict[str, Any]:
        return {
            r.benchmark: {
                "metrics": r.metrics,
                "primary_metric": r.primary_metric,
                "value": r.value,
                "stderr": r.stderr,
                "n": r.n,
                "method": r.method,
                "variant": r.variant,
                "n_shot": r.n_shot,
                "unparsed": r.unparsed,
                "answer_stats": r.answer_stats,
                "prompt_tokens": r.prompt_tokens,
                "completion_tokens": r.completion_tokens,
                "ci95": (
                    None
                    if r.stderr is None
                    else [max(0.0, r.value - 1.96 * r.stderr), min(1.0, r.value + 1.96 * r.stderr)]
                ),
            }
            # A running run has the benchmarks finished so far: each is stored when its last item is.
            for r in run.results.all()
        }

    @extend_schema_field(ProvenanceSerializer)
    def get_provenance(self, run: EvalRun) -> dict[str, Any]:
        return {
            "run_id": run.pk,
            "model": run.model.repo_id,
            "model_sha": run.revision_sha,
            "engine_version": run.engine_version,
            "suite": run.suite,
            "backend": run.backend,
            "dtype": run.dtype,
            "device": run.device,
            "settings": self._view(run).settings,
        }

    @extend_schema_field(TimingsSerializer)
    def get_timings(self, run: EvalRun) -> dict[str, Any]:
        field = serializers.DateTimeField()
        queued = duration = None
        if run.started_at:
            queued = (run.started_at - run.created_at).total_seconds()
            if run.finished_at:
                duration = (run.finished_at - run.started_at).total_seconds()
        return {
            "created_at": field.to_representation(run.created_at),
            "dispatched_at": field.to_representation(run.dispatched_at) if run.dispatched_at else None,
            "started_at": field.to_representation(run.started_at) if run.started_at else None,
            "heartbeat_at": field.to_representation(run.heartbeat_at) if run.heartbeat_at else None,
            "finished_at": field.to_representation(run.finished_at) if run.finished_at else None,
            "queued_seconds": queued,
            "duration_seconds": duration,
        }

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_submitted_by(self, run: EvalRun) -> str | None:
        return self._view(run).submitted_by


class EvaluationCreatedSerializer(EvaluationSerializer):
    duplicate = serializers.SerializerMethodField(help_text="true: an identical run existed and is returned")
    message = serializers.SerializerMethodField()

    class Meta(EvaluationSerializer.Meta):
        fields = [*EvaluationSerializer.Meta.fields, "duplicate", "message"]
        read_only_fields = fields

    @extend_schema_field(serializers.BooleanField())
    def get_duplicate(self, run: EvalRun) -> bool:
        return not self.context.get("created", True)

    @extend_schema_field(serializers.CharField())
    def get_message(self, run: EvalRun) -> str:
        if not self.context.get("created", True):
            return str(
                _("An identical evaluation (same model revision, suite, backend and dtype) exists: run #%(id)d.")
                % {"id": run.pk}
            )
        if run.dispatched_at is None:
            return str(
                _(
                    "Run #%(id)d is saved and queued, but the task queue cannot be reached right now: it will start "
                    "automatically when the queue is back."
                )
                % {"id": run.pk}
            )
        return str(_("Run #%(id)d is queued.") % {"id": run.pk})


class ItemResultSerializer(serializers.ModelSerializer):
    class Meta:
        model = ItemResult
        fields = [
            "id",
            "benchmark",
            "item_id",
            "position",
            "subject",
            "prompt",
            "choices",
            "loglikelihoods",
            "generated",
            "target",
            "prediction",
            "metrics",
            "correct",
            "prompt_tokens",
            "completion_tokens",
        ]
        read_only_fields = fields
