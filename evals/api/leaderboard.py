"""/api/v1/leaderboard/, /api/v1/leaderboard.csv, /api/v1/benchmarks/, /api/v1/suites/: thin views over
evals.selectors.leaderboard."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api_schema import error_response
from evals.api.leaderboard_serializers import (
    BenchmarkOut,
    LeaderboardOut,
    LeaderboardQuerySerializer,
    ReportedLeaderboardOut,
    SuiteOut,
    json_bytes,
    leaderboard_row_json,
    model_filters,
    reported_row_data,
)
from evals.selectors.leaderboard import (
    DEFAULT_METHOD,
    LeaderboardError,
    benchmark_info,
    benchmark_infos,
    benchmarks,
    leaderboard_cache_peek,
    leaderboard_cache_put,
    leaderboard_cached,
    leaderboard_export,
    leaderboard_page,
    suite_infos,
)
from evals.selectors.reported import ReportedBoardError, reported_board, reported_note
from registry.api.filters import MODEL_FILTER_PARAMETERS

# Errors are raised as DRF exceptions: config.api_errors answers them with the API's one error body,
# {"error": {"code", "message", "field", "fields"}}, documented by config.api_schema.
ERROR_RESPONSE = error_response(400, "Invalid query: `error.field` names the first bad parameter.")


def _validated(request: Request) -> dict[str, Any]:
    """The validated query; raises ValidationError (400) naming every bad parameter."""
    query = LeaderboardQuerySerializer(data=request.query_params)
    try:
        query.is_valid(raise_exception=True)
    except LeaderboardError as exc:
        raise ValidationError(str(exc)) from exc
    return dict(query.validated_data)


def _page_url(request: Request, page: int) -> str:
    params = request.query_params.copy()
    params["page"] = str(page)
    return request.build_absolute_uri(request.path) + "?" + params.urlencode()


def reported_board_data(params: dict[str, Any]) -> dict[str, Any]:
    """The reported board (provenance=reported) as the API answers it; raises ValidationError."""
    try:
        board = reported_board(
            benchmark=params.get("benchmark") or "mmlu",
            shots=params.get("shots"),
            filters=model_filters(params),
            claim=params.get("claim") or None,
        )
    except ReportedBoardError as exc:
        raise ValidationError(str(exc)) from exc
    return {
        "provenance": "reported",
        "benchmark": board.benchmark,
        "benchmark_name": board.benchmark_name,
        "shots": board.shots,
        "usual_shots": board.usual_shots,
        "claim": board.claim,
        "note": reported_note(),
        "benchmarks": board.benchmarks,
        "count": len(board.rows),
        "results": [reported_row_data(row) for row in board.rows],
    }


LEADERBOARD_RESPONSE = PolymorphicProxySerializer(
    component_name="LeaderboardResponse",
    serializers=[LeaderboardOut, ReportedLeaderboardOut],
    resource_type_field_name=None,
)


class LeaderboardApi(APIView):
    """The ranked leaderboard of a suite, one page at a time (100 rows by default, at most 500).

    `provenance=reported` answers the reported board instead: published figures of one benchmark.
    """

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[LeaderboardQuerySerializer, *MODEL_FILTER_PARAMETERS],
        responses={200: LEADERBOARD_RESPONSE, 400: ERROR_RESPONSE},
        summary="Ranked leaderboard with 95% intervals, tie-aware ranks and per-score provenance",
        description=(
            "Only complete, comparable runs rank (succeeded, not partial, every benchmark of the board, the "
            "suite's fixed items); for each model its latest such run. `rank` = 1 + the number of models "
            "(after filters) whose 95% interval lies entirely above this one, so statistically tied models "
            "share a rank. Scores are 0..1; normalized scores 0..100 as the Open LLM Leaderboard v2. "
            "`provenance`: all (default; measured and imported runs ranked together, each row's `run.provenance` "
            "says which), measured, imported, or reported: published figures of one `benchmark`, each with its "
            "shots and source, ranked by value and never against our runs, with a claim check against our "
            "measured/imported result of the same benchmark and shots (`claim=contradicted` filters). "
            "`method`: loglikelihood (default) or generative: scores of chat endpoints answering generatively rank "
            "on their own board, never averaged with log-likelihood scores. Runs flagged as degenerate (unparsed "
            "or collapsed answers) do not rank until staff accept them."
        ),
    )
    def get(self, request: Request) -> HttpResponse:
        # The same query string again: answer from the cache before validating anything.
        raw = {
            "query": sorted(request.query_params.lists()),
            "host": request.get_host(),
            "secure": request.is_secure(),
        }
        as_json = request.accepted_renderer.format == "json"
        if as_json:
            body = leaderboard_cache_peek("api-raw", raw)
            if body is not None:
                return HttpResponse(body, content_type="application/json")
        params = _validated(request)
        provenance = params.get("provenance") or "all"
        if provenance == "reported":
            return Response(reported_board_data(params))

        def rendered() -> bytes:
            page = leaderboard_page(
                suite=params["suite"],
                board=params["board"],
                filters=model_filters(params),
                score=params["score"],
                ordering=params["ordering"],
                page=params["page"],
                per_page=params["per_page"],
                provenance=provenance,
                method=params.get("method") or DEFAULT_METHOD,
            )
            head = {
                "provenance": page.provenance,
                "method": page.method,
                "suite": page.suite,
                "board": page.board,
                "score": page.score,
                "ordering": page.ordering,
                "benchmarks": page.benchmarks,
                "count": page.count,
                "page": page.page,
                "per_page": page.per_page,
                "pages": page.pages,
            }
            # The rows arrive as JSON (leaderboard_row_json), spliced into the body in LeaderboardOut's order.
            tail = {
                "next": _page_url(request, page.page + 1) if page.page < page.pages else None,
                "previous": _page_url(request, page.page - 1) if page.page > 1 else None,
            }
            return b'%b,"results":[%b],"not_ranked_count":%d,"not_ranked":[%b],%b' % (
                json_bytes(head)[:-1],
                b",".join(leaderboard_row_json(row) for row in page.rows),
                page.not_ranked_count,
                b",".join(leaderboard_row_json(row) for row in page.not_ranked),
                json_bytes(tail)[1:],
            )

        # The JSON is cached as bytes: a warm request is a cache read, no serialization. Links are
        # absolute, so the key names the host too.
        key = {**params, "_host": request.get_host(), "_secure": request.is_secure()}
        try:
            body = leaderboard_cached("api-json", key, rendered)
        except LeaderboardError as exc:
            raise ValidationError(str(exc)) from exc
        if as_json:
            leaderboard_cache_put("api-raw", raw, body)
            return HttpResponse(body, content_type="application/json")
        return Response(json.loads(body))


CSV_FIXED = [
    "rank",
    "rank_worst",
    "model",
    "organization",
    "weights",
    "parameters",
    "license",
    "languages",
    "average",
    "average_ci95_low",
    "average_ci95_high",
    "average_normalized",
]
CSV_PROVENANCE = [
    "provenance",
    "run_id",
    "model_sha",
    "engine_version",
    "suite",
    "backend",
    "dtype",
    "finished_at",
    "settings",
]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _fmt(value: float | None, digits: int = 6) -> str:
    return "" if value is None else f"{value:.{digits}f}"


# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets (OWASP "CSV
# injection"): a model name or license key such as `=HYPERLINK(...)` would run when the file is opened.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """`value` made inert for spreadsheets: text that starts like a formula gets a leading `'`.

    Numbers (a negative normalized score) stay numbers: a plain number is no formula.
    """
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value


class LeaderboardCsvApi(APIView):
    """Every ranked row of the filtered board as CSV (same query parameters as /api/v1/leaderboard/)."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[LeaderboardQuerySerializer, *MODEL_FILTER_PARAMETERS],
        responses={(200, "text/csv"): OpenApiTypes.STR, 400: ERROR_RESPONSE},
        summary="Leaderboard as CSV, with intervals and provenance columns",
    )
    def get(self, request: Request) -> Any:
        params = _validated(request)
        provenance = params.get("provenance") or "all"
        if provenance == "reported":
            return _reported_csv(params)
        try:
            keys, rows = leaderboard_export(
                suite=params["suite"],
                board=params["board"],
                filters=model_filters(params),
                score=params["score"],
                ordering=params["ordering"],
                provenance=provenance,
                method=params.get("method") or DEFAULT_METHOD,
            )
        except LeaderboardError as exc:
            raise ValidationError(str(exc)) from exc
        header = list(CSV_FIXED)
        for key in keys:
            header += [key, f"{key}_normalized", f"{key}_ci95_low", f"{key}_ci95_high", f"{key}_n", f"{key}_metric"]
        header += CSV_PROVENANCE

        def lines() -> Iterator[str]:
            writer = csv.writer(_Echo())
            yield writer.writerow([csv_cell(cell) for cell in header])
            for row in rows:
                model = row.model
                ci = row.ci95 or (None, None)
                line = [
                    row.rank,
                    row.rank_worst,
                    model.repo_id,
                    model.organization,
                    model.weights,
                    model.parameters or "",
                    model.license or "",
                    " ".join(model.languages),
                    _fmt(row.average),
                    _fmt(ci[0]),
                    _fmt(ci[1]),
                    _fmt(row.average_normalized, 4),
                ]
                for key in keys:
                    score = row.scores.get(key)
                    sci = (score.ci95 if score else None) or (None, None)
                    line += [
                        _fmt(score.value if score else None),
                        _fmt(score.normalized if score else None, 4),
                        _fmt(sci[0]),
                        _fmt(sci[1]),
                        score.n if score else "",
                        score.metric if score else "",
                    ]
                run = row.run
                line += [
                    run.provenance,
                    run.id,
                    run.sha,
                    run.engine_version,
                    run.suite,
                    run.backend,
                    run.dtype,
                    run.finished_at.isoformat() if run.finished_at else "",
                    json.dumps(run.settings, sort_keys=True),
                ]
                yield writer.writerow([csv_cell(cell) for cell in line])

        filename = f"leaderboard-{params['suite']}-{params['board']}.csv"
        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


CSV_REPORTED = [
    "rank",
    "model",
    "organization",
    "weights",
    "parameters",
    "provenance",
    "benchmark",
    "value",
    "published_value",
    "metric",
    "n_shot",
    "setting",
    "variant",
    "source_kind",
    "source_name",
    "source_url",
    "reported_by",
    "verified",
    "published",
    "claim",
    "claim_provenance",
    "claim_value",
    "claim_ci95_low",
    "claim_ci95_high",
    "claim_difference",
]


def _reported_csv(params: dict[str, Any]) -> HttpResponse:
    """The reported board as CSV: one published figure per row, with its source and claim check."""
    data = reported_board_data(params)
    out = [CSV_REPORTED]
    for row in data["results"]:
        score, model, claim = row["score"], row["model"], row["claim"] or {}
        ci = claim.get("ci95") or (None, None)
        out.append(
            [
                row["rank"],
                model["id"],
                model["organization"],
                model["weights"],
                model["parameters"] or "",
                "reported",
                score["benchmark"],
                _fmt(score["value"]),
                score["published_value"],
                score["metric"],
                "" if score["n_shot"] is None else score["n_shot"],
                score["setting"],
                score["variant"],
                score["source"]["kind"],
                score["source"]["name"],
                score["source"]["url"],
                score["reported_by"],
                score["verified"],
                score["published"] or "",
                claim.get("status", ""),
                claim.get("provenance", ""),
                _fmt(claim.get("value")),
                _fmt(ci[0]),
                _fmt(ci[1]),
                _fmt(claim.get("difference")),
            ]
        )
    writer = csv.writer(_Echo())
    body = "".join(writer.writerow([csv_cell(cell) for cell in line]) for line in out)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="leaderboard-reported-{data["benchmark"]}.csv"'
    return response


class BenchmarkListApi(APIView):
    """Every benchmark: what it measures, prompt format, metric, license, item count, random baseline."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: BenchmarkOut(many=True)}, summary="Benchmarks")
    def get(self, request: Request) -> Response:
        return Response(benchmark_infos())


class BenchmarkDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: BenchmarkOut, 404: error_response(404)}, summary="One benchmark")
    def get(self, request: Request, key: str) -> Response:
        if key not in benchmarks():
            known = ", ".join(benchmarks())
            raise NotFound(f"Unknown benchmark {key!r}; known benchmarks: {known}.")
        return Response(benchmark_info(key))


class SuiteListApi(APIView):
    """Suites: their benchmarks, n-shot, sample size and seed, and the boards they have."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: SuiteOut(many=True)}, summary="Suites")
    def get(self, request: Request) -> Response:
        return Response(suite_infos())
