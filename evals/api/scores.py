"""/api/v1/models/<org>/<name>/scores/: every score of a model, all provenances, with sources (thin view
over evals.selectors.reported.model_scores)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api_schema import error_response
from evals.api.leaderboard_serializers import ClaimOut, ReportedScoreOut, claim_data, reported_score_data
from evals.selectors.reported import BenchmarkScores, OurScore, model_scores
from registry.models import LanguageModel
from registry.selectors.models import model_get


def _ours(score: OurScore) -> dict[str, Any]:
    return {
        "provenance": score.provenance,
        "value": round(score.value, 6),
        "stderr": None if score.stderr is None else round(score.stderr, 6),
        "ci95": None if score.ci95 is None else [round(score.ci95[0], 6), round(score.ci95[1], 6)],
        "n": score.n,
        "n_shot": score.n_shot,
        "metric": score.metric,
        "suite": score.suite,
        "run_id": score.run_id,
        "source": {"kind": "run", "name": f"run #{score.run_id}", "url": f"/api/v1/evaluations/{score.run_id}/"},
    }


def benchmark_scores_data(entry: BenchmarkScores) -> dict[str, Any]:
    return {
        "benchmark": entry.benchmark,
        "name": entry.name,
        "known": entry.known,
        "measured": [_ours(s) for s in entry.measured],
        "imported": [_ours(s) for s in entry.imported],
        "reported": [
            {**reported_score_data(e.score), "claims": [claim_data(c) for c in e.checks]} for e in entry.reported
        ],
        "contradicted": entry.contradicted,
    }


class RunSourceOut(serializers.Serializer):
    kind = serializers.CharField()
    name = serializers.CharField()
    url = serializers.CharField()


class OurScoreOut(serializers.Serializer):
    provenance = serializers.ChoiceField(choices=["measured", "imported"])
    value = serializers.FloatField(help_text="0..1")
    stderr = serializers.FloatField(allow_null=True)
    ci95 = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    n = serializers.IntegerField()
    n_shot = serializers.IntegerField()
    metric = serializers.CharField()
    suite = serializers.CharField()
    run_id = serializers.IntegerField()
    source = RunSourceOut()  # type: ignore[assignment]  # the API's field name shadows a DRF attribute


class ReportedWithClaimsOut(ReportedScoreOut):
    claims = ClaimOut(many=True, help_text="checks against our measured/imported result of the same shots")


class BenchmarkScoresOut(serializers.Serializer):
    benchmark = serializers.CharField(help_text="our benchmark key, or a raw dataset id (known=false)")
    name = serializers.CharField()
    known = serializers.BooleanField()
    measured = OurScoreOut(many=True, help_text="latest complete run per shot count")
    imported = OurScoreOut(many=True)
    reported = ReportedWithClaimsOut(many=True)
    contradicted = serializers.BooleanField(help_text="a reported figure lies outside our 95% interval")


class ModelScoresOut(serializers.Serializer):
    model = serializers.CharField()
    benchmarks = BenchmarkScoresOut(many=True)


class ModelScoresApi(APIView):
    """Every score of one model: measured, imported and reported, per benchmark, with sources."""

    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="models_scores_retrieve",
        summary="Every score of a model (measured, imported, reported) with sources and claim checks",
        parameters=[
            OpenApiParameter(
                "org", OpenApiTypes.STR, OpenApiParameter.PATH, description="Organization part of the id."
            ),
            OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH, description="Name part of the id."),
        ],
        responses={200: ModelScoresOut, 404: error_response(404, "No model with this id.")},
    )
    def get(self, request: Request, org: str, name: str) -> Response:
        try:
            model = model_get(repo_id=f"{org}/{name}")
        except LanguageModel.DoesNotExist as exc:
            raise NotFound(f"No model '{org}/{name}' in the registry.") from exc
        return Response(
            {"model": model.repo_id, "benchmarks": [benchmark_scores_data(e) for e in model_scores(model=model)]}
        )
