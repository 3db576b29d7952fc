"""/api/v1/evaluations/: submit (202, or 200 with the existing run), list, detail, cancel, per-item results.

Thin: validate input, call evals.services (writes) or evals.selectors.runs (reads), serialize.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from config.api_errors import BoundedJSONParser, ErrorResponseSerializer
from config.api_schema import error_response
from evals import services
from evals.api.serializers_runs import (
    EvaluationCreatedSerializer,
    EvaluationCreateSerializer,
    EvaluationFilterSerializer,
    EvaluationSerializer,
    ItemFilterSerializer,
    ItemResultSerializer,
)
from evals.models import EvalRun
from evals.selectors.runs import run_get, run_items, run_list

ERROR_BODY = ErrorResponseSerializer
ERRORS = {code: error_response(code) for code in (400, 401, 403, 404, 409, 413, 429)}


class SubmissionRejected(exceptions.APIException):
    """A SubmissionError as an API error: its status, code, message and field."""

    def __init__(self, error: services.SubmissionError) -> None:
        super().__init__(detail=error.message, code=error.code)
        self.status_code = error.status
        self.field = error.field


class EvaluationCursorPagination(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class ItemCursorPagination(CursorPagination):
    ordering = "id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class _EvaluationApi(APIView):
    # JSON only: config/middleware.py has already refused other media types and oversized bodies unread.
    parser_classes = [BoundedJSONParser]


def _get_run(run_id: int) -> EvalRun:
    try:
        return run_get(run_id=run_id)
    except EvalRun.DoesNotExist as exc:
        raise Http404(_("No evaluation run #%(id)d.") % {"id": run_id}) from exc


class EvaluationListCreateApi(_EvaluationApi):
    permission_classes = [IsAuthenticatedOrReadOnly]
    pagination_class = EvaluationCursorPagination  # named for the schema: the list is {next, previous, results}
    # A per-minute guard against abuse that counts every POST. The daily quota ("submissions") is not a
    # throttle: the service counts accepted runs, so a refused or duplicate submission costs none of it.
    throttle_scope = "submit_burst"

    def get_throttles(self):  # DRF hook
        # Only submissions are rate limited per user; reading the queue is not.
        if self.request.method == "POST":
            return [ScopedRateThrottle()]
        return super().get_throttles()

    @extend_schema(
        operation_id="evaluations_list",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=list(EvalRun.Status.values)),
            OpenApiParameter("model", OpenApiTypes.STR, description="model id"),
            OpenApiParameter("suite", OpenApiTypes.STR),
            OpenApiParameter("backend", OpenApiTypes.STR),
            OpenApiParameter("partial", OpenApiTypes.BOOL),
            OpenApiParameter("cursor", OpenApiTypes.STR),
            OpenApiParameter("page_size", OpenApiTypes.INT),
        ],
        responses={200: EvaluationSerializer(many=True), 400: ERRORS[400]},
        summary="List evaluation runs, newest first (cursor-paginated)",
    )
    def get(self, request: Request) -> Response:
        filters = EvaluationFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = run_list(filters=filters.validated_data)
        paginator = EvaluationCursorPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(
            EvaluationSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(
        operation_id="evaluations_create",
        request=EvaluationCreateSerializer,
        responses={
            202: EvaluationCreatedSerializer,
            200: OpenApiResponse(EvaluationCreatedSerializer, description="duplicate: the existing run"),
            503: OpenApiResponse(ERROR_BODY, description="the Hub could not be reached to check the model"),
            **ERRORS,
        },
        summary="Submit a model for evaluation",
        description=(
            "Checks the model on the Hub (exists, public, not gated without a token, text-generation, size, "
            "license), then queues a run. `revision` is `main` (pinned to its current commit); another branch, tag "
            "or commit only when staff allowed it for the model (`revision_not_allowed`), a pull request never "
            "(`revision_pull_request`); size and license are those of that revision. A refused submission writes "
            "nothing and uses none of the daily quota. 202 with the new run; 200 with the existing run when an "
            "identical complete run (same model sha, suite, backend, dtype) is queued, running or succeeded. "
            "`benchmarks` and `limit` make a partial run, stored and shown but never ranked. Needs a token; "
            "throttled per user."
        ),
    )
    def post(self, request: Request) -> Response:
        payload = EvaluationCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data: dict[str, Any] = payload.validated_data
        try:
            run, created = services.eval_run_submit(
                user=request.user,
                model_id=data["model"],
                revision=data.get("revision") or "main",
                suite=data.get("suite") or "quick",
                backend=data.get("backend") or "transformers",
                dtype=data.get("dtype") or "auto",
                benchmarks=list(data.get("benchmarks") or []) or None,
                limit=data.get("limit"),
            )
        except services.SubmissionError as exc:
            raise SubmissionRejected(exc) from exc
        run = run_get(run_id=run.pk)
        body = EvaluationCreatedSerializer(run, context={"created": created, "request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)


class EvaluationDetailApi(_EvaluationApi):
    permission_classes = [IsAuthenticatedOrReadOnly]

    @extend_schema(
        operation_id="evaluations_retrieve",
        responses={200: EvaluationSerializer, 404: ERRORS[404]},
        summary="One run: status, progress, results with provenance, error, timings",
    )
    def get(self, request: Request, run_id: int) -> Response:
        return Response(EvaluationSerializer(_get_run(run_id), context={"request": request}).data)


class EvaluationCancelApi(_EvaluationApi):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="evaluations_cancel",
        request=None,
        responses={200: EvaluationSerializer, 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404], 409: ERRORS[409]},
        summary="Cancel a run (its submitter or staff): queued at once, running after the current batch",
    )
    def post(self, request: Request, run_id: int) -> Response:
        _get_run(run_id)
        try:
            services.eval_run_cancel(run_id=run_id, user=request.user)
        except PermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from exc
        except services.SubmissionError as exc:
            raise SubmissionRejected(exc) from exc
        return Response(EvaluationSerializer(_get_run(run_id), context={"request": request}).data)


class EvaluationAcceptFlagApi(_EvaluationApi):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="evaluations_accept_flag",
        request=None,
        responses={200: EvaluationSerializer, 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404], 409: ERRORS[409]},
        summary="Accept a run flagged as degenerate (staff): its scores rank from now on",
        description="A finished run is flagged when a benchmark's answers were unparsed beyond "
        "LADDER_EVAL_MAX_UNPARSED_SHARE or a generative benchmark's answers collapsed onto one option; a flagged "
        "run is kept off the ranked boards until staff accept it here. 409 when the run is not flagged or was "
        "accepted already.",
    )
    def post(self, request: Request, run_id: int) -> Response:
        _get_run(run_id)
        try:
            services.eval_run_accept_flag(run_id=run_id, user=request.user)
        except PermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from exc
        except services.SubmissionError as exc:
            raise SubmissionRejected(exc) from exc
        return Response(EvaluationSerializer(_get_run(run_id), context={"request": request}).data)


class EvaluationItemListApi(_EvaluationApi):
    permission_classes = [IsAuthenticatedOrReadOnly]
    pagination_class = ItemCursorPagination  # named for the schema: the list is {next, previous, results}

    @extend_schema(
        operation_id="evaluations_items",
        parameters=[
            ItemFilterSerializer,
            OpenApiParameter("cursor", OpenApiTypes.STR),
            OpenApiParameter("page_size", OpenApiTypes.INT),
        ],
        responses={200: ItemResultSerializer(many=True), 404: ERRORS[404]},
        summary="Per-item results of a run (prompt, choices, log-likelihoods or generation, prediction)",
    )
    def get(self, request: Request, run_id: int) -> Response:
        _get_run(run_id)
        filters = ItemFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        benchmark = filters.validated_data.get("benchmark") or None
        paginator = ItemCursorPagination()
        page = paginator.paginate_queryset(run_items(run_id=run_id, benchmark=benchmark), request, view=self)
        return paginator.get_paginated_response(ItemResultSerializer(page, many=True).data)
