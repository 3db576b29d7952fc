"""/models/ and /models/<org>/<name>/: filters kept in the URL, badges, facts, lineage, memory, safety."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from registry.models import LanguageModel
from registry.services.catalog import catalog_load

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    catalog_load()


@pytest.fixture
def client() -> Client:
    return Client()


def _rows(html: str) -> list[str]:
    """Model ids in the list table, in page order."""
    return re.findall(r'<code class="model-id">([^<]+)</code>', html)


def test_anonymous_visitor_sees_the_model_list_with_badges_and_sizes(client, catalog):
    response = client.get("/models/")

    html = response.content.decode()
    assert response.status_code == 200
    assert len(_rows(html)) == 35
    assert "6.7B" in html and "135M" in html
    assert 'class="badge open"' in html and 'class="badge closed"' in html
    assert "badge license commercial-restricted" in html  # llama2 and others
    assert 'class="badge lang" title="Chinese">zh<' in html
    assert "ERNIE Bot 文心一言" in html


def test_list_filters_come_from_the_url_and_stay_in_the_form_and_sort_links(client, catalog):
    response = client.get("/models/?language=zh&weights=open&ordering=-parameters")

    html = response.content.decode()
    ids = _rows(html)
    assert response.status_code == 200
    assert ids[0] == "tencent/Tencent-Hunyuan-Large"
    assert "Qwen/Qwen-7B" in ids and "baidu/ernie-bot" not in ids and "google/gemma-2b" not in ids
    assert '<option value="zh" selected>' in html
    assert '<option value="open" selected>' in html
    # A sort link keeps the filters and flips the order of the active column.
    assert "?language=zh&amp;weights=open&amp;ordering=parameters" in html
    assert 'aria-sort="descending"' in html


def test_list_search_and_size_and_commercial_filters(client, catalog):
    assert _rows(client.get("/models/?search=vicuna").content.decode()) == [
        "lmsys/vicuna-13b-delta-v0",
        "lmsys/vicuna-13b-v1.5",
        "lmsys/vicuna-7b-v1.5",
    ]
    edge = _rows(client.get("/models/?size=edge").content.decode())
    assert set(edge) == {"google/gemma-2b", "HuggingFaceTB/SmolLM2-135M-Instruct"}
    commercial = _rows(client.get("/models/?commercial=true&weights=open").content.decode())
    assert "mistralai/Mistral-7B-v0.1" in commercial and "meta/llama-7b" not in commercial


def test_list_paginates_and_keeps_filters_in_page_links(client, catalog, monkeypatch):
    monkeypatch.setattr("registry.views.models.PAGE_SIZE", 10)

    first = client.get("/models/?weights=open").content.decode()
    second = client.get("/models/?weights=open&page=2").content.decode()

    assert len(_rows(first)) == 10
    assert "?weights=open&amp;page=2" in first
    assert not set(_rows(first)) & set(_rows(second))


def test_bad_filter_values_are_explained_with_status_400(client, catalog):
    response = client.get("/models/?min_params=lots&language=english")

    html = response.content.decode()
    assert response.status_code == 400
    assert "min_params" in html and "7B" in html
    assert "ISO 639-1" in html
    assert 'value="lots"' in html  # what the user typed stays in the form


def test_empty_result_says_so(client, catalog):
    html = client.get("/models/?search=no-such-model-anywhere").content.decode()

    assert "No model matches these filters." in html


def test_list_page_query_count_is_pinned(client, catalog, django_assert_num_queries):
    # count, page, languages prefetch, language options, license options
    with django_assert_num_queries(5):
        response = client.get("/models/?language=en")
    assert response.status_code == 200


def test_model_page_shows_every_fact_with_its_source_and_the_hub_link(client, catalog, settings):
    settings.HF_ENDPOINT = "http://hub.test.local"

    html = client.get("/models/meta-llama/Llama-2-7b-hf/").content.decode()

    assert "<h1>Llama 2 7B</h1>" in html
    assert "6,738,415,616" in html and "6.7B" in html
    assert "4,096 tokens" in html
    assert "Llama 2 Community License" in html and "allowed with conditions" in html
    assert "2023-07-18" in html
    assert "gated (manual approval)" in html
    assert 'href="http://hub.test.local/meta-llama/Llama-2-7b-hf"' in html
    assert 'href="https://github.com/meta-llama/llama/blob/main/MODEL_CARD.md"' in html  # a fact's source


def test_model_page_shows_lineage_both_ways(client, catalog):
    alpaca = client.get("/models/tatsu-lab/alpaca-7b-wdiff/").content.decode()
    llama = client.get("/models/meta/llama-7b/").content.decode()

    assert 'href="/models/meta/llama-7b/"' in alpaca and "fine-tune" in alpaca
    assert "weight diff" in alpaca
    assert 'href="/models/tatsu-lab/alpaca-7b-wdiff/"' in llama
    assert 'href="/models/nomic-ai/gpt4all-lora/"' in llama and "adapter" in llama
    # Two levels up: MiniGPT-4 -> Vicuna v0 -> LLaMA 13B.
    minigpt = client.get("/models/Vision-CAIR/MiniGPT-4/").content.decode()
    assert minigpt.index("/models/lmsys/vicuna-13b-delta-v0/") < minigpt.index("/models/meta/llama-13b/")


def test_model_page_estimates_memory_at_fp16_int8_int4(client, catalog):
    html = client.get("/models/meta-llama/Llama-2-7b-hf/").content.decode()

    # 6,738,415,616 parameters: 2 bytes -> 12.6 GiB, 1 byte -> 6.3 GiB, half a byte -> 3.1 GiB.
    assert "12.6 GiB" in html and "6.3 GiB" in html and "3.1 GiB" in html
    assert "Weights only" in html
    gpt4 = client.get("/models/openai/gpt-4/").content.decode()
    assert "cannot be estimated" in gpt4


def test_closed_model_base_url_is_shown_to_staff_only(client, catalog, alice, sam_staff):
    anonymous = client.get("/models/openai/gpt-4/").content.decode()
    assert "OpenAI" in anonymous
    assert "api.openai.com" not in anonymous and "LADDER_KEY_OPENAI" not in anonymous

    client.force_login(alice)
    assert "api.openai.com" not in client.get("/models/openai/gpt-4/").content.decode()

    client.force_login(sam_staff)
    staff = client.get("/models/openai/gpt-4/").content.decode()
    assert "https://api.openai.com/v1" in staff and "LADDER_KEY_OPENAI" in staff


def test_model_page_escapes_untrusted_card_text(client, catalog):
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    LanguageModel.objects.filter(repo_id="HuggingFaceTB/SmolLM2-135M-Instruct").update(
        description=payload, tags=["<b>tag</b>"], sources={"license": {"url": "javascript:alert(1)"}}
    )

    html = client.get("/models/HuggingFaceTB/SmolLM2-135M-Instruct/").content.decode()

    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "<b>tag</b>" not in html
    assert 'href="javascript:' not in html


def test_model_page_has_the_evaluations_section(client, catalog):
    html = client.get("/models/HuggingFaceTB/SmolLM2-135M-Instruct/").content.decode()

    assert 'id="evaluations"' in html


def test_unknown_model_page_is_404(client, catalog):
    assert client.get("/models/nobody/nothing/").status_code == 404


def test_pages_use_the_local_stylesheet_and_no_cdn(client, catalog):
    html = client.get("/models/").content.decode()

    assert "/static/css/ladder.css" in html
    assert not re.search(r'(src|href)="(https?:)?//', html.split("<main", 1)[0])


def test_model_page_query_count_is_bounded_by_the_lineage_depth(client, catalog, django_assert_max_num_queries):
    # model + languages + one per base level (2 here) + derivatives + the evaluations section
    with django_assert_max_num_queries(10):
        response = client.get("/models/Vision-CAIR/MiniGPT-4/")
    assert response.status_code == 200


def test_list_lets_a_visitor_pick_models_to_compare_without_javascript(client, catalog):
    html = client.get("/models/?search=vicuna").content.decode()

    assert '<form method="get" action="/compare/"' in html
    assert 'name="models" value="lmsys/vicuna-7b-v1.5"' in html
