"""Staff page of Hub syncs: what each sync did and what went wrong, and a form to start one."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from registry.models import SyncRun
from registry.selectors.syncs import sync_run_list
from registry.services.hub_sync import sync_run_request


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.replace(",", " ").split() if part.strip()]


@login_required
def sync_list(request: HttpRequest) -> HttpResponse:
    """GET: the sync runs, newest first (staff only). POST: queue a sync for the given scope."""
    if not request.user.is_staff:
        raise PermissionDenied(_("Only staff can see Hub syncs."))
    form_errors: list[str] = []
    if request.method == "POST":
        authors = _split(request.POST.get("authors", ""))
        models = _split(request.POST.get("models", ""))
        search = request.POST.get("search", "").strip() or None
        limit_text = request.POST.get("limit", "").strip()
        limit = None
        if limit_text:
            if not limit_text.isdigit() or int(limit_text) <= 0:
                form_errors.append(_("The limit must be a positive whole number."))
            else:
                limit = int(limit_text)
        if not (authors or models or search or limit):
            form_errors.append(_("Say what to sync: authors, model ids, a search text or a limit."))
        if not form_errors:
            run = sync_run_request(
                user=request.user,
                trigger=SyncRun.Trigger.ADMIN,
                authors=authors,
                models=models,
                search=search,
                limit=limit,
            )
            messages.success(request, _("Sync #%(id)s queued.") % {"id": run.pk})
            return redirect("registry:sync-list")
    page = Paginator(sync_run_list(status=request.GET.get("status") or None), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "registry/sync_list.html",
        {"page": page, "statuses": SyncRun.Status.choices, "form_errors": form_errors, "form": request.POST},
        status=400 if form_errors else 200,
    )
