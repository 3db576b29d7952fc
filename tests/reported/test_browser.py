"""Browser: on a fresh install the leaderboard opens on the seed systems' published figures.

Real: the live server, PostgreSQL, every page and script, Debian's Chromium driven by Playwright. The
catalog is the real seed catalog (load_catalog's own service); no run exists.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _board(page) -> list[str]:
    return page.locator("#reported-board tbody th.model > a").all_text_contents()


def test_a_fresh_install_ranks_the_seed_systems_by_published_mmlu_and_switching_the_benchmark_reranks(
    catalog, chromium_page
):
    page = chromium_page
    page.goto("/")

    assert "These are published numbers" in page.locator(".lb-reported-note").inner_text()
    assert page.locator('.lb-benchmarks a[aria-current="page"]').inner_text() == "MMLU"
    mmlu = _board(page)
    assert "GPT-4" in mmlu and mmlu.index("GPT-4") < mmlu.index("Llama 2 7B")
    gpt4 = page.locator('#reported-board tr[data-model="openai/gpt-4"]')
    assert gpt4.locator("td.shots").inner_text() == "5"
    assert gpt4.locator("td.source a").get_attribute("href") == "https://arxiv.org/abs/2303.08774"

    page.click('.lb-benchmarks a[data-benchmark="ceval"]')
    page.wait_for_url("**benchmark=ceval**")

    ceval = _board(page)
    assert ceval != mmlu and "ChatGLM-6B" in ceval
    assert page.locator('.lb-benchmarks a[aria-current="page"]').inner_text() == "C-Eval"
    sources = page.locator("#reported-board td.source a").evaluate_all("links => links.map(a => a.href)")
    assert "https://github.com/hkust-nlp/ceval/blob/main/README.md" in sources
