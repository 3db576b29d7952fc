"""Output shapes of the models API (ARCHITECTURE.md lists the contract fields; extras follow them)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from registry.models import LanguageModel
from registry.selectors.models import model_hub_url, model_release_text, model_sources


class HubInfoSerializer(serializers.Serializer):
    sha = serializers.CharField(allow_null=True, help_text="Commit sha of the last synced revision.")
    downloads = serializers.IntegerField(allow_null=True)
    likes = serializers.IntegerField(allow_null=True)
    last_modified = serializers.DateTimeField(allow_null=True)


class LicenseDetailSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    family = serializers.CharField()
    osi_approved = serializers.BooleanField()
    commercial_use = serializers.ChoiceField(choices=["yes", "restricted", "no", "unknown"])
    url = serializers.CharField()


class EndpointSerializer(serializers.Serializer):
    base_url = serializers.CharField()
    model_name = serializers.CharField()
    api_key_env = serializers.CharField(help_text="NAME of the environment variable holding the key (never the key).")


class SourceSerializer(serializers.Serializer):
    url = serializers.CharField(required=False)
    note = serializers.CharField(required=False, help_text="A remark on the fact, in English.")
    note_zh = serializers.CharField(required=False, help_text="The same remark in Simplified Chinese (catalog facts).")
    by = serializers.CharField(required=False, help_text="Who recorded the fact: catalog, hub, admin.")


class LinksSerializer(serializers.Serializer):
    api = serializers.CharField()
    page = serializers.CharField()
    hub = serializers.CharField(allow_null=True)


class ModelListSerializer(serializers.Serializer):
    """One model as the list returns it (every contract field; no extra queries per row)."""

    id = serializers.CharField(source="repo_id", help_text="HF repo id, or <org>/<slug> for closed models.")
    name = serializers.CharField()
    organization = serializers.CharField(source="organization.slug")
    organization_name = serializers.CharField(source="organization.name")
    weights = serializers.ChoiceField(choices=["open", "closed"])
    parameters = serializers.IntegerField(allow_null=True)
    parameters_display = serializers.CharField(help_text='"6.7B", "135M"; empty when unknown.')
    parameters_source = serializers.CharField(help_text="safetensors, config, card, catalog, admin or empty.")
    active_parameters = serializers.IntegerField(allow_null=True, help_text="Mixture of experts: parameters per token.")
    context_length = serializers.IntegerField(allow_null=True)
    languages = serializers.SerializerMethodField()
    license = serializers.SerializerMethodField()
    license_detail = serializers.SerializerMethodField()
    base_model = serializers.SerializerMethodField()
    base_relation = serializers.CharField(help_text="finetune, adapter, quantized, merge or empty.")
    modality = serializers.CharField()
    gated = serializers.SerializerMethodField()
    gated_mode = serializers.SerializerMethodField()
    hub = serializers.SerializerMethodField()
    on_hub = serializers.BooleanField()
    release_date = serializers.SerializerMethodField()
    release_date_precision = serializers.CharField()
    provider = serializers.CharField()
    links = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_languages(self, obj: LanguageModel) -> list[str]:
        return sorted(lang.code for lang in obj.languages.all())

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="License key; null when unknown."))
    def get_license(self, obj: LanguageModel) -> str | None:
        return obj.license.key if obj.license is not None else None

    @extend_schema_field(LicenseDetailSerializer(allow_null=True))
    def get_license_detail(self, obj: LanguageModel) -> dict[str, Any] | None:
        lic = obj.license
        if lic is None:
            return None
        return {
            "key": lic.key,
            "name": lic.name,
            "family": lic.family,
            "osi_approved": lic.osi_approved,
            "commercial_use": lic.commercial_use,
            "url": lic.url,
        }

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="Id of the base model; null for none."))
    def get_base_model(self, obj: LanguageModel) -> str | None:
        if obj.base_model is not None:
            return obj.base_model.repo_id
        return obj.base_model_ref or None

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_gated(self, obj: LanguageModel) -> bool:
        return bool(obj.gated)

    @extend_schema_field(serializers.ChoiceField(choices=["auto", "manual"], allow_null=True))
    def get_gated_mode(self, obj: LanguageModel) -> str | None:
        return obj.gated or None

    @extend_schema_field(HubInfoSerializer)
    def get_hub(self, obj: LanguageModel) -> dict[str, Any]:
        return {
            "sha": obj.hub_sha or None,
            "downloads": obj.downloads,
            "likes": obj.likes,
            "last_modified": obj.hub_last_modified.isoformat() if obj.hub_last_modified else None,
        }

    @extend_schema_field(serializers.CharField(allow_null=True, help_text='"YYYY-MM-DD", "YYYY-MM" or "YYYY".'))
    def get_release_date(self, obj: LanguageModel) -> str | None:
        return model_release_text(obj)

    @extend_schema_field(LinksSerializer)
    def get_links(self, obj: LanguageModel) -> dict[str, Any]:
        org, name = obj.org_part, obj.name_part
        return {
            "api": reverse("registry-api:model-detail", kwargs={"org": org, "name": name}),
            "page": reverse("registry:model-detail", kwargs={"org": org, "name": name}),
            "hub": model_hub_url(obj) or None,
        }


class ModelDetailSerializer(ModelListSerializer):
    """One model with everything the registry knows. `endpoint` is null unless the caller is staff."""

    architecture = serializers.CharField()
    model_type = serializers.CharField()
    pipeline_tag = serializers.CharField()
    library_name = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField(help_text="Untrusted text from the model card: escape before display.")
    description_zh = serializers.CharField(
        help_text="The description in Simplified Chinese (the seed catalog's text; empty where there is none). "
        "Both languages are always returned, whatever Accept-Language says."
    )
    hub_created_at = serializers.DateTimeField(allow_null=True)
    synced_at = serializers.DateTimeField(allow_null=True)
    in_catalog = serializers.BooleanField()
    local_weights = serializers.CharField()
    sources = serializers.SerializerMethodField()
    derivatives = serializers.SerializerMethodField()
    endpoint = serializers.SerializerMethodField()

    @extend_schema_field(serializers.DictField(child=SourceSerializer()))
    def get_sources(self, obj: LanguageModel) -> dict[str, dict[str, str]]:
        return model_sources(model=obj)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_derivatives(self, obj: LanguageModel) -> list[str]:
        return [m.repo_id for m in self.context.get("derivatives", [])]

    @extend_schema_field(EndpointSerializer(allow_null=True))
    def get_endpoint(self, obj: LanguageModel) -> dict[str, str] | None:
        request = self.context.get("request")
        if request is None or not request.user.is_staff or not obj.endpoint_base_url:
            return None
        return {
            "base_url": obj.endpoint_base_url,
            "model_name": obj.endpoint_model_name,
            "api_key_env": obj.endpoint_api_key_env,
        }
