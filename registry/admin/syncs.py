"""Admin for Hub syncs: SyncRun (read-only, with counts and errors), a form to start a sync, and the
"Sync selected from the Hub" action on models (added to the LanguageModel admin when it is registered;
`hub_sync_selected` can also be listed in that admin's `actions`).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from registry.models import LanguageModel, SyncRun
from registry.services.hub_sync import sync_run_request


class SyncStartForm(forms.Form):
    authors = forms.CharField(
        label=_("Authors"), required=False, help_text=_("Hub organizations, separated by spaces or commas")
    )
    models = forms.CharField(label=_("Model ids"), required=False, help_text=_("exact repo ids, space-separated"))
    search = forms.CharField(label=_("Search"), required=False, max_length=200)
    limit = forms.IntegerField(label=_("Limit"), required=False, min_value=1, help_text=_("models per author"))

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        data["authors"] = [a for a in (data.get("authors") or "").replace(",", " ").split() if a]
        data["models"] = [m for m in (data.get("models") or "").replace(",", " ").split() if m]
        if not (data["authors"] or data["models"] or data.get("search") or data.get("limit")):
            raise forms.ValidationError(_("Say what to sync: authors, model ids, a search text or a limit."))
        return data


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "started_at",
        "finished_at",
        "trigger",
        "status",
        "scope_text",
        "seen",
        "created",
        "updated",
        "unchanged",
        "failed",
        "missing",
        "requested_by",
    )
    list_filter = ("status", "trigger")
    date_hierarchy = "started_at"
    list_select_related = ("requested_by",)
    readonly_fields = [f.name for f in SyncRun._meta.fields if f.name != "errors"] + ["errors_table"]
    exclude = ("errors",)
    change_list_template = "admin/registry/syncrun/change_list.html"

    @admin.display(description=_("scope"))
    def scope_text(self, run: SyncRun) -> str:
        scope = run.scope or {}
        parts = []
        if scope.get("authors"):
            parts.append("authors: " + ", ".join(scope["authors"]))
        if scope.get("models"):
            parts.append("models: " + ", ".join(scope["models"]))
        if scope.get("search"):
            parts.append(f"search: {scope['search']}")
        if scope.get("limit"):
            parts.append(f"limit: {scope['limit']}")
        return "; ".join(parts) or "—"

    @admin.display(description=_("errors"))
    def errors_table(self, run: SyncRun) -> str:
        if not run.errors:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            ((e.get("repo_id") or "(listing)", e.get("kind", ""), e.get("message", "")) for e in run.errors),
        )
        return format_html("<table><tr><th>model</th><th>kind</th><th>message</th></tr>{}</table>", rows)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SyncRun | None = None) -> bool:
        return False

    def get_urls(self):
        start = self.admin_site.admin_view(self.start_view)
        return [path("start/", start, name="registry_syncrun_start"), *super().get_urls()]

    def start_view(self, request: HttpRequest) -> HttpResponse:
        """A form for staff to queue a sync of authors / models / a search."""
        if not request.user.is_staff:
            raise PermissionDenied
        form = SyncStartForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            run = sync_run_request(
                user=request.user,
                trigger=SyncRun.Trigger.ADMIN,
                authors=form.cleaned_data["authors"],
                models=form.cleaned_data["models"],
                search=form.cleaned_data.get("search") or None,
                limit=form.cleaned_data.get("limit"),
            )
            self.message_user(request, _("Sync #%(id)s queued.") % {"id": run.pk}, messages.SUCCESS)
            return redirect(reverse("admin:registry_syncrun_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": _("Start a Hub sync"),
        }
        return TemplateResponse(request, "admin/registry/syncrun/start.html", context)


@admin.action(description=_("Sync selected from the Hub"), permissions=["view"])
def hub_sync_selected(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[LanguageModel]) -> None:
    """Queue one sync of the selected open models (closed models are not on the Hub)."""
    repo_ids = list(queryset.filter(weights=LanguageModel.Weights.OPEN).values_list("repo_id", flat=True))
    if not repo_ids:
        modeladmin.message_user(
            request, _("None of the selected models has open weights on the Hub."), messages.WARNING
        )
        return
    run = sync_run_request(user=request.user, trigger=SyncRun.Trigger.ADMIN, models=repo_ids)
    modeladmin.message_user(
        request, _("Sync #%(id)s queued for %(n)d models.") % {"id": run.pk, "n": len(repo_ids)}, messages.SUCCESS
    )


def install_model_admin_actions(site: admin.AdminSite = admin.site) -> bool:
    """Add "Sync selected from the Hub" to the registered LanguageModel admin (idempotent)."""
    model_admin = site._registry.get(LanguageModel)
    if model_admin is None:
        return False
    actions = list(model_admin.actions or [])
    if hub_sync_selected not in actions and "hub_sync_selected" not in actions:
        model_admin.actions = [*actions, hub_sync_selected]
    return True


install_model_admin_actions()
