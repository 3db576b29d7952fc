"""GET /api/v1/models/ and /api/v1/models/<org>/<name>/: contract fields, filters, errors, query count."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from registry.models import LanguageModel
from registry.services.catalog import catalog_load

pytestmark = pytest.mark.django_db

CONTRACT_FIELDS = {
    "id",
    "name",
    "organization",
    "weights",
    "parameters",
    "context_length",
    "languages",
    "license",
    "base_model",
    "modality",
    "gated",
    "hub",
    "release_date",
}


@pytest.fixture
def catalog():
    catalog_load()


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_anonymous_user_lists_models_with_every_contract_field(api_client, catalog):
    response = api_client.get("/api/v1/models/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 35
    row = body["results"][0]
    assert CONTRACT_FIELDS <= set(row)
    assert set(row["hub"]) == {"sha", "downloads", "likes", "last_modified"}


def test_detail_returns_the_contract_shape_for_llama_2_7b(api_client, catalog):
    body = api_client.get("/api/v1/models/meta-llama/Llama-2-7b-hf/").json()

    assert body["id"] == "meta-llama/Llama-2-7b-hf"
    assert body["organization"] == "meta-llama"
    assert body["weights"] == "open"
    assert body["parameters"] == 6_738_415_616
    assert body["parameters_display"] == "6.7B"
    assert body["context_length"] == 4096
    assert body["languages"] == ["en"]
    assert body["license"] == "llama2"
    assert body["license_detail"]["commercial_use"] == "restricted"
    assert body["base_model"] is None
    assert body["modality"] == "text"
    assert body["gated"] is True and body["gated_mode"] == "manual"
    assert body["hub"] == {"sha": None, "downloads": None, "likes": None, "last_modified": None}
    assert body["release_date"] == "2023-07-18"
    assert body["derivatives"] == ["lmsys/vicuna-7b-v1.5"]
    assert body["sources"]["context_length"]["url"].startswith("https://")
    assert "value" not in body["sources"]["context_length"]  # internal bookkeeping stays internal
    assert body["links"]["hub"] == "https://huggingface.co/meta-llama/Llama-2-7b-hf"


def test_detail_of_a_derivative_names_its_base_and_relation(api_client, catalog):
    body = api_client.get("/api/v1/models/lmsys/vicuna-7b-v1.5/").json()

    assert body["base_model"] == "meta-llama/Llama-2-7b-hf"
    assert body["base_relation"] == "finetune"


def test_release_date_follows_its_precision(api_client, catalog):
    assert api_client.get("/api/v1/models/cohere/command/").json()["release_date"] == "2022-11"
    assert api_client.get("/api/v1/models/alibaba/tongyi-qianwen/").json()["release_date"] is None


def test_detail_lookup_ignores_case_like_the_hub(api_client, catalog):
    assert api_client.get("/api/v1/models/THUDM/glm-130b/").json()["id"] == "thudm/glm-130b"


def test_unknown_model_is_a_json_404(api_client, catalog):
    response = api_client.get("/api/v1/models/nobody/nothing/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert "nobody/nothing" in error["message"]


def test_closed_model_endpoint_and_key_variable_are_visible_to_staff_only(api_client, catalog, alice, sam_staff):
    anonymous = api_client.get("/api/v1/models/openai/gpt-4/")
    assert anonymous.json()["endpoint"] is None
    assert b"LADDER_KEY_OPENAI" not in anonymous.content

    api_client.force_authenticate(alice)
    signed_in = api_client.get("/api/v1/models/openai/gpt-4/")
    assert signed_in.json()["endpoint"] is None
    assert b"LADDER_KEY_OPENAI" not in signed_in.content
    assert b"api.openai.com" not in signed_in.content

    api_client.force_authenticate(sam_staff)
    staff = api_client.get("/api/v1/models/openai/gpt-4/").json()
    assert staff["endpoint"] == {
        "base_url": "https://api.openai.com/v1",
        "model_name": "gpt-4",
        "api_key_env": "LADDER_KEY_OPENAI",
    }
    assert staff["provider"] == "OpenAI"
    assert staff["parameters"] is None and staff["weights"] == "closed"


@pytest.mark.parametrize(
    ("query", "expected_in", "expected_out"),
    [
        ("weights=closed", {"openai/gpt-4", "baidu/ernie-bot"}, {"meta-llama/Llama-2-7b-hf"}),
        ("weights=open", {"meta-llama/Llama-2-7b-hf"}, {"openai/gpt-4"}),
        ("language=zh", {"Qwen/Qwen-7B", "THUDM/chatglm-6b", "baidu/ernie-bot"}, {"google/gemma-2b"}),
        ("language=ZH", {"Qwen/Qwen-7B"}, {"google/gemma-2b"}),
        ("license=llama2", {"lmsys/vicuna-7b-v1.5", "meta-llama/Llama-2-70b-hf"}, {"meta/llama-7b"}),
        ("organization=meta-llama", {"meta-llama/Llama-2-13b-hf"}, {"meta/llama-13b"}),
        ("min_params=7B&max_params=8B", {"mistralai/Mistral-7B-v0.1", "Qwen/Qwen-7B"}, {"google/gemma-7b"}),
        ("max_params=1000000000", {"HuggingFaceTB/SmolLM2-135M-Instruct"}, {"google/gemma-2b"}),
        ("modality=vision-language", {"THUDM/visualglm-6b", "openai/gpt-4"}, {"THUDM/chatglm-6b"}),
        ("search=vicuna", {"lmsys/vicuna-13b-v1.5", "lmsys/vicuna-13b-delta-v0"}, {"meta/llama-13b"}),
        ("search=文心", {"baidu/ernie-bot"}, {"openai/gpt-4"}),
        ("size=edge", {"google/gemma-2b", "HuggingFaceTB/SmolLM2-135M-Instruct"}, {"google/gemma-7b"}),
        (
            "commercial=true",
            {"mistralai/Mistral-7B-v0.1", "google/gemma-7b"},
            {"meta/llama-7b", "lmsys/vicuna-13b-delta-v0"},
        ),
        (
            "base=meta/llama-7b",
            {"meta/llama-7b", "tatsu-lab/alpaca-7b-wdiff", "nomic-ai/gpt4all-lora"},
            {"meta/llama-13b"},
        ),
    ],
)
def test_list_filters_select_the_models_a_user_expects(api_client, catalog, query, expected_in, expected_out):
    ids = set(_ids(api_client.get(f"/api/v1/models/?{query}&per_page=200")))

    assert expected_in <= ids, query
    assert not (expected_out & ids), query


def test_ordering_puts_models_with_unknown_size_last(api_client, catalog):
    ids = _ids(api_client.get("/api/v1/models/?ordering=-parameters&per_page=200"))

    assert ids[0] == "tencent/Tencent-Hunyuan-Large"
    assert ids[1] == "openai/gpt-3"
    assert ids.index("openai/gpt-4") > ids.index("HuggingFaceTB/SmolLM2-135M-Instruct")

    ascending = _ids(api_client.get("/api/v1/models/?ordering=parameters&per_page=200"))
    assert ascending[0] == "HuggingFaceTB/SmolLM2-135M-Instruct"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("weights=half-open", "weights"),
        ("language=english", "language"),
        ("min_params=lots", "min_params"),
        ("max_params=-5", "max_params"),
        ("min_params=13B&max_params=7B", "max_params"),
        ("modality=smell", "modality"),
        ("size=huge", "size"),
        ("ordering=password", "ordering"),
        ("commercial=perhaps", "commercial"),
        ("search=" + "x" * 201, "search"),
    ],
)
def test_bad_filter_values_answer_400_naming_the_filter(api_client, catalog, query, field):
    response = api_client.get(f"/api/v1/models/?{query}")

    assert response.status_code == 400
    error = response.json()["error"]
    # The API's one error body: the first bad filter in `field` and `message`, every one in `fields`.
    assert error["code"] and error["field"] in error["fields"]
    assert field in error["fields"]
    assert isinstance(error["fields"][field], list) and error["fields"][field][0]
    assert error["message"].startswith(f"{error['field']}: ")


def test_pages_of_the_list_are_stable_and_cover_every_model_once(api_client, catalog):
    seen: list[str] = []
    url = "/api/v1/models/?per_page=10&ordering=-release_date"
    while url:
        body = api_client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]

    assert len(seen) == 35
    assert len(set(seen)) == 35


def test_list_query_count_does_not_grow_with_the_number_of_models(api_client, catalog, django_assert_num_queries):
    # count + page (with organization, license and base joined) + languages prefetch
    with django_assert_num_queries(3):
        response = api_client.get("/api/v1/models/?per_page=200")
    assert len(response.json()["results"]) == 35

    with django_assert_num_queries(3):
        api_client.get("/api/v1/models/?language=zh&commercial=true&ordering=-parameters")


def test_models_api_is_read_only_writes_need_auth_and_are_refused(api_client, catalog, alice):
    before = LanguageModel.objects.count()

    anonymous = api_client.post("/api/v1/models/", {"id": "evil/model"}, format="json")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"

    token = Token.objects.create(user=alice)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    refused = api_client.post("/api/v1/models/", {"id": "evil/model"}, format="json")
    assert refused.status_code == 405
    assert refused.json()["error"]["code"] == "method_not_allowed" and "POST" in refused.json()["error"]["message"]
    assert api_client.delete("/api/v1/models/openai/gpt-4/").status_code == 405
    assert LanguageModel.objects.count() == before


def test_openapi_schema_documents_the_model_filters(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    params = {p["name"] for p in schema["paths"]["/api/v1/models/"]["get"]["parameters"]}
    assert {
        "weights",
        "language",
        "license",
        "organization",
        "min_params",
        "max_params",
        "modality",
        "search",
        "ordering",
        "size",
        "commercial",
        "base",
        "page",
        "per_page",
    } <= params
    assert "/api/v1/models/{org}/{name}/" in schema["paths"]


def test_detail_query_count_is_fixed(api_client, catalog, django_assert_num_queries):
    # model (with organization, license, base joined) + languages + derivatives
    with django_assert_num_queries(3):
        response = api_client.get("/api/v1/models/meta/llama-7b/")
    assert sorted(response.json()["derivatives"]) == ["nomic-ai/gpt4all-lora", "tatsu-lab/alpaca-7b-wdiff"]


@pytest.mark.parametrize(
    "ordering", ["name", "-name", "id", "-id", "parameters", "-downloads", "likes", "release_date"]
)
def test_every_ordering_works_together_with_the_language_filter(api_client, catalog, ordering):
    ids = _ids(api_client.get(f"/api/v1/models/?language=zh&ordering={ordering}&per_page=200"))

    assert len(ids) == len(set(ids)) == 10
