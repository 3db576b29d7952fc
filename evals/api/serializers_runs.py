"""Serializers of the evaluations API: submission input, run detail (with provenance), per-item results."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from evals.models import EvalRun, ItemResult
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
    partial = serializers.BooleanField(required=False, allow_null=True, default=None)


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
    n_shot = serializers.IntegerField()


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
    model = serializers.CharField(source="model.repo_id")
    progress = serializers.SerializerMethodField()
    results = serializers.SerializerMethodField()
    provenance = serializers.SerializerMethodField()
    timings = serializers.SerializerMethodField()
    submitted_by = serializers.SerializerMethodField()

    class Meta:
        model = EvalRun
        fields = [
            "id",
            "model",
            "revision",
            "revision_sha",
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
            "cancel_requested",
            "attempts",
            "worker_host",
            "submitted_by",
            "provenance",
            "timings",
        ]
        read_only_fields = fields

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
                "n_shot": r.n_shot,
            }
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
            "settings": run.settings or {},
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
        return run.submitted_by.get_username() if run.submitted_by_id else None


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
        ]
        read_only_fields = fields
