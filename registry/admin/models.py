"""Admin of the registry's rows: models (open and closed, with endpoints), organizations, licenses, languages.

SyncRun and the "sync from the Hub" action live in registry/admin/syncs.py.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from registry.models import Language, LanguageModel, License, Organization


def endpoint_url_clean(value: str) -> str:
    """An OpenAI-compatible base URL: http(s), a host, no user:password, no query or fragment.

    Raises forms.ValidationError with a message for the admin user. Keys belong in the workers'
    environment (endpoint_api_key_env names the variable), never in the URL.
    """
    value = (value or "").strip()
    if not value:
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise forms.ValidationError(_("Use an http:// or https:// URL."))
    if not parts.hostname:
        raise forms.ValidationError(_("The URL needs a host name."))
    if parts.username or parts.password or "@" in parts.netloc:
        raise forms.ValidationError(
            _("Do not put credentials in the URL: name the environment variable holding the key instead.")
        )
    if parts.query or parts.fragment:
        raise forms.ValidationError(_("Leave out query strings and fragments (keys must not travel in the URL)."))
    return value.rstrip("/")


class LanguageModelForm(forms.ModelForm):
    # Validated by endpoint_url_clean (stricter than URLField: http(s) only, no credentials).
    endpoint_base_url = forms.CharField(required=False, max_length=200, label=_("endpoint base URL"))

    class Meta:
        model = LanguageModel
        fields = (
            "repo_id", "name", "organization", "weights", "gated", "modality", "description",
            "parameters", "parameters_source", "active_parameters", "architecture", "model_type",
            "context_length", "pipeline_tag", "library_name", "tags", "license", "license_name", "languages",
            "base_model", "base_model_ref", "base_relation", "release_date", "release_date_precision", "sources",
            "in_catalog", "provider", "endpoint_base_url", "endpoint_model_name", "endpoint_api_key_env",
            "local_weights",
        )  # fmt: skip
        widgets = {"description": forms.Textarea(attrs={"rows": 6})}

    def clean_endpoint_base_url(self) -> str:
        return endpoint_url_clean(self.cleaned_data.get("endpoint_base_url", ""))

    def clean_endpoint_api_key_env(self) -> str:
        name = (self.cleaned_data.get("endpoint_api_key_env") or "").strip()
        if name and not (name.replace("_", "").isalnum() and name.isascii() and not name[0].isdigit()):
            raise forms.ValidationError(
                _("Give the NAME of an environment variable (letters, digits, underscores), e.g. OPENAI_API_KEY.")
            )
        if name and (name.lower().startswith(("sk-", "sk_")) or len(name) > 64):
            raise forms.ValidationError(_("This looks like a key, not a variable name. Never store keys here."))
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("endpoint_base_url") and not data.get("endpoint_model_name"):
            self.add_error("endpoint_model_name", _("An endpoint needs the model name it serves."))
        return data


@admin.register(LanguageModel)
class LanguageModelAdmin(admin.ModelAdmin):
    form = LanguageModelForm
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
        (None, {"fields": ("repo_id", "name", "organization", "weights", "gated", "modality", "description", "tags")}),
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
