"""POST /api/v1/evaluations/<id>/publish/: staff publish a measured run's scores to its model's Hub repo as a
pull request (thin: evals.exchange.publish does the work)."""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api_errors import BoundedJSONParser
from config.api_schema import error_response
from evals.exchange import publish
from evals.models import EvalRun, HubPublication


class PublishRejected(exceptions.APIException):
    """A PublishError as an API error: its status and stable code."""

    def __init__(self, error: publish.PublishError) -> None:
        super().__init__(detail=error.message, code=error.code)
        self.status_code = error.status


class HubPublicationSerializer(serializers.ModelSerializer):
    run = serializers.IntegerField(source="run_id")
    repo = serializers.CharField(source="repo_id")
    commit = serializers.CharField(source="commit_sha")

    class Meta:
        model = HubPublication
        fields = ["id", "run", "repo", "status", "pr_num", "pr_url", "commit", "files", "created_at", "finished_at"]


class EvaluationPublishApi(APIView):
    parser_classes = [BoundedJSONParser]
    permission_classes = [IsAdminUser]

    @extend_schema(
        operation_id="evaluations_publish",
        request=None,
        responses={
            201: OpenApiResponse(HubPublicationSerializer, description="a pull request was opened on the Hub"),
            200: OpenApiResponse(HubPublicationSerializer, description="the run was published before: its PR"),
            404: error_response(404),
            409: error_response(
                409, "The run cannot be published (not succeeded, imported, partial) or is being published now."
            ),
            502: error_response(502, "The Hub refused the pull request (write token refused, no such repo)."),
            503: error_response(
                503,
                "Publishing is not configured (LADDER_HUB_WRITE_TOKEN, LADDER_PUBLIC_URL) or the Hub did not answer.",
            ),
        },
        summary="Publish a measured run's scores to the model's Hub repo as one pull request (staff)",
        description=(
            "Opens ONE pull request on the model's Hub repo adding `.eval_results/<benchmark>.yaml` per benchmark "
            "(the Hub's eval-results format; the source URL is the run's page). Publishing the same run again "
            "returns the existing pull request (200) instead of opening another. A refused or failed attempt is "
            "recorded as failed, with no pull request."
        ),
    )
    def post(self, request: Request, run_id: int) -> Response:
        try:
            outcome = publish.hub_publication_create(run_id=run_id, user=request.user)
        except EvalRun.DoesNotExist as exc:
            raise Http404(_("No evaluation run #%(id)d.") % {"id": run_id}) from exc
        except publish.PublishError as exc:
            raise PublishRejected(exc) from exc
        body = HubPublicationSerializer(outcome.publication).data
        return Response(body, status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK)
