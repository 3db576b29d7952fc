"""Read-only models API: GET /api/v1/models/ and GET /api/v1/models/<org>/<name>/."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response

from config.api_schema import error_response
from registry.api.filters import MODEL_FILTER_PARAMETERS, filter_error_detail
from registry.api.serializers import ModelDetailSerializer, ModelListSerializer
from registry.models import LanguageModel
from registry.selectors.models import (
    ORDERINGS,
    FilterError,
    model_filters_clean,
    model_get,
    model_lineage,
    model_list,
)

MODEL_LIST_PARAMETERS = [
    *MODEL_FILTER_PARAMETERS,
    OpenApiParameter("ordering", OpenApiTypes.STR, enum=list(ORDERINGS), description="Sort order (default: id)."),
]


class ModelPagination(PageNumberPagination):
    """`page` and `per_page`, as the leaderboard pages (one style for the page-numbered lists of the API)."""

    page_size = 50
    page_size_query_param = "per_page"
    max_page_size = 200


def _filters(request: Request) -> dict[str, Any]:
    """The cleaned filters; a bad value raises ValidationError, answered 400 naming every bad filter."""
    try:
        return model_filters_clean(request.query_params)
    except FilterError as exc:
        raise ValidationError(filter_error_detail(exc)) from exc


class ModelListApi(ListAPIView):
    """Models in the registry, filtered and ordered; page/per_page pagination on a stable order."""

    permission_classes = [IsAuthenticatedOrReadOnly]  # read-only: writes answer 401, then 405
    serializer_class = ModelListSerializer
    pagination_class = ModelPagination

    def get_queryset(self) -> QuerySet[LanguageModel]:
        return model_list(filters=_filters(self.request))

    @extend_schema(
        operation_id="models_list",
        summary="List models",
        parameters=MODEL_LIST_PARAMETERS,
        responses={
            200: ModelListSerializer(many=True),
            400: error_response(400, "Bad filter value: `error.field` names the first, `error.fields` lists them all."),
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class ModelDetailApi(GenericAPIView):
    """One model: every field, its sources, derivatives; the endpoint of a closed model for staff only."""

    permission_classes = [IsAuthenticatedOrReadOnly]  # read-only: writes answer 401, then 405
    serializer_class = ModelDetailSerializer
    pagination_class = None

    @extend_schema(
        operation_id="models_retrieve",
        summary="One model",
        parameters=[
            OpenApiParameter(
                "org", OpenApiTypes.STR, OpenApiParameter.PATH, description="Organization part of the id."
            ),
            OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH, description="Name part of the id."),
        ],
        responses={200: ModelDetailSerializer, 404: error_response(404, "No model with this id.")},
    )
    def get(self, request: Request, org: str, name: str) -> Response:
        try:
            model = model_get(repo_id=f"{org}/{name}")
        except LanguageModel.DoesNotExist as exc:
            raise NotFound(f"No model '{org}/{name}' in the registry.") from exc
        _chain, derivatives = model_lineage(model=model, max_depth=0)
        serializer = ModelDetailSerializer(model, context={"request": request, "derivatives": derivatives})
        return Response(serializer.data)
