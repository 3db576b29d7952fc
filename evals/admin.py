"""Admin for evaluation runs (cancel and retry actions through the services) and read-only results."""

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
from django.utils.translation import gettext_lazy as _

from evals import services
from evals.models import BenchmarkResult, EvalRun, HubPublication, ImportJob, ItemResult, ResultImport


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
    actions = ["cancel_runs", "retry_runs", "accept_flags", "publish_runs"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs are created by the submission service, the API or `manage.py evaluate`

    def _apply(self, request: HttpRequest, queryset: QuerySet[EvalRun], action, verb: str) -> None:
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

    @admin.action(description=_("Publish selected runs to the Hub (one pull request per run)"))
    def publish_runs(self, request: HttpRequest, queryset: QuerySet[EvalRun]) -> None:
        from evals.exchange import publish

        for run in queryset.order_by("pk"):
            try:
                outcome = publish.hub_publication_create(run_id=run.pk, user=request.user)
            except (publish.PublishError, PermissionError) as exc:
                self.message_user(request, f"#{run.pk}: {getattr(exc, 'message', exc)}", messages.ERROR)
                continue
            pr = outcome.publication.pr_url
            if outcome.created:
                message = _("#%(id)d: pull request opened: %(url)s") % {"id": run.pk, "url": pr}
            else:
                message = _("#%(id)d: published before: %(url)s") % {"id": run.pk, "url": pr}
            self.message_user(request, message, messages.SUCCESS)

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


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented recipe): cleans to a list of uploaded files."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)]


class ResultUploadForm(forms.Form):
    # A form field named `files` shadows BaseForm.files (the request's uploads) on the class only: Django's
    # form metaclass takes declared fields off the class, so the instance keeps its uploads.
    files = MultipleFileField(  # type: ignore[assignment]
        label=_("Results files"),
        help_text=_(
            "lm-evaluation-harness 0.4 results_<date>.json (with the samples_<task>_<date>.jsonl files of the "
            "same run, for per-item results) or Open LLM Leaderboard v1 results files; the whole upload at most "
            "LADDER_MAX_REQUEST_BODY bytes."
        ),
    )
    model = forms.CharField(
        label=_("Model id"),
        required=False,
        max_length=200,
        help_text=_("Only when the files name a local path instead of a Hub model id."),
    )


@admin.register(ResultImport)
class ResultImportAdmin(_ReadOnlyAdmin):
    """Imported files: read-only rows; "Upload results files" imports files through the same importer as
    `import_results` and `POST /api/v1/imports/` (an ImportJob with the files' errors)."""

    list_display = ("id", "source", "format", "run", "model_name", "harness_version", "imported_by", "created_at")
    list_filter = ("format",)
    search_fields = ("source", "model_name", "digest")
    list_select_related = ("run", "imported_by")
    change_list_template = "admin/evals/resultimport/change_list.html"

    def get_urls(self):
        upload = self.admin_site.admin_view(self.upload_view)
        return [path("upload/", upload, name="evals_resultimport_upload"), *super().get_urls()]

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        """Staff (or holders of the import permission) upload results files; each is imported or named with
        its error (file, field, message), as the command prints them."""
        from evals.exchange.services import import_job_create, import_job_run_files, result_files_from_uploads

        if not request.user.is_staff:  # as the imports API: staff import
            raise PermissionDenied
        form = ResultUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            uploads = [(f.name, f.read()) for f in form.cleaned_data["files"]]
            files, errors = result_files_from_uploads(uploads)
            job = import_job_create(source="admin upload", user=request.user, files_total=len(files))
            job = import_job_run_files(
                job, files, errors=errors, model=form.cleaned_data.get("model") or None, user=request.user
            )
            for record in job.imports.order_by("pk").select_related("run"):
                where = (
                    _("ranked on %(suite)s") % {"suite": record.run.suite}
                    if not record.run.is_partial
                    else _("stored, not ranked")
                )
                self.message_user(
                    request,
                    _("%(file)s imported as run #%(run)d (%(where)s).")
                    % {"file": record.source, "run": record.run_id, "where": where},
                    messages.SUCCESS,
                )
            if job.unchanged:
                self.message_user(
                    request,
                    _("%(n)d file(s) were imported before: nothing changed.") % {"n": job.unchanged},
                    messages.INFO,
                )
            for error in job.errors or []:
                field = f" [{error['field']}]" if error.get("field") else ""
                self.message_user(request, f"{error['file']}{field}: {error['message']}", messages.ERROR)
            return redirect(reverse("admin:evals_resultimport_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": _("Upload results files"),
        }
        return TemplateResponse(request, "admin/evals/resultimport/upload.html", context)


@admin.register(HubPublication)
class HubPublicationAdmin(_ReadOnlyAdmin):
    """Runs published to the Hub as pull requests (the "Publish" action on runs makes them)."""

    list_display = ("id", "run", "repo_id", "status", "pr_url", "requested_by", "created_at", "finished_at")
    list_filter = ("status",)
    search_fields = ("repo_id", "pr_url", "run__id")
    list_select_related = ("run", "requested_by")


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
