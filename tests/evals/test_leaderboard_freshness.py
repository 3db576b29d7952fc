"""A run that finishes shows on the leaderboard at once, not after the cache's time-to-live."""

from __future__ import annotations

import pytest

from evals import services
from evals.selectors.leaderboard import leaderboard_page
from tests.evals.runfixtures import endpoint_model, fake_openai, openai_env  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]


def test_a_finished_run_appears_on_the_cached_board_without_waiting(
    endpoint_model,  # noqa: F811
    settings,
    django_capture_on_commit_callbacks,
):
    settings.LEADERBOARD_CACHE_TTL = 3600  # a stale board would stay for an hour
    before = leaderboard_page(suite="quick", board="overall")
    assert not [r for r in before.not_ranked if r.model.repo_id == endpoint_model.repo_id]

    run = services.eval_run_create(
        model=endpoint_model, suite="quick", benchmarks=["arc_easy"], limit=4, backend="openai", dispatch=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.eval_run_execute(run_id=run.pk)

    after = leaderboard_page(suite="quick", board="overall")
    shown = [r for r in after.not_ranked if r.run.id == run.pk]
    # The partial run is listed (never ranked) as soon as it finished.
    assert shown and shown[0].status == "partial"


def test_a_deleted_run_leaves_the_cached_board_and_the_api_still_answers(
    api_client, django_capture_on_commit_callbacks
):
    from tests.evals.factories import complete_run, model

    kept = complete_run(model("acme/kept"), 0.6)
    gone = complete_run(model("acme/gone"), 0.4)
    first = api_client.get("/api/v1/leaderboard/?suite=quick").json()
    assert {r["model"]["id"] for r in first["results"]} == {"acme/kept", "acme/gone"}

    with django_capture_on_commit_callbacks(execute=True):
        gone.delete()  # an admin deletes a run; the board was cached with it

    response = api_client.get("/api/v1/leaderboard/?suite=quick")
    assert response.status_code == 200
    assert [r["model"]["id"] for r in response.json()["results"]] == ["acme/kept"]
    assert kept.pk == response.json()["results"][0]["run"]["id"]


def test_a_board_cached_before_another_process_deleted_a_run_still_answers(api_client):
    from tests.evals.factories import complete_run, model

    complete_run(model("acme/kept"), 0.6)
    gone = complete_run(model("acme/gone"), 0.4)
    assert api_client.get("/api/v1/leaderboard/?suite=quick").json()["count"] == 2
    # Deleted elsewhere: this process's cached board still names the run (no bump reached it).
    type(gone).objects.filter(pk=gone.pk).delete()

    # A query not answered before is built from the cached board: the deleted run is left out.
    response = api_client.get("/api/v1/leaderboard/?suite=quick&search=acme")
    assert response.status_code == 200
    assert [r["model"]["id"] for r in response.json()["results"]] == ["acme/kept"]
    assert api_client.get("/api/v1/leaderboard.csv?suite=quick&search=acme").status_code == 200
