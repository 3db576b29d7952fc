"""Admin of the registry's rows: models (open and closed, with endpoints), organizations, licenses, languages.

SyncRun and the "sync from the Hub" action live in registry/admin/syncs.py.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from registry.models import AllowedRevision, Language, LanguageModel, License, Organization
from registry.services.endpoints import EndpointInvalid, endpoint_key_env_check, endpoint_url_check, endpoint_validate


def endpoint_url_clean(value: str) -> str:
    """An OpenAI-compatible base URL by the endpoint rules (registry/services/endpoints.py).

    Raises forms.ValidationError with a message for the admin user. Keys belong in the workers'
    environment (endpoint_api_key_env names the variable), never in the URL. Whether http is allowed
    depends on the key too: LanguageModelForm.clean checks the pair.
    """
    try:
        return endpoint_url_check(value)
    except EndpointInvalid as exc:
        raise forms.ValidationError(exc.message) from exc


class LanguageModelForm(forms.ModelForm):
    # Validated by endpoint_url_clean (stricter than URLField: http(s) only, no credentials, no internal host).
    endpoint_base_url = forms.CharField(required=False, max_length=200, label=_("endpoint base URL"))

    class Meta:
        model = LanguageModel
        fields = (
            "repo_id", "name", "organization", "weights", "gated", "modality", "description", "description_zh",
            "parameters", "parameters_source", "active_parameters", "architecture", "model_type",
            "context_length", "pipeline_tag", "library_name", "tags", "license", "license_name", "languages",
            "base_model", "base_model_ref", "base_relation", "release_date", "release_date_precision", "sources",
            "in_catalog", "provider", "endpoint_base_url", "endpoint_model_name", "endpoint_api_key_env",
            "local_weights",
        )  # fmt: skip
        widgets = {
            "description": forms.Textarea(attrs={"rows": 6}),
            "description_zh": forms.Textarea(attrs={"rows": 4}),
        }

    def clean_endpoint_base_url(self) -> str:
        return endpoint_url_clean(self.cleaned_data.get("endpoint_base_url", ""))

    def clean_endpoint_api_key_env(self) -> str:
        try:
            return endpoint_key_env_check(self.cleaned_data.get("endpoint_api_key_env") or "")
        except EndpointInvalid as exc:
            raise forms.ValidationError(exc.message) from exc

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("endpoint_base_url") and not data.get("endpoint_model_name"):
            self.add_error("endpoint_model_name", _("An endpoint needs the model name it serves."))
        if "endpoint_base_url" in data and "endpoint_api_key_env" in data:
            try:  # the pair: a key must not travel over plain http
                endpoint_validate(data["endpoint_base_url"], data["endpoint_api_key_env"])
            except EndpointInvalid as exc:
                field = "endpoint_base_url" if exc.field == "base_url" else "endpoint_api_key_env"
                self.add_error(field, exc.message)
        return data


class AllowedRevisionInline(admin.TabularInline):
    """Revisions other than main that users may submit (and, when ranked, that rank on the board)."""

    model = AllowedRevision
    extra = 0
    fields = ("revision", "ranked", "note", "created_at")
    readonly_fields = ("created_at",)
    verbose_name = _("allowed revision")
    verbose_name_plural = _("allowed revisions (besides main: branches, tags or commit shas; never pull requests)")


@admin.register(LanguageModel)
class LanguageModelAdmin(admin.ModelAdmin):
    form = LanguageModelForm
    inlines = (AllowedRevisionInline,)
    list_display = (
        "repo_id",
        "name",
        "organization",
        "weights",
        "parameters_display",
        "license",
        "modality",
        "on_hub",
        "in_catalog",
        "downloads",
    )
    list_filter = ("weights", "modality", "gated", "on_hub", "in_catalog", "parameters_source", "license", "languages")
    search_fields = ("repo_id", "name", "organization__slug", "organization__name", "provider")
    list_select_related = ("organization", "license")
    autocomplete_fields = ("organization", "license", "base_model")
    filter_horizontal = ("languages",)
    readonly_fields = (
        "hub_sha",
        "downloads",
        "likes",
        "hub_created_at",
        "hub_last_modified",
        "on_hub",
        "hub_missing_since",
        "synced_at",
        "created_at",
        "updated_at",
    )
    ordering = ("repo_id",)
    list_per_page = 50
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "repo_id",
                    "name",
                    "organization",
                    "weights",
                    "gated",
                    "modality",
                    "description",
                    "description_zh",
                    "tags",
                )
            },
        ),
        (
            _("Size and architecture"),
            {
                "fields": (
                    ("parameters", "parameters_source"),
                    "active_parameters",
                    ("architecture", "model_type"),
                    "context_length",
                    ("pipeline_tag", "library_name"),
                )
            },
        ),
        (_("License and languages"), {"fields": ("license", "license_name", "languages")}),
        (_("Lineage"), {"fields": ("base_model", "base_model_ref", "base_relation")}),
        (_("Release and sources"), {"fields": (("release_date", "release_date_precision"), "sources", "in_catalog")}),
        (
            _("Closed model: OpenAI-compatible endpoint"),
            {
                "description": _(
                    "The key itself is never stored: give the name of the environment variable that holds it "
                    "on the evaluation workers."
                ),
                "fields": ("provider", "endpoint_base_url", "endpoint_model_name", "endpoint_api_key_env"),
            },
        ),
        (_("Local weights"), {"fields": ("local_weights",), "classes": ("collapse",)}),
        (_("Hugging Face Hub (read-only, set by syncs)"), {"fields": readonly_fields, "classes": ("collapse",)}),
    )

    @admin.display(description=_("size"), ordering="parameters")
    def parameters_display(self, obj: LanguageModel) -> str:
        return obj.parameters_display or "—"


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "url", "model_count")
    search_fields = ("slug", "name")
    ordering = ("slug",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organization]:
        return super().get_queryset(request).annotate(n_models=Count("models"))

    @admin.display(description=_("models"), ordering="n_models")
    def model_count(self, obj: Organization) -> int:
        return obj.n_models  # type: ignore[attr-defined]


@admin.register(License)
class LicenseAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "family", "osi_approved", "commercial_use", "model_count")
    list_filter = ("commercial_use", "osi_approved", "family")
    search_fields = ("key", "name", "family")
    ordering = ("key",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[License]:
        return super().get_queryset(request).annotate(n_models=Count("models"))

    @admin.display(description=_("models"), ordering="n_models")
    def model_count(self, obj: License) -> int:
        return obj.n_models  # type: ignore[attr-defined]


@admin.register(Language)
class LanguageAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")
    ordering = ("code",)
