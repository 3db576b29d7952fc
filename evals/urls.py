from django.urls import path

from evals.views import leaderboard, runs

app_name = "evals"
urlpatterns = [
    path("", leaderboard.leaderboard, name="leaderboard"),
    path("compare/", leaderboard.compare, name="compare"),
    path("benchmarks/", leaderboard.benchmark_list, name="benchmark-list"),
    path("benchmarks/<str:key>/", leaderboard.benchmark_detail, name="benchmark-detail"),
    path("submit/", runs.submit, name="submit"),
    path("queue/", runs.queue, name="queue"),
    path("runs/<int:run_id>/", runs.run_detail, name="run-detail"),
    path("runs/<int:run_id>/items/", runs.run_items, name="run-items"),
    path("runs/<int:run_id>/cancel/", runs.run_cancel, name="run-cancel"),
    path("runs/<int:run_id>/retry/", runs.run_retry, name="run-retry"),
    path("runs/<int:run_id>/publish/", runs.run_publish, name="run-publish"),
]
