"""/api/v1/ routes of the evals app: leaderboard.py (board, benchmarks, suites) and evaluations.py."""

from django.urls import path

from evals.api import evaluations, imports, leaderboard, publish, scores

app_name = "evals-api"
urlpatterns = [
    path("leaderboard/", leaderboard.LeaderboardApi.as_view(), name="leaderboard"),
    path("leaderboard.csv", leaderboard.LeaderboardCsvApi.as_view(), name="leaderboard-csv"),
    path("benchmarks/", leaderboard.BenchmarkListApi.as_view(), name="benchmark-list"),
    path("benchmarks/<str:key>/", leaderboard.BenchmarkDetailApi.as_view(), name="benchmark-detail"),
    path("suites/", leaderboard.SuiteListApi.as_view(), name="suite-list"),
    path("models/<str:org>/<str:name>/scores/", scores.ModelScoresApi.as_view(), name="model-scores"),
    path("evaluations/", evaluations.EvaluationListCreateApi.as_view(), name="evaluation-list"),
    path("evaluations/<int:run_id>/", evaluations.EvaluationDetailApi.as_view(), name="evaluation-detail"),
    path("evaluations/<int:run_id>/cancel/", evaluations.EvaluationCancelApi.as_view(), name="evaluation-cancel"),
    path(
        "evaluations/<int:run_id>/accept-flag/",
        evaluations.EvaluationAcceptFlagApi.as_view(),
        name="evaluation-accept-flag",
    ),
    path("evaluations/<int:run_id>/items/", evaluations.EvaluationItemListApi.as_view(), name="evaluation-items"),
    path("evaluations/<int:run_id>/export/", imports.EvaluationExportApi.as_view(), name="evaluation-export"),
    path(
        "evaluations/<int:run_id>/export/samples/",
        imports.EvaluationExportSamplesApi.as_view(),
        name="evaluation-export-samples",
    ),
    path("evaluations/<int:run_id>/publish/", publish.EvaluationPublishApi.as_view(), name="evaluation-publish"),
    path("imports/", imports.ImportListCreateApi.as_view(), name="import-list"),
    path("imports/<int:import_id>/", imports.ImportDetailApi.as_view(), name="import-detail"),
    path("imports/jobs/<int:job_id>/", imports.ImportJobDetailApi.as_view(), name="import-job-detail"),
]
