"""A run that finishes shows on the leaderboard at once, not after the cache's time-to-live."""

from __future__ import annotations

import pytest

from evals import services
from evals.selectors.leaderboard import board_core
from tests.evals.runfixtures import endpoint_model, fake_openai, openai_env  # noqa: F401

pytestmark = pytest.mark.django_db


def test_a_finished_run_appears_on_the_cached_board_without_waiting(
    endpoint_model,  # noqa: F811
    settings,
    django_capture_on_commit_callbacks,
):
    settings.LEADERBOARD_CACHE_TTL = 3600  # a stale board would stay for an hour
    before = board_core(suite="quick", board="overall")
    assert not [e for e in before.not_ranked if e.repo_id == endpoint_model.repo_id]

    run = services.eval_run_create(
        model=endpoint_model, suite="quick", benchmarks=["arc_easy"], limit=4, backend="openai", dispatch=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.eval_run_execute(run_id=run.pk)

    after = board_core(suite="quick", board="overall")
    shown = [e for e in after.not_ranked if e.run_id == run.pk]
    # The partial run is listed (never ranked) as soon as it finished.
    assert shown and shown[0].status == "partial"
