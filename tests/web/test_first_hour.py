"""Issue #10, "the first hour": what a newcomer meets between `make run` and a ranked model.

Results per benchmark while a run goes on, an ETA from the measured rate, make run's processes, the
registry's facts before the Hub (and a quick answer when the Hub is away), and the small untruths of the
pages. The runs here are scored by the fake OpenAI-compatible server (tests/evals/fakeopenai.py, a real
HTTP server); the browser walk with the real SmolLM2 is in test_browser.py.
"""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import logging.config
import re
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from evals import services
from evals.models import EvalRun, ItemResult
from tests.evals.runfixtures import make_model as make_registry_model

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def _run_page(client, run_id: int) -> str:
    return client.get(f"/runs/{run_id}/").content.decode()


# -- results appear benchmark by benchmark -----------------------------------------------------------------


def test_a_benchmark_score_shows_on_the_api_and_the_pages_while_the_run_still_runs(endpoint_model, client):
    run = services.eval_run_create(
        model=endpoint_model,
        suite="quick",
        benchmarks=["arc_easy", "arc_challenge"],
        limit=4,
        backend="openai",
        batch_size=2,
        dispatch=False,
    )
    seen: list[dict] = []

    def after_benchmark(current: EvalRun) -> None:
        if seen:
            return
        body = client.get(f"/api/v1/evaluations/{current.pk}/").json()
        page = _run_page(client, current.pk)
        model_page = client.get(f"/models/{endpoint_model.repo_id}/").content.decode()
        seen.append({"body": body, "page": page, "model_page": model_page})

    services.eval_run_execute(run_id=run.pk, on_progress=after_benchmark)

    first = seen[0]
    assert first["body"]["status"] == "running"
    assert list(first["body"]["results"]) == ["arc_easy"]
    score = first["body"]["results"]["arc_easy"]
    assert score["n"] == 4 and score["ci95"][0] <= score["value"] <= score["ci95"][1]
    assert re.search(r'<table class="results">.*arc_easy', first["page"], re.S)
    assert "1 benchmark scored so far" in first["page"]
    assert "Results appear here when each benchmark is complete" not in first["page"]
    assert 'class="partial-result"' in first["model_page"] and "arc_easy" in first["model_page"]
    # The run's end writes the same numbers again, for both benchmarks.
    run.refresh_from_db()
    assert run.status == "succeeded"
    final = {r.benchmark: r.value for r in run.results.all()}
    assert final["arc_easy"] == score["value"] and set(final) == {"arc_easy", "arc_challenge"}


def _running_run_with_items(model, *, per_batch: int, batches: int, seconds_apart: float, total: int) -> EvalRun:
    run = services.eval_run_create(
        model=model, suite="quick", benchmarks=["arc_easy"], backend="openai", batch_size=per_batch, dispatch=False
    )
    now = timezone.now()
    done = per_batch * batches
    EvalRun.objects.filter(pk=run.pk).update(
        status="running", progress_done=done, progress_total=total, started_at=now - timedelta(minutes=5)
    )
    for b in range(batches):
        for i in range(per_batch):
            item = ItemResult.objects.create(
                run=run, benchmark="arc_easy", item_id=f"q{b}-{i}", position=b * per_batch + i, metrics={"acc": 1.0}
            )
            stamp = now - timedelta(seconds=seconds_apart * (batches - 1 - b))
            ItemResult.objects.filter(pk=item.pk).update(created_at=stamp)
    run.refresh_from_db()
    return run


def test_the_queue_and_run_pages_show_an_eta_from_the_measured_rate(client, make_model):
    # 3 batches of 8 items, 16 s apart: 16 items in 32 s after the first batch = 0.5 items/s; 100 left.
    run = _running_run_with_items(make_model(), per_batch=8, batches=3, seconds_apart=16, total=124)
    queue = client.get("/queue/").content.decode()
    row = re.search(rf'<tr id="run-{run.pk}".*?</tr>', queue, re.S).group(0)
    assert re.search(r'data-field="eta_display">about 3 min \d+ s left<', row), row
    assert re.search(r'data-field="eta_display">about 3 min \d+ s left<', _run_page(client, run.pk))
    polled = client.get(f"/queue/?format=json&ids={run.pk}").json()["runs"][0]
    assert polled["eta_display"].startswith("about 3 min")


def test_the_eta_says_it_is_estimating_until_two_batches_are_stored(client, make_model):
    run = _running_run_with_items(make_model(), per_batch=8, batches=1, seconds_apart=0, total=100)
    assert 'data-field="eta_display">estimating…<' in _run_page(client, run.pk)


# -- the run page tells the truth ------------------------------------------------------------------------


def test_the_queue_shows_a_weights_digest_instead_of_a_bare_sha256_prefix(client, make_model, make_run):
    run = make_run(make_model(), revision_sha=("sha256:" + "ab12cd34" * 8)[:64], status="queued")
    row = re.search(rf'<tr id="run-{run.pk}".*?</tr>', client.get("/queue/").content.decode(), re.S).group(0)
    shown = re.search(r'<code class="sha"[^>]*>([^<]*)</code>', row).group(1)
    assert shown == "sha256:ab12cd34ab"


def test_the_run_page_says_the_quick_suite_samples_its_items_and_reads_its_settings_as_tables(
    client, sam_staff, make_model
):
    model = make_model()
    run = services.eval_run_create(model=model, suite="quick", benchmarks=None, dispatch=False)
    settings = dict(run.settings)
    settings.update(
        items={"arc_easy": 100},
        methods={"arc_easy": "loglikelihood"},
        backend={"dtype": "float32", "device": "cpu", "weights": "/home/worker/.cache/model.gguf"},
    )
    EvalRun.objects.filter(pk=run.pk).update(settings=settings)

    page = _run_page(client, run.pk)
    items_rule = re.search(r'data-field="items_rule">([^<]*)<', page).group(1)
    assert "at most 100" in items_rule and "seed 1234" in items_rule and items_rule != "all"
    assert "{&quot;" not in page and '{"' not in page  # no raw JSON
    assert re.search(r'<table class="data-table settings-table">.*arc_easy.*100.*loglikelihood', page, re.S)
    assert "/home/worker" not in page  # the worker's path: staff only

    client.force_login(sam_staff)
    staff_page = _run_page(client, run.pk)
    assert re.search(r"Backend: weights <span class=\"muted\">\(staff only\)</span>", staff_page)


def test_the_engine_version_names_the_lm_eval_release_the_readme_names():
    from evals.engine import ENGINE_VERSION

    mirrored = re.search(r"lmeval(\d+\.\d+\.\d+)$", ENGINE_VERSION).group(1)
    assert len(ENGINE_VERSION) <= EvalRun._meta.get_field("engine_version").max_length
    readme = (ROOT / "README.md").read_text()
    stated = set(re.findall(r"lm-evaluation-harness (\d+\.\d+\.\d+)", readme))
    assert stated == {mirrored}, (stated, ENGINE_VERSION)  # "0.4.1" is not "0.4.13"


def test_load_catalog_prints_how_many_models_are_linked_to_their_base():
    from registry.models import LanguageModel

    out = io.StringIO()
    call_command("load_catalog", stdout=out)
    call_command("load_catalog", stdout=(second := io.StringIO()))
    linked = LanguageModel.objects.filter(base_model__isnull=False).count()
    assert linked > 0
    for text in (out.getvalue(), second.getvalue()):
        assert f"{linked} models linked to their base model" in text, text
    visualglm = LanguageModel.objects.get(repo_id__iexact="THUDM/visualglm-6b")
    assert visualglm.base_model.repo_id.lower() == "thudm/chatglm-6b"


# -- API and pages: one pagination, a truthful chart, names, finish ----------------------------------------


def test_the_models_api_pages_with_page_and_per_page_as_the_readme_and_the_leaderboard_do(api_client):
    from registry.services.catalog import catalog_load

    catalog_load()
    first = api_client.get("/api/v1/models/?per_page=10").json()
    second = api_client.get(first["next"]).json()
    assert len(first["results"]) == 10 and "page=2" in first["next"]
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}
    assert api_client.get("/api/v1/models/?per_page=10&page=99").status_code == 404
    readme = (ROOT / "README.md").read_text()
    assert "`page` and `per_page`" in readme and "limit/offset" not in readme


def test_compare_draws_no_chart_when_no_model_has_a_score_instead_of_an_empty_0_to_1_axis(client, make_model):
    make_model("acme/one")
    make_model("acme/two")
    page = client.get("/compare/?models=acme/one&models=acme/two").content.decode()
    assert "<svg" not in page and 'id="no-chart"' in page

    from evals.charts import bar_chart

    zeros = bar_chart(["ARC"], [("a", [(0.0, None)])], percent=True)
    assert zeros.y_ticks[-1].label == "100"  # a percent axis even when every score is 0


def test_the_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert b"<svg" in response.content
    assert 'rel="icon"' in client.get("/queue/").content.decode()


def test_the_language_filters_show_language_names_with_their_codes(client, make_model):
    make_model("acme/bilingual", languages=("en", "zh", "ar"))
    models_page = client.get("/models/").content.decode()
    for label in ("English (en)", "中文 (zh)", "(ar)"):
        assert f">{label}</option>" in models_page or label in models_page, label
    assert re.search(r'<option value="ar"[^>]*>\S+ \(ar\)</option>', models_page)
    board = client.get("/").content.decode()
    assert ">English (en)</option>" in board and ">中文 (zh)</option>" in board


def test_the_syncs_page_uses_the_site_table_and_form_styles(client, sam_staff):
    from registry.models import SyncRun

    SyncRun.objects.create(status="succeeded", scope={"authors": ["Qwen"]})
    client.force_login(sam_staff)
    page = client.get("/syncs/").content.decode()
    assert '<div class="table-wrap">' in page and '<table class="data-table syncs">' in page
    assert 'class="status status-succeeded"' in page and 'class="button primary"' in page


def test_the_queue_polls_are_not_logged_but_other_requests_are():
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    server = logging.getLogger("django.server")
    poll = logging.LogRecord(
        "django.server", logging.INFO, "", 0, '"%s" %s %s', ("GET /queue/?format=json&ids=1 HTTP/1.1", 200, 80), None
    )
    poll.status_code = 200
    page = logging.LogRecord(
        "django.server", logging.INFO, "", 0, '"%s" %s %s', ("GET /queue/ HTTP/1.1", 200, 900), None
    )
    page.status_code = 200
    failed = logging.LogRecord(
        "django.server", logging.INFO, "", 0, '"%s" %s %s', ("GET /queue/?format=json&ids=x HTTP/1.1", 400, 50), None
    )
    failed.status_code = 400
    assert [server.filter(r) for r in (poll, page, failed)] == [False, True, True]


# -- make run ------------------------------------------------------------------------------------------------


def _run_script():
    spec = importlib.util.spec_from_file_location("ladder_run_script", ROOT / "scripts" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_run_starts_a_worker_for_the_default_queue_and_one_for_evaluations():
    commands = [" ".join(c) for c in _run_script().process_commands("127.0.0.1:8000")]
    workers = [c for c in commands if " worker " in c]
    assert len(workers) == 2
    assert any("-Q celery " in c for c in workers) and any("-Q evals " in c for c in workers)
    assert not any("celery,evals" in c for c in workers)
    assert any(" beat " in c for c in commands) and any("runserver 127.0.0.1:8000" in c for c in commands)


def test_make_run_uses_its_own_redis_database_not_db_0():
    from config.env import redis_answers

    if not redis_answers():
        pytest.skip("no Redis on 127.0.0.1:6379 here")
    code = "import django; django.setup(); from config.celery import app; print(app.conf.broker_url)"
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("CELERY_BROKER_URL", "LADDER_REDIS_DB")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.base", DEBUG="1")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "redis://127.0.0.1:6379/3"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**env, "LADDER_REDIS_DB": "7"}, capture_output=True, text=True
    )
    assert out.stdout.strip() == "redis://127.0.0.1:6379/7"


# -- submitting: the registry first, a quick answer when the Hub is away ---------------------------------


@pytest.fixture
def hub_offline(settings):
    """The Hub address is a port where nothing listens (a real refused connection)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.HF_ENDPOINT = f"http://127.0.0.1:{port}"
    return port


@pytest.mark.parametrize("repo_id", ["meta-llama/Llama-2-70b-hf", "tencent/Tencent-Hunyuan-Large"])
def test_a_catalog_model_too_large_for_this_server_is_refused_at_once_with_the_hub_offline(hub_offline, alice, repo_id):
    from registry.services.catalog import catalog_load

    catalog_load()
    started = time.monotonic()
    with pytest.raises(services.SubmissionError) as refused:
        services.eval_run_submit(user=alice, model_id=repo_id)
    assert time.monotonic() - started < 1.0
    assert refused.value.code == "too_large"
    assert "according to the registry" in refused.value.message and "catalog" in refused.value.message
    assert not EvalRun.objects.exists()


def test_a_hub_that_never_answers_is_reported_within_seconds(settings, alice):
    # A socket that accepts connections and never answers: the worst case for a client's timeouts.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        settings.HF_ENDPOINT = f"http://127.0.0.1:{silent.getsockname()[1]}"
        settings.HUB_SUBMIT_TIMEOUT = 1.0
        started = time.monotonic()
        with pytest.raises(services.SubmissionError) as refused:
            services.eval_run_submit(user=alice, model_id="acme/unknown-7b")
        elapsed = time.monotonic() - started
    assert refused.value.code == "hub_unavailable" and refused.value.status == 503
    assert elapsed < 4.0, elapsed  # one try and one quick retry, not the sync's 15 s x 5


def _closed_model_with_key(base_url: str, key_env: str = "LADDER_KEY_ACME"):
    from registry.models import LanguageModel

    model = make_registry_model(
        "acme/closed-chat",
        weights="closed",
        endpoint_base_url=base_url,
        endpoint_model_name="fake-chat-1",
        parameters=None,
    )
    LanguageModel.objects.filter(pk=model.pk).update(endpoint_api_key_env=key_env)
    model.refresh_from_db()
    return model


def test_a_closed_model_whose_key_no_worker_has_is_refused_at_submit_naming_the_variable(settings, alice):
    settings.WORKER_KEY_VARIABLES = ["LADDER_KEY_OTHER"]
    _closed_model_with_key("https://api.example.com/v1")
    with pytest.raises(services.SubmissionError) as refused:
        services.eval_run_submit(user=alice, model_id="acme/closed-chat", backend="openai")
    assert refused.value.code == "missing_key" and "LADDER_KEY_ACME" in refused.value.message
    assert not EvalRun.objects.exists()

    settings.WORKER_KEY_VARIABLES = ["LADDER_KEY_ACME"]
    run, created = services.eval_run_submit(user=alice, model_id="acme/closed-chat", backend="openai")
    assert created and run.status == "queued"


def test_a_run_whose_worker_lacks_the_key_fails_at_once_saying_which_variable(
    fake_openai, openai_env, monkeypatch, client
):
    monkeypatch.delenv("LADDER_KEY_ACME", raising=False)
    model = _closed_model_with_key(fake_openai.base_url)
    run = services.eval_run_create(
        model=model, suite="quick", benchmarks=["arc_easy"], limit=2, backend="openai", dispatch=False
    )
    started = time.monotonic()
    services.eval_run_execute(run_id=run.pk)
    assert time.monotonic() - started < 10
    body = client.get(f"/api/v1/evaluations/{run.pk}/").json()
    assert body["status"] == "failed" and body["error_code"] == "missing_key"
    assert "LADDER_KEY_ACME" in body["error"]
    assert "LADDER_KEY_ACME" in _run_page(client, run.pk)


def test_the_readme_says_how_to_change_the_port_and_create_a_user_without_prompts():
    readme = (ROOT / "README.md").read_text()
    assert "make run LADDER_HOST=" in readme
    assert "createsuperuser --noinput" in readme and "DJANGO_SUPERUSER_PASSWORD" in readme
    assert json.dumps("LADDER_REDIS_DB")[1:-1] in readme
