"""Admin for evaluation runs (cancel and retry actions through the services) and read-only results."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from evals import services
from evals.models import BenchmarkResult, EvalRun, ImportJob, ItemResult, ResultImport


class BenchmarkResultInline(admin.TabularInline):
    model = BenchmarkResult
    extra = 0
    can_delete = False
    fields = (
        "benchmark",
        "primary_metric",
        "value",
        "stderr",
        "n",
        "method",
        "variant",
        "unparsed",
        "answer_stats",
        "n_shot",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(EvalRun)
class EvalRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "model",
        "suite",
        "backend",
        "status",
        "method",
        "flagged",
        "progress_done",
        "progress_total",
        "is_partial",
        "attempts",
        "worker_host",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "suite", "backend", "method", "flagged", "is_partial")
    search_fields = ("model__repo_id", "error", "worker_host")
    list_select_related = ("model", "submitted_by")
    raw_id_fields = ("model", "submitted_by")
    readonly_fields = [f.name for f in EvalRun._meta.fields]
    inlines = [BenchmarkResultInline]
    actions = ["cancel_runs", "retry_runs", "accept_flags"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs are created by the submission service, the API or `manage.py evaluate`

    def _apply(self, request: HttpRequest, queryset: QuerySet[EvalRun], action, verb: str) -> None:  # noqa: ANN001
        done, refused = 0, []
        for run in queryset:
            try:
                action(run_id=run.pk, user=request.user)
                done += 1
            except (services.SubmissionError, PermissionDenied) as exc:
                refused.append(f"#{run.pk}: {exc}")
        if done:
            self.message_user(request, _("%(n)d run(s) %(verb)s.") % {"n": done, "verb": verb}, messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.WARNING)

    @admin.action(description=_("Cancel selected runs"))
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet[EvalRun]) -> None:
        self._apply(request, queryset, services.eval_run_cancel, str(_("cancelled or stopping")))

    @admin.action(description=_("Retry selected runs (failed or cancelled; resumes from stored items)"))
    def retry_runs(self, request: HttpRequest, queryset: QuerySet[EvalRun]) -> None:
        self._apply(request, queryset, services.eval_run_retry, str(_("queued again")))

    @admin.action(description=_("Accept flagged scores (the selected degenerate runs rank from now on)"))
    def accept_flags(self, request: HttpRequest, queryset: QuerySet[EvalRun]) -> None:
        self._apply(request, queryset, services.eval_run_accept_flag, str(_("accepted: they rank now")))


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(BenchmarkResult)
class BenchmarkResultAdmin(_ReadOnlyAdmin):
    list_display = (
        "run",
        "benchmark",
        "primary_metric",
        "value",
        "stderr",
        "n",
        "method",
        "variant",
        "unparsed",
        "n_shot",
    )
    list_filter = ("benchmark", "method")
    list_select_related = ("run", "run__model")
    search_fields = ("run__model__repo_id", "benchmark")


@admin.register(ItemResult)
class ItemResultAdmin(_ReadOnlyAdmin):
    list_display = ("run", "benchmark", "item_id", "position", "correct")
    list_filter = ("benchmark", "correct")
    list_select_related = ("run", "run__model")
    search_fields = ("item_id", "run__id")
    show_full_result_count = False


# --- results imports (evals/exchange) ------------------------------------------------------------------


@admin.register(ResultImport)
class ResultImportAdmin(_ReadOnlyAdmin):
    """Imported files: read-only here (import with `import_results`, the API, or an ImportJob below)."""

    list_display = ("id", "source", "format", "run", "model_name", "harness_version", "imported_by", "created_at")
    list_filter = ("format",)
    search_fields = ("source", "model_name", "digest")
    list_select_related = ("run", "imported_by")


class ImportJobForm(forms.ModelForm):
    class Meta:
        model = ImportJob
        fields = ("source", "revision")
        labels = {"source": _("Hub dataset (results archive)")}
        help_texts = {"source": _("laid out as <org>/<model>/results_<timestamp>.json")}


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Adding a job imports a Hub results archive on the workers; its progress and errors show here."""

    form = ImportJobForm
    list_display = ("id", "source", "revision", "status", "files_done", "files_total", "created", "unchanged", "failed")
    list_filter = ("status",)
    readonly_fields = (
        "status",
        "files_total",
        "files_done",
        "created",
        "unchanged",
        "failed",
        "errors",
        "requested_by",
    )

    def has_change_permission(self, request: HttpRequest, obj: ImportJob | None = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: ImportJob, form: Any, change: bool) -> None:
        from evals.exchange.services import import_job_enqueue

        job = import_job_enqueue(repo_id=obj.source, revision=obj.revision or "main", user=request.user)
        obj.pk = job.pk
        messages.info(request, _("Import job #%(id)d queued.") % {"id": job.pk})
