"""/api/v1/imports/ (imported results files, import jobs) and /api/v1/evaluations/<id>/export/.

Thin: validate input, call evals.exchange.services (writes, exports) or evals.selectors.imports (reads).
Importing needs staff or the `evals.add_resultimport` permission; exports are as public as runs.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import Http404, StreamingHttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api_errors import BoundedJSONParser
from config.api_schema import error_response
from evals.exchange import services
from evals.exchange.formats import FormatError
from evals.models import EvalRun, ImportJob, ResultImport
from evals.selectors.imports import import_job_get, result_import_get, result_import_list
from evals.selectors.runs import run_get

ERRORS = {code: error_response(code) for code in (400, 401, 403, 404, 413)}
IMPORT_PERMISSION = "evals.add_resultimport"


class CanImport(BasePermission):
    """Staff, or a user granted the import permission (`evals.add_resultimport`)."""

    message = _("Importing results needs staff or the import permission.")

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return bool(user and user.is_authenticated and (user.is_staff or user.has_perm(IMPORT_PERMISSION)))


class ImportRejected(exceptions.APIException):
    """A file that was not imported: 400 `invalid_file`, naming the file's field."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_file"

    def __init__(self, error: FormatError) -> None:
        super().__init__(detail=error.message, code="invalid_file")
        self.field = f"results.{error.field}" if error.field else "results"


class ImportCreateSerializer(serializers.Serializer):
    results = serializers.JSONField(
        required=False, help_text="an lm-eval 0.4 or Open LLM Leaderboard v1 results file (the JSON object)"
    )
    samples = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        required=False,
        help_text="lm-eval samples files: task name -> the JSONL text",
    )
    model = serializers.CharField(required=False, max_length=200, help_text="the model id, when the file names a path")
    name = serializers.CharField(required=False, max_length=300, help_text="the file's name (for the record)")
    hub_dataset = serializers.CharField(required=False, max_length=300, help_text="a Hub results archive to import")
    revision = serializers.CharField(required=False, max_length=200, default="main")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("results" in attrs) == ("hub_dataset" in attrs):
            raise serializers.ValidationError({"results": _("Give either results or hub_dataset.")})
        if "results" in attrs and not isinstance(attrs["results"], dict):
            raise serializers.ValidationError({"results": _("Expected a JSON object.")})
        return attrs


class ResultImportSerializer(serializers.ModelSerializer):
    run = serializers.IntegerField(source="run_id")
    model = serializers.CharField(source="run.model.repo_id")
    provenance = serializers.CharField(source="run.provenance")
    suite = serializers.CharField(source="run.suite")
    ranked = serializers.SerializerMethodField()
    notes = serializers.SerializerMethodField()
    imported_by = serializers.SerializerMethodField()

    class Meta:
        model = ResultImport
        fields = [
            "id",
            "run",
            "model",
            "provenance",
            "suite",
            "ranked",
            "format",
            "source",
            "digest",
            "harness_version",
            "model_name",
            "model_args",
            "model_sha",
            "dtype",
            "evaluated_at",
            "notes",
            "imported_by",
            "job",
            "created_at",
        ]

    def get_ranked(self, obj: ResultImport) -> bool:
        return not obj.run.is_partial

    def get_notes(self, obj: ResultImport) -> list[str]:
        return list((obj.details or {}).get("notes") or [])

    def get_imported_by(self, obj: ResultImport) -> str | None:
        # Names are shown only to staff (as for run submitters).
        request = self.context.get("request")
        if obj.imported_by is None or not (request and request.user.is_staff):
            return None
        return obj.imported_by.get_username()


class ImportJobSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportJob
        fields = [
            "id",
            "source",
            "revision",
            "status",
            "files_total",
            "files_done",
            "created",
            "unchanged",
            "failed",
            "errors",
            "created_at",
            "started_at",
            "finished_at",
        ]


class ImportCreatedSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["created", "unchanged"])
    run = serializers.IntegerField()
    model = serializers.CharField()
    model_created = serializers.BooleanField()
    ranked_suite = serializers.CharField(allow_null=True)
    notes = serializers.ListField(child=serializers.CharField())
    import_id = serializers.IntegerField(allow_null=True)


class ImportCursorPagination(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class ImportListCreateApi(APIView):
    parser_classes = [BoundedJSONParser]
    permission_classes = [CanImport]
    pagination_class = ImportCursorPagination

    @extend_schema(
        operation_id="imports_list",
        parameters=[OpenApiParameter("cursor", OpenApiTypes.STR), OpenApiParameter("page_size", OpenApiTypes.INT)],
        responses={200: ResultImportSerializer(many=True)},
        summary="Imported results files, newest first, with their runs and provenance",
    )
    def get(self, request: Request) -> Response:
        paginator = ImportCursorPagination()
        page = paginator.paginate_queryset(result_import_list(), request, view=self)
        return paginator.get_paginated_response(
            ResultImportSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(
        operation_id="imports_create",
        request=ImportCreateSerializer,
        responses={
            201: ImportCreatedSerializer,
            200: OpenApiResponse(
                ImportCreatedSerializer, description="the same file was imported before: nothing changed"
            ),
            202: ImportJobSerializer,
            **ERRORS,
        },
        summary="Import a results file (lm-eval 0.4 / Open LLM Leaderboard v1) or queue a Hub archive import",
    )
    def post(self, request: Request) -> Response:
        body = ImportCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if "hub_dataset" in data:
            job = services.import_job_enqueue(repo_id=data["hub_dataset"], revision=data["revision"], user=request.user)
            return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
        content = json.dumps(data["results"], ensure_ascii=False).encode()
        samples = {task: text.encode() for task, text in (data.get("samples") or {}).items()}
        try:
            outcome = services.result_import_file(
                content=content,
                name=data.get("name") or "api upload",
                samples=samples,
                model=data.get("model"),
                user=request.user,
            )
        except FormatError as exc:
            raise ImportRejected(exc) from exc
        payload = {
            "status": outcome.status,
            "run": outcome.run_id,
            "model": outcome.model,
            "model_created": outcome.model_created,
            "ranked_suite": outcome.ranked_suite,
            "notes": outcome.notes,
            "import_id": outcome.import_id,
        }
        created = outcome.status == "created"
        return Response(payload, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class ImportDetailApi(APIView):
    @extend_schema(
        operation_id="imports_retrieve",
        responses={200: ResultImportSerializer, 404: ERRORS[404]},
        summary="One imported results file",
    )
    def get(self, request: Request, import_id: int) -> Response:
        try:
            record = result_import_get(import_id=import_id)
        except ResultImport.DoesNotExist as exc:
            raise Http404(_("No import #%(id)d.") % {"id": import_id}) from exc
        return Response(ResultImportSerializer(record, context={"request": request}).data)


class ImportJobDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="imports_jobs_retrieve",
        responses={200: ImportJobSerializer, 401: ERRORS[401], 404: ERRORS[404]},
        summary="One import job (a batch or Hub archive import) with its progress and errors",
    )
    def get(self, request: Request, job_id: int) -> Response:
        try:
            job = import_job_get(job_id=job_id)
        except ImportJob.DoesNotExist as exc:
            raise Http404(_("No import job #%(id)d.") % {"id": job_id}) from exc
        return Response(ImportJobSerializer(job).data)


def _finished_run(run_id: int) -> EvalRun:
    try:
        run = run_get(run_id=run_id)
    except EvalRun.DoesNotExist as exc:
        raise Http404(_("No evaluation run #%(id)d.") % {"id": run_id}) from exc
    if run.status != EvalRun.Status.SUCCEEDED:
        raise exceptions.NotFound(_("Run #%(id)d has no results to export yet.") % {"id": run_id})
    return run


class EvaluationExportApi(APIView):
    @extend_schema(
        operation_id="evaluations_export",
        responses={200: OpenApiTypes.OBJECT, 404: ERRORS[404]},
        summary="The run as an lm-evaluation-harness 0.4 results JSON (import_results reads it back unchanged)",
    )
    def get(self, request: Request, run_id: int) -> Response:
        run = _finished_run(run_id)
        response = Response(services.eval_run_export_results(run))
        response["Content-Disposition"] = f'attachment; filename="results_run{run.pk}.json"'
        return response


class EvaluationExportSamplesApi(APIView):
    @extend_schema(
        operation_id="evaluations_export_samples",
        parameters=[
            OpenApiParameter(
                "task", OpenApiTypes.STR, required=False, description="an lm-eval task name; omit to list the tasks"
            )
        ],
        responses={
            (200, "application/jsonl"): OpenApiResponse(OpenApiTypes.STR, description="lm-eval 0.4 samples JSONL"),
            (200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT, description='{"tasks": [...]}'),
            404: ERRORS[404],
        },
        summary="The run's items of one task as lm-evaluation-harness 0.4 samples JSONL",
    )
    def get(self, request: Request, run_id: int) -> Any:
        run = _finished_run(run_id)
        task = request.query_params.get("task")
        if not task:
            return Response({"tasks": services.eval_run_export_tasks(run)})
        try:
            lines = services.eval_run_export_samples(run, task)
            first = next(lines)
        except (ValueError, StopIteration) as exc:
            raise exceptions.NotFound(
                _("Run #%(id)d has no items of task %(task)s.") % {"id": run_id, "task": task}
            ) from exc

        def stream() -> Any:
            yield first
            yield from lines

        response = StreamingHttpResponse(stream(), content_type="application/jsonl")
        response["Content-Disposition"] = f'attachment; filename="samples_{task}_run{run.pk}.jsonl"'
        return response
