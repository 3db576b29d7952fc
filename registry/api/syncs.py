"""Hub syncs API: GET /api/v1/syncs/ (staff) lists SyncRuns; POST (staff) queues a sync -> 202."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response

from registry.models import SyncRun
from registry.selectors.syncs import sync_run_list
from registry.services.hub_sync import sync_run_request


class SyncRunSerializer(serializers.ModelSerializer):
    requested_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = SyncRun
        fields = [
            "id",
            "trigger",
            "scope",
            "status",
            "started_at",
            "finished_at",
            "seen",
            "created",
            "updated",
            "unchanged",
            "failed",
            "missing",
            "errors",
            "requested_by",
        ]
        read_only_fields = fields


class SyncRequestSerializer(serializers.Serializer):
    authors = serializers.ListField(child=serializers.CharField(max_length=100), required=False, default=list)
    models = serializers.ListField(child=serializers.CharField(max_length=200), required=False, default=list)
    search = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    limit = serializers.IntegerField(min_value=1, max_value=100_000, required=False, allow_null=True, default=None)

    def validate(self, attrs: dict) -> dict:
        if not (attrs["authors"] or attrs["models"] or attrs["search"] or attrs["limit"]):
            raise serializers.ValidationError(_("Say what to sync: authors, models, search and/or limit."))
        return attrs


class SyncRunListCreateApi(GenericAPIView):
    """Staff only. GET: Hub sync runs, newest first. POST: queue a sync; answers 202 with the run."""

    permission_classes = [IsAdminUser]
    serializer_class = SyncRunSerializer

    def get_queryset(self):
        wanted = self.request.query_params.get("status") or None
        if wanted is not None and wanted not in SyncRun.Status.values:
            known = ", ".join(SyncRun.Status.values)
            raise serializers.ValidationError({"status": [f"Unknown status {wanted!r}; use one of {known}."]})
        return sync_run_list(status=wanted)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status", OpenApiTypes.STR, enum=SyncRun.Status.values, description="Only runs in this state."
            )
        ],
        responses=SyncRunSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(SyncRunSerializer(page, many=True).data)

    @extend_schema(request=SyncRequestSerializer, responses={202: SyncRunSerializer})
    def post(self, request: Request) -> Response:
        data = SyncRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = sync_run_request(
            user=request.user,
            trigger=SyncRun.Trigger.API,
            authors=data.validated_data["authors"],
            models=data.validated_data["models"],
            search=data.validated_data["search"] or None,
            limit=data.validated_data["limit"],
        )
        return Response(SyncRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)
