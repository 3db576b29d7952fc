"""Pages: the leaderboard (/), compare (/compare/), benchmarks (/benchmarks/, /benchmarks/<key>/).

Thin: validate the query string with the API's LeaderboardQuerySerializer, call the leaderboard
selectors, render. The board body is rendered once per cache generation, language and query and kept
in the cache (it holds nothing user-specific), so a warm page costs two cache reads.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from evals.api.leaderboard_serializers import LeaderboardQuerySerializer, model_filters
from evals.charts import bar_chart, scatter_chart
from evals.selectors.leaderboard import (
    BOARDS,
    DEFAULT_METHOD,
    LeaderboardError,
    benchmark_info,
    benchmark_infos,
    benchmarks,
    compare_models,
    leaderboard_cache_peek,
    leaderboard_cache_put,
    leaderboard_cached,
    leaderboard_page,
    model_choices,
    suite_boards,
    suites,
)
from evals.selectors.reported import (
    ReportedBoardError,
    reported_board,
    reported_note,
    reported_scores_exist,
    runs_exist,
)
from evals.selectors.runs import flagged_runs_pending, run_list
from evals.templatetags.evals_extras import ci_norm, ci_pct, norm, pct, pm_norm, pm_pct
from registry.models import Language, LanguageModel, License
from registry.selectors.models import SIZE_BUCKET_LABELS

DEFAULTS = {"suite": "quick", "board": "overall", "score": "raw", "ordering": "rank", "page": 1, "per_page": 100}


def _board_label(board: str) -> str:
    return {"overall": _("Overall"), "en": _("English"), "zh": "中文"}[board]


def _params(request: HttpRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validated params; invalid fields are reported and fall back to their defaults."""
    query = LeaderboardQuerySerializer(data=request.GET)
    if query.is_valid():
        return dict(query.validated_data), {}
    errors = dict(query.errors)
    data = {k: v for k, v in request.GET.items() if k not in errors}
    if "non_field_errors" in errors or "board" in errors or "suite" in errors:
        data.pop("board", None)
        data.pop("ordering", None)
    retry = LeaderboardQuerySerializer(data=data)
    if retry.is_valid():
        return dict(retry.validated_data), errors
    return dict(DEFAULTS), errors


def _raw_query(request: HttpRequest) -> dict[str, str]:
    """The user's own query values (as typed), for links and the form."""
    return {k: v for k, v in request.GET.items() if isinstance(v, str) and v != ""}


def _url(query: dict[str, str], **changes: Any) -> str:
    merged = {**query, **{k: v for k, v in changes.items()}}
    clean = {
        k: v for k, v in merged.items() if v not in (None, "") and not (k in DEFAULTS and str(v) == str(DEFAULTS[k]))
    }
    return "?" + urlencode(clean) if clean else "?"


def leaderboard(request: HttpRequest) -> HttpResponse:
    language = get_language() or "en"
    raw = {"query": sorted(request.GET.lists()), "lang": language}
    hit = leaderboard_cache_peek("page-raw", raw)
    if hit is not None:  # the same query string again: no validation, no selectors
        html, errors, params = hit
        return render(
            request,
            "evals/leaderboard.html",
            {"board_html": mark_safe(html), "errors": errors, "params": params, **_in_progress(html)},
        )
    params, errors = _params(request)
    query = _raw_query(request)
    query.pop("page", None)
    for bad in errors:
        query.pop(bad, None)

    def body() -> str:
        provenance = params.get("provenance")
        if provenance == "reported":
            try:
                return _render_reported(params, query, language)
            except ReportedBoardError as exc:
                errors["benchmark"] = [str(exc)]
                return _render_reported({**params, "benchmark": "mmlu", "shots": None, "claim": ""}, {}, language)
        return _render_board({**params, "provenance": provenance or "all"}, query, language, default=not provenance)

    try:
        html = leaderboard_cached("page", {**params, "_lang": language, "_query": query}, body)
    except LeaderboardError as exc:  # e.g. a suite removed from the code while a link still names it
        errors["suite"] = [str(exc)]
        params = dict(DEFAULTS)
        html = _render_board(params, {}, language)
    errors = {field: [str(m) for m in messages] for field, messages in errors.items()}
    leaderboard_cache_put("page-raw", raw, (html, errors, params))
    return render(
        request,
        "evals/leaderboard.html",
        {"board_html": mark_safe(html), "errors": errors, "params": params, **_in_progress(html)},
    )


def _fresh_install() -> bool:
    """No run at all (measured or imported, in any state) but published figures to show: a bare `/`
    then opens on the reported board rather than an empty one."""
    return not runs_exist() and reported_scores_exist()


def _in_progress(html: str) -> dict[str, Any]:
    """The queued and running runs, shown under an empty measured board (not cached: progress moves)."""
    if REPORTED_MARK in html:
        return {"reported_view": True}
    if EMPTY_BOARD_MARK not in html:
        return {}
    return {"in_progress": list(run_list(filters={"status": ["queued", "running"]})[:20])}


EMPTY_BOARD_MARK = 'data-board-empty="1"'
REPORTED_MARK = 'class="lb-reported" data-provenance="reported"'


def _method_links(query: dict[str, str], current: str) -> list[dict[str, Any]]:
    """The method switch: log-likelihood scores and generatively answered ones rank on separate boards."""
    labels = {"loglikelihood": _("log-likelihood"), "generative": _("generative (chat endpoints)")}
    return [
        {
            "key": key,
            "label": label,
            "url": _url(query, method=None if key == DEFAULT_METHOD else key, page=None, ordering=None),
            "active": key == current,
        }
        for key, label in labels.items()
    ]


def _provenance_links(query: dict[str, str], current: str) -> list[dict[str, Any]]:
    """The provenance switch: one vocabulary for pages, API and CSV (measured, imported, reported)."""
    labels = {
        "all": _("measured + imported"),
        "measured": _("measured"),
        "imported": _("imported"),
        "reported": _("reported"),
    }
    links = []
    for key, label in labels.items():
        changes: dict[str, Any] = {"provenance": key, "page": None, "ordering": None}
        if key != "reported":
            changes.update(benchmark=None, shots=None, claim=None)
        links.append({"key": key, "label": label, "url": _url(query, **changes), "active": key == current})
    return links


def _render_reported(params: dict[str, Any], query: dict[str, str], language: str) -> str:
    board = reported_board(
        benchmark=params.get("benchmark") or "mmlu",
        shots=params.get("shots"),
        filters=model_filters(params),
        claim=params.get("claim") or None,
    )
    base = {k: v for k, v in query.items() if k not in ("shots", "claim")}
    context = {
        "board": board,
        "note": reported_note(),
        "provenance_links": _provenance_links(query, "reported"),
        "benchmark_links": [
            {
                "key": b["key"],
                "name": b["name"],
                "figures": b["figures"],
                "url": _url(base, provenance="reported", benchmark=b["key"]),
                "active": b["key"] == board.benchmark,
            }
            for b in board.benchmarks
        ],
        "shot_links": [
            {"shots": None, "url": _url(query, provenance="reported", shots=None), "active": board.shots is None}
        ]
        + [
            {"shots": n, "url": _url(query, provenance="reported", shots=n), "active": board.shots == n}
            for n in board.shot_choices
        ],
        "claim_url": _url(query, provenance="reported", claim="contradicted"),
        "claim_clear_url": _url(query, provenance="reported", claim=None),
        "csv_url": "/api/v1/leaderboard.csv" + _url(query, provenance="reported"),
        "api_url": "/api/v1/leaderboard/" + _url(query, provenance="reported"),
    }
    from django.utils import translation

    with translation.override(language):
        return render_to_string("evals/partials/leaderboard_reported.html", context)


def _render_board(params: dict[str, Any], query: dict[str, str], language: str, *, default: bool = False) -> str:
    page = leaderboard_page(
        suite=params["suite"],
        board=params["board"],
        filters=model_filters(params),
        score=params["score"],
        ordering=params["ordering"],
        page=params["page"],
        per_page=params["per_page"],
        chart=True,
        provenance=params.get("provenance") or "all",
        method=params.get("method") or DEFAULT_METHOD,
    )
    filtered = bool(model_filters(params))
    # Checked only when the measured board is empty, so a populated board costs no query for it.
    if default and not page.count and not page.not_ranked_count and not filtered and _fresh_install():
        return _render_reported(params, query, language)
    normalized = params["score"] == "normalized"
    ordering = params["ordering"]
    # xgettext:no-python-format
    interval_word = _("95% interval")
    words = _row_words()
    rows_html = mark_safe(
        "".join(_ranked_row(row, page.benchmarks, normalized, interval_word, words, language) for row in page.rows)
    )  # built by _ranked_row: numbers formatted, every text escaped
    for row in page.not_ranked:
        row.cells_html = _plain_cells(row, page.benchmarks)  # type: ignore[attr-defined]

    def sort_link(name: str, default_desc: bool) -> dict[str, Any]:
        current = ordering.lstrip("-")
        desc = ordering.startswith("-")
        if current == name:
            target = name if desc else f"-{name}"
        else:
            target = f"-{name}" if default_desc else name
        arrow = ("▼" if desc else "▲") if current == name else ""
        return {"url": _url(query, ordering=target, page=None), "arrow": arrow}

    specs = benchmarks()
    columns = [
        {"key": key, "name": getattr(specs.get(key), "name", key), "sort": sort_link(key, True)}
        for key in page.benchmarks
    ]
    chart = scatter_chart(
        [(p.repo_id, p.parameters, p.score, p.on_frontier) for p in page.chart],
        percent=not normalized,
        x_label=_("Parameters (log scale)"),
        y_label=_("Normalized average") if normalized else _("Average score (%)"),
    )
    boards = [
        {"key": b, "label": _board_label(b), "url": _url(query, board=b, ordering=None), "active": b == page.board}
        for b in suite_boards(suite=page.suite)
    ]
    context = {
        "page": page,
        "rows_html": rows_html,
        "params": params,
        "query": query,
        "normalized": normalized,
        "columns": columns,
        "sort": {
            "rank": sort_link("rank", False),
            "name": sort_link("name", False),
            "parameters": sort_link("parameters", True),
            "average": sort_link("average_normalized" if normalized else "average", True),
        },
        "boards": boards,
        "score_urls": {"raw": _url(query, score="raw"), "normalized": _url(query, score="normalized")},
        "suites": [(key, str(s.name)) for key, s in suites().items()],
        "chart": chart,
        "chart_dots": _dots(chart),
        "prev_url": _url(query, page=page.page - 1) if page.page > 1 else "",
        "next_url": _url(query, page=page.page + 1) if page.page < page.pages else "",
        "csv_url": "/api/v1/leaderboard.csv" + _url(query),
        "api_url": "/api/v1/leaderboard/" + _url(query),
        "filtered": filtered,
        "options": {
            "licenses": list(License.objects.order_by("key").values_list("key", flat=True)),
            "languages": list(Language.objects.order_by("code").values_list("code", flat=True)),
            "sizes": list(SIZE_BUCKET_LABELS.items()),
            "modalities": LanguageModel.Modality.choices,
        },
        "BOARDS": BOARDS,
        "provenance_links": _provenance_links(query, page.provenance),
        "provenance": page.provenance,
        "method_links": _method_links(query, page.method),
        "method": page.method,
        "flagged_runs": flagged_runs_pending(suite=page.suite, method=page.method),
    }
    from django.utils import translation

    with translation.override(language):
        return render_to_string("evals/partials/leaderboard_body.html", context)


# The board's repeated markup (score cells, chart dots) is built with f-strings: hundreds of cells per page
# through format_html were most of the page's time. Every text that is not a number goes through html.escape
# (what django.utils.html.escape does), numbers are formatted here.
_NO_SCORE = '<td class="score">–</td>'


def _score_cells(row: Any, keys: list[str], normalized: bool, interval_word: str) -> str:
    """The score cells of one row as HTML."""
    cells = []
    word = escape(interval_word)
    for key in keys:
        score = row.scores.get(key)
        if score is None:
            cells.append(_NO_SCORE)
            continue
        if normalized:
            value, pair, scale = score.normalized, score.ci95_normalized, 1.0
        else:
            value, pair, scale = score.value, score.ci95, 100.0
        metric = escape(str(score.metric))
        if pair:
            half = f"±{(pair[1] - pair[0]) / 2 * scale:.1f}"
            title = f"{metric}, n={score.n}, {word} {pair[0] * scale:.1f}–{pair[1] * scale:.1f}"
        else:
            half, title = "", f"{metric}, n={score.n}"
        cells.append(f'<td class="score">{value * scale:.1f} <small title="{title}">{half}</small></td>')
    return mark_safe("".join(cells))  # numbers formatted here, every text escaped


def _row_words() -> dict[str, str]:
    """The words of a ranked row, translated and escaped once per page."""
    return {
        key: escape(str(text))
        for key, text in {
            "rank_range": _("rank range"),
            "open": _("open"),
            "closed": _("closed"),
            "commercial_use": _("commercial use"),
            "imported_title": _("imported: an lm-evaluation-harness run made elsewhere, read from its output files"),
            "imported": _("imported"),
            "frontier": _("on the Pareto frontier: no smaller model scores higher"),
            # xgettext:no-python-format
            "interval": _("95% interval"),
            "revision": _("revision"),
            "engine": _("engine"),
        }.items()
    }


def _ranked_row(
    row: Any, keys: list[str], normalized: bool, interval_word: str, words: dict[str, str], language: str
) -> str:
    """One ranked row of the board as HTML (50 to 500 per page: a template loop was most of the page's time).
    What does not depend on the request (all but the rank and the frontier badge) is built once per row,
    score mode and language, and kept with the row (LeaderboardRow.rendered)."""
    key = ("html", normalized, language)
    parts = row.rendered.get(key)
    if parts is None:
        cells = _score_cells(row, keys, normalized, interval_word)
        parts = row.rendered[key] = _ranked_row_parts(row, cells, normalized, words)
    rank_range = "" if row.rank_worst == row.rank else f'<small class="rank-range">–{row.rank_worst}</small>'
    frontier = f' <span class="badge frontier" title="{words["frontier"]}">★</span>' if row.on_frontier else ""
    return (
        f'<tr><td class="rank" title="{words["rank_range"]} {row.rank}–{row.rank_worst}">{row.rank}{rank_range}</td>'
        f"{parts[0]}{frontier}{parts[1]}"
    )


def _ranked_row_parts(row: Any, cells: str, normalized: bool, words: dict[str, str]) -> tuple[str, str]:
    """A ranked row's HTML after the rank cell, in two parts: up to the frontier badge, and after it."""
    model, run = row.model, row.run
    repo_id = escape(model.repo_id)
    badges = [
        f'<span class="badge open">{words["open"]}</span>'
        if model.weights == "open"
        else f'<span class="badge closed">{words["closed"]}</span>'
    ]
    if model.license:
        badges.append(
            f'<span class="badge license" title="{words["commercial_use"]}: {escape(str(model.commercial_use_display))}">'
            f"{escape(model.license)}</span>"
        )
    badges.extend(f'<span class="badge lang">{escape(code)}</span>' for code in model.languages)
    if run.provenance == "imported":
        badges.append(f'<span class="badge imported" title="{words["imported_title"]}">{words["imported"]}</span>')
    if normalized:
        average, interval, half = (
            norm(row.average_normalized),
            ci_norm(row.ci95_normalized),
            pm_norm(row.ci95_normalized),
        )
    else:
        average, interval, half = pct(row.average), ci_pct(row.ci95), pm_pct(row.ci95)
    head = (
        f'<th scope="row" class="model"><a href="/models/{repo_id}/">{repo_id}</a> <span class="badges">'
        f"{' '.join(badges)}"
    )
    tail = (
        "</span></th>"
        f'<td class="size">{escape(model.parameters_display) or "–"}</td>'
        f'<td class="avg"><strong>{average}</strong> <small title="{words["interval"]} {interval}">{half}</small></td>'
        f"{cells}"
        f'<td class="run"><a href="/runs/{int(run.id)}/" title="{words["revision"]} {escape(run.sha)}, '
        f'{words["engine"]} {escape(run.engine_version)}">#{int(run.id)}</a></td></tr>\n'
    )
    return head, tail


def _plain_cells(row: Any, keys: list[str]) -> str:
    cells = []
    for key in keys:
        score = row.scores.get(key)
        if score is None:
            cells.append(_NO_SCORE)
        else:
            cells.append(f'<td class="score">{score.value * 100:.1f} <small>n={score.n}</small></td>')
    return mark_safe("".join(cells))  # numbers only


def _dots(chart: Any) -> str:
    """The chart's dots as SVG (a few hundred elements)."""
    if chart is None:
        return ""
    parts = []
    for d in chart.dots:
        style = 'r="5" class="dot frontier-dot" fill="#d9822b"' if d.frontier else 'r="3.5" class="dot" fill="#2952cc"'
        parts.append(
            f'<a href="{escape(d.href)}"><circle cx="{float(d.x)}" cy="{float(d.y)}" {style} fill-opacity="0.6">'
            f"<title>{escape(d.label)}</title></circle></a>"
        )
    return mark_safe("".join(parts))  # numbers formatted here, every text escaped


def compare(request: HttpRequest) -> HttpResponse:
    suite = request.GET.get("suite") or "quick"
    ids = [m for m in request.GET.getlist("models") if m.strip()][:4]
    errors: list[str] = []
    if len(request.GET.getlist("models")) > 4:
        errors.append(_("Compare at most four models; the first four are shown."))
    entries: list[Any] = []
    known_suites = suites()
    if suite not in known_suites:
        errors.append(_("Unknown suite %(suite)s.") % {"suite": suite})
        suite = "quick" if "quick" in known_suites else next(iter(known_suites), "quick")
    if ids:
        entries, missing = compare_models(suite=suite, model_ids=ids)
        for repo_id in missing:
            errors.append(_("No model %(id)s in the registry.") % {"id": repo_id})
        if len(entries) < 2 and not missing:
            errors.append(_("Choose at least two models to compare."))
    keys = list(known_suites[suite].benchmarks) if suite in known_suites else []
    specs = benchmarks()
    table = []
    for key in keys:
        cells = []
        for entry in entries:
            found = None
            if entry.summary is not None:
                found = next((s for s in entry.summary.scores if s.benchmark == key), None)
            cells.append(found)
        table.append({"key": key, "name": getattr(specs.get(key), "name", key), "cells": cells})
    chart = bar_chart(
        [row["name"] for row in table],
        [
            (entry.model.repo_id, [((c.value, c.ci95) if c else (None, None)) for c in (r["cells"][i] for r in table)])
            for i, entry in enumerate(entries)
        ],
        percent=True,
    )
    slots = ids + [""] * (4 - len(ids))
    return render(
        request,
        "evals/compare.html",
        {
            "suite": suite,
            "suites": [(key, str(s.name)) for key, s in known_suites.items()],
            "entries": entries,
            "table": table,
            "chart": chart,
            "errors": errors,
            "slots": slots,
            "choices": model_choices(suite=suite),
        },
    )


def benchmark_list(request: HttpRequest) -> HttpResponse:
    return render(request, "evals/benchmark_list.html", {"benchmarks": benchmark_infos()})


def benchmark_detail(request: HttpRequest, key: str) -> HttpResponse:
    if key not in benchmarks():
        raise Http404(_("Unknown benchmark."))
    info = benchmark_info(key)
    top = []
    for suite_key in info["suites"]:
        try:
            page = leaderboard_page(suite=suite_key, board="overall", ordering=f"-{key}", per_page=10)
        except LeaderboardError:
            continue
        top.append({"suite": suite_key, "rows": page.rows})
    return render(request, "evals/benchmark_detail.html", {"benchmark": info, "top": top})
