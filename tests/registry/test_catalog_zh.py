"""Catalog text in both languages: every seed model's description and every note on its facts has a
Simplified Chinese text, stored by `load_catalog`, shown on pages in Chinese and returned by the API."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from registry.catalog import MODELS
from registry.catalog.text_zh import DESCRIPTIONS_ZH, NOTES_ZH
from registry.models import LanguageModel
from registry.services.catalog import catalog_load

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def catalog():
    catalog_load()


def _chinese_client() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="zh-hans")


def test_every_catalog_description_and_note_has_a_chinese_text():
    missing_descriptions = [m["id"] for m in MODELS if not CJK.search(DESCRIPTIONS_ZH.get(m["id"], ""))]
    notes = {note for m in MODELS for note in m.get("notes", {}).values()}
    missing_notes = [note for note in notes if not CJK.search(NOTES_ZH.get(note, ""))]

    assert missing_descriptions == []
    assert missing_notes == []
    # Nothing left over from an entry that changed its English text: every translation is used.
    assert set(DESCRIPTIONS_ZH) == {m["id"] for m in MODELS}
    assert set(NOTES_ZH) == notes


def test_load_catalog_stores_the_chinese_description_and_notes(catalog):
    glm = LanguageModel.objects.get(repo_id="THUDM/chatglm-6b")

    assert glm.description.startswith("An open bilingual (Chinese and English) dialogue model")
    assert glm.description_zh == DESCRIPTIONS_ZH["THUDM/chatglm-6b"]
    assert glm.sources["parameters"]["note"] == "Measured by calflops; the README says 6.2B (62 亿参数)."
    assert glm.sources["parameters"]["note_zh"] == "由 calflops 实测；README 称 62 亿参数。"
    visual = LanguageModel.objects.get(repo_id="THUDM/visualglm-6b")
    assert CJK.search(visual.sources["base_model"]["note_zh"])


def test_a_second_load_changes_nothing_and_an_admin_edit_of_the_chinese_text_is_kept(catalog):
    model = LanguageModel.objects.get(repo_id="openai/gpt-4")
    model.description_zh = "管理员修改过的描述。"
    model.save(update_fields=["description_zh"])

    counts = catalog_load()

    model.refresh_from_db()
    assert model.description_zh == "管理员修改过的描述。"
    assert counts["created"] == 0
    assert counts["updated"] == 1  # the admin's edit drops the catalog's claim on the text, once
    assert catalog_load()["updated"] == 0


def test_an_install_loaded_before_chinese_text_gets_it_on_the_next_load(catalog):
    model = LanguageModel.objects.get(repo_id="Qwen/Qwen-7B")
    sources = {
        fact: {k: v for k, v in record.items() if k != "note_zh"}
        for fact, record in model.sources.items()
        if fact != "description_zh"
    }
    LanguageModel.objects.filter(pk=model.pk).update(description_zh="", sources=sources)

    catalog_load()

    model.refresh_from_db()
    assert model.description_zh == "阿里云开源通义千问（Qwen）系列的 7B 基础模型。"
    assert model.sources["parameters"]["note_zh"] == "由 calflops 实测。"


def test_model_page_in_chinese_shows_the_chinese_description_notes_and_source_labels(catalog):
    html = _chinese_client().get("/models/THUDM/chatglm-6b/").content.decode()

    assert '<html lang="zh-hans">' in html
    assert "基于 GLM 架构的开源中英双语对话模型" in html
    assert "An open bilingual (Chinese and English) dialogue model" not in html
    assert "由 calflops 实测；README 称 62 亿参数。" in html
    assert "Measured by calflops" not in html
    assert "(目录)" in html
    assert "(catalog)" not in html


def test_model_page_in_english_keeps_the_english_catalog_text(catalog):
    html = Client(HTTP_ACCEPT_LANGUAGE="en").get("/models/THUDM/chatglm-6b/").content.decode()

    assert "An open bilingual (Chinese and English) dialogue model" in html
    assert "基于 GLM 架构的开源中英双语对话模型" not in html
    assert "Measured by calflops; the README says 6.2B (62 亿参数)." in html
    assert "(catalog)" in html


def test_model_list_shows_each_description_in_the_page_language(catalog):
    chinese = _chinese_client().get("/models/?search=smollm2").content.decode()
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get("/models/?search=smollm2").content.decode()

    assert "Hugging Face SmolLM2 小型语言模型系列中经指令微调的 1.35 亿参数模型" in chinese
    assert "The instruction-tuned 135M model of Hugging Face" not in chinese
    assert "The instruction-tuned 135M model of Hugging Face" in english


def test_a_model_with_only_an_english_description_shows_it_on_a_chinese_page(catalog):
    LanguageModel.objects.filter(repo_id="google/gemma-7b").update(description_zh="")

    html = _chinese_client().get("/models/google/gemma-7b/").content.decode()

    assert "The 7B model of Google&#x27;s Gemma family" in html


def test_api_returns_the_description_and_notes_in_both_languages_whatever_the_accept_language(catalog):
    for language in ("en", "zh-hans"):
        data = Client(HTTP_ACCEPT_LANGUAGE=language).get("/api/v1/models/THUDM/chatglm-6b/").json()

        assert data["description"].startswith("An open bilingual (Chinese and English) dialogue model")
        assert data["description_zh"] == DESCRIPTIONS_ZH["THUDM/chatglm-6b"]
        assert data["sources"]["parameters"]["note"] == "Measured by calflops; the README says 6.2B (62 亿参数)."
        assert data["sources"]["parameters"]["note_zh"] == "由 calflops 实测；README 称 62 亿参数。"
        assert data["sources"]["parameters"]["by"] == "catalog"
        assert "description_zh" not in data["sources"]
