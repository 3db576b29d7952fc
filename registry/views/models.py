"""Registry pages: /models/ (filters, search, sorting, pagination) and /models/<org>/<name>/."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from registry.models import Language, LanguageModel, License
from registry.selectors.models import (
    SIZE_BUCKET_LABELS,
    FilterError,
    model_filters_clean,
    model_get,
    model_hub_url,
    model_lineage,
    model_memory,
    model_sources,
)
from registry.selectors.models import model_list as model_list_selector

PAGE_SIZE = 50
# Sortable columns of the list: (column, ordering key used for ascending).
SORTABLE = ("name", "parameters", "downloads", "likes", "release_date", "id")


def model_list(request: HttpRequest) -> HttpResponse:
    """The filterable model list; bad filter values are shown next to the form with status 400."""
    errors: dict[str, str] = {}
    try:
        filters = model_filters_clean(request.GET)
    except FilterError as exc:
        errors = exc.errors
        filters = {}
    page = Paginator(model_list_selector(filters=filters), PAGE_SIZE).get_page(request.GET.get("page"))
    ordering = filters.get("ordering", "id")
    sort_links = {}
    for column in SORTABLE:
        # Numbers and dates read best largest/newest first; names A to Z.
        first = column if column in ("name", "id") else f"-{column}"
        current = ordering.lstrip("-") == column
        target = (column if ordering.startswith("-") else f"-{column}") if current else first
        sort_links[column] = {"ordering": target, "active": current, "descending": ordering.startswith("-")}
    context = {
        "page": page,
        "models": page.object_list,
        "filters": filters,
        "raw": {key: request.GET.get(key, "") for key in request.GET},
        "errors": errors,
        "sort": sort_links,
        "languages": Language.objects.filter(models__isnull=False).distinct().order_by("code"),
        "licenses": License.objects.filter(models__isnull=False).distinct().order_by("key"),
        "modalities": LanguageModel.Modality.choices,
        "sizes": list(SIZE_BUCKET_LABELS.items()),
        "filtered": bool(set(filters) - {"ordering"}),
        # The secondary filters sit in a <details> that is open whenever one of them is in use.
        "more_open": bool(
            set(filters) & {"size", "min_params", "max_params", "modality", "organization", "base", "commercial"}
            or set(errors) - {"search", "weights", "language", "license"}
        ),
    }
    return render(request, "registry/model_list.html", context, status=400 if errors else 200)


def model_detail(request: HttpRequest, org: str, name: str) -> HttpResponse:
    """Every fact about one model, its sources, lineage both ways, memory needs and evaluations."""
    try:
        model = model_get(repo_id=f"{org}/{name}")
    except LanguageModel.DoesNotExist as exc:
        raise Http404(_("No model %(id)s in the registry.") % {"id": f"{org}/{name}"}) from exc
    chain, derivatives = model_lineage(model=model)
    context = {
        "model": model,
        "languages": sorted(model.languages.all(), key=lambda lang: lang.code),
        "base_chain": chain,
        "derivatives": derivatives,
        "memory": model_memory(model=model),
        "hub_link": model_hub_url(model),
        "sources": model_sources(model=model, language=get_language()),
        "show_endpoint": request.user.is_staff,
    }
    return render(request, "registry/model_detail.html", context)
