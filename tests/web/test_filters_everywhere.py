"""One table of model filter cases, driven through every surface that filters models.

The models page (/models/), the models API (/api/v1/models/), the leaderboard page (/), the leaderboard
API (/api/v1/leaderboard/) and its CSV (/api/v1/leaderboard.csv) all read their filters with
registry.selectors.models.ModelFilters: a valid filter selects the same models on all five, a bad value
is named as the same field on all five.
"""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.test import Client

from evals.selectors.leaderboard import leaderboard_cache_bump
from registry.models import LanguageModel, License
from tests.evals.factories import LicenseFactory, complete_run, model

pytestmark = pytest.mark.django_db

LLAMA_7B = "meta-llama/Llama-2-7b-hf"
LLAMA_70B = "meta-llama/Llama-2-70b-hf"
VICUNA = "lmsys/vicuna-7b-v1.5"
QWEN = "Qwen/Qwen-7B"
SMOL = "HuggingFaceTB/SmolLM2-135M"
GLM = "THUDM/chatglm-6b"
GPT4 = "openai/gpt-4"
ERNIE = "baidu/ernie-bot"
AT_3_5B = "bounds/at-3.5b"
AT_9B = "bounds/at-9b"
AT_70B = "bounds/at-70b"
EVERY = frozenset({LLAMA_7B, LLAMA_70B, VICUNA, QWEN, SMOL, GLM, GPT4, ERNIE, AT_3_5B, AT_9B, AT_70B})


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    leaderboard_cache_bump()
    yield
    cache.clear()


@pytest.fixture
def registry():
    """Eleven models, each with a complete run of the quick suite (so each is on the board too)."""
    llama2 = LicenseFactory(key="llama2", commercial_use=License.Commercial.RESTRICTED)
    apache = LicenseFactory(key="apache-2.0", commercial_use=License.Commercial.YES)
    glm_license = LicenseFactory(key="chatglm-6b", commercial_use=License.Commercial.NO)
    proprietary = LicenseFactory(key="proprietary", commercial_use=License.Commercial.UNKNOWN)
    llama = model(LLAMA_7B, parameters=6_738_415_616, languages=["en"], license=llama2, on_hub=True)
    rows = [
        (llama, 0.50),
        (model(LLAMA_70B, parameters=68_976_648_192, languages=["en"], license=llama2, on_hub=True), 0.60),
        (
            model(VICUNA, parameters=6_738_415_616, languages=["en"], license=llama2, base_model=llama, on_hub=True),
            0.52,
        ),
        (model(QWEN, parameters=7_721_324_544, languages=["zh", "en"], license=apache, on_hub=True), 0.58),
        (model(SMOL, parameters=134_515_008, languages=["en"], license=apache, on_hub=True), 0.30),
        (model(GLM, parameters=6_173_286_400, languages=["zh", "en"], license=glm_license, on_hub=False), 0.45),
        (
            model(
                GPT4,
                weights="closed",
                parameters=None,
                languages=["en", "zh"],
                license=proprietary,
                modality=LanguageModel.Modality.VISION_LANGUAGE,
            ),
            0.85,
        ),
        (model(ERNIE, name="文心一言", weights="closed", parameters=None, languages=["zh"], license=proprietary), 0.70),
        (model(AT_3_5B, parameters=3_500_000_000, languages=["en"], license=apache, on_hub=True), 0.35),
        (model(AT_9B, parameters=9_000_000_000, languages=["en"], license=apache, on_hub=True), 0.40),
        (model(AT_70B, parameters=70_000_000_000, languages=["en"], license=apache, on_hub=True), 0.62),
    ]
    for row, score in rows:
        complete_run(row, score)
    assert {row.repo_id for row, _ in rows} == EVERY


# (query, the models it selects)
VALID = [
    ({}, EVERY),
    ({"weights": "", "size": "", "min_params": ""}, EVERY),  # a GET form's empty fields
    ({"weights": "open"}, EVERY - {GPT4, ERNIE}),
    ({"weights": "closed"}, {GPT4, ERNIE}),
    ({"language": "zh"}, {QWEN, GLM, GPT4, ERNIE}),
    ({"language": "ZH"}, {QWEN, GLM, GPT4, ERNIE}),
    ({"license": "LLAMA2"}, {LLAMA_7B, LLAMA_70B, VICUNA}),
    ({"commercial": "true"}, EVERY - {GLM, GPT4, ERNIE}),
    ({"commercial": "yes"}, EVERY - {GLM, GPT4, ERNIE}),
    ({"commercial": "false"}, EVERY),  # "not only commercial" is no filter
    ({"organization": "Meta-Llama"}, {LLAMA_7B, LLAMA_70B}),
    ({"min_params": "7B"}, {QWEN, LLAMA_70B, AT_9B, AT_70B}),
    ({"max_params": "134515008"}, {SMOL}),  # inclusive
    ({"min_params": "1.5b", "max_params": " 7 B "}, {LLAMA_7B, VICUNA, GLM, AT_3_5B}),
    ({"min_params": "0.1B", "max_params": "0.2B"}, {SMOL}),
    ({"size": "edge"}, {SMOL}),  # buckets are [low, high): 3.5B is consumer, 9B mid, 70B large
    ({"size": "consumer"}, {AT_3_5B, LLAMA_7B, VICUNA, QWEN, GLM}),
    ({"size": "mid"}, {AT_9B, LLAMA_70B}),
    ({"size": "large"}, {AT_70B}),
    ({"size": "consumer", "max_params": "7B"}, {AT_3_5B, LLAMA_7B, VICUNA, GLM}),
    ({"size": "large", "max_params": "13B"}, set()),
    ({"modality": "vision-language"}, {GPT4}),
    ({"base": LLAMA_7B}, {LLAMA_7B, VICUNA}),
    ({"search": "qwen"}, {QWEN}),
    ({"search": "文心"}, {ERNIE}),
    ({"search": "no-such-model"}, set()),
    ({"weights": "open", "language": "zh", "max_params": "14B"}, {QWEN, GLM}),
    # commercial: allowed with or without conditions (llama2's are conditions)
    ({"weights": "open", "commercial": "on", "size": "consumer", "language": "en"}, {AT_3_5B, LLAMA_7B, VICUNA, QWEN}),
]
VALID += [
    ({"on_hub": "false"}, {GLM, GPT4, ERNIE}),
    ({"on_hub": "true", "language": "zh"}, {QWEN}),
]

# (query, the field every surface names first, every field named)
INVALID = [
    ({"weights": "half-open"}, "weights", {"weights"}),
    ({"language": "english"}, "language", {"language"}),
    ({"min_params": "lots"}, "min_params", {"min_params"}),
    ({"min_params": "1.5"}, "min_params", {"min_params"}),  # a fraction needs a suffix
    ({"max_params": "-5"}, "max_params", {"max_params"}),
    ({"max_params": "2000T"}, "max_params", {"max_params"}),
    ({"min_params": "13B", "max_params": "7B"}, "max_params", {"max_params"}),
    ({"size": "huge"}, "size", {"size"}),
    ({"modality": "smell"}, "modality", {"modality"}),
    ({"commercial": "perhaps"}, "commercial", {"commercial"}),
    ({"on_hub": "maybe"}, "on_hub", {"on_hub"}),
    ({"search": "x" * 201}, "search", {"search"}),
    ({"organization": "o" * 101}, "organization", {"organization"}),
    ({"license": "mit\x00"}, "license", {"license"}),
    ({"weights": "half-open", "size": "huge", "language": "zh"}, "weights", {"weights", "size"}),
]


def _query(params: dict[str, str]) -> str:
    return urlencode(params)


def models_api(client: Client, params: dict[str, str]) -> set[str]:
    response = client.get(f"/api/v1/models/?{_query({**params, 'per_page': 200})}")
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def models_page(client: Client, params: dict[str, str]) -> set[str]:
    response = client.get(f"/models/?{_query(params)}")
    assert response.status_code == 200, response.content
    return set(re.findall(r'<code class="model-id">([^<]+)</code>', response.content.decode()))


def leaderboard_api(client: Client, params: dict[str, str]) -> set[str]:
    response = client.get(f"/api/v1/leaderboard/?{_query({**params, 'per_page': 500})}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["not_ranked_count"] == 0
    return {row["model"]["id"] for row in body["results"]}


def leaderboard_page(client: Client, params: dict[str, str]) -> set[str]:
    response = client.get(f"/?{_query(params)}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "were not understood" not in html
    if '<table class="lb-table">' not in html:  # a board that the filters empty has no table
        assert "No ranked model matches these filters." in html
        return set()
    table = html.split('<table class="lb-table">', 1)[1].split("</table>", 1)[0]
    return set(re.findall(r'<th scope="row" class="model">\s*<a href="/models/([^"]+)/"', table))


def leaderboard_csv(client: Client, params: dict[str, str]) -> set[str]:
    response = client.get(f"/api/v1/leaderboard.csv?{_query(params)}")
    assert response.status_code == 200, response.content
    text = b"".join(response.streaming_content).decode()
    return {row["model"] for row in csv.DictReader(io.StringIO(text))}


SURFACES = {
    "models page": models_page,
    "models API": models_api,
    "leaderboard page": leaderboard_page,
    "leaderboard API": leaderboard_api,
    "leaderboard CSV": leaderboard_csv,
}


def _selected_everywhere(params: dict[str, str]) -> dict[str, set[str]]:
    client = Client()
    return {name: surface(client, params) for name, surface in SURFACES.items()}


@pytest.mark.parametrize(("params", "expected"), VALID, ids=[_query(p) or "no-filter" for p, _ in VALID])
def test_a_filter_selects_the_same_models_on_every_surface(registry, params, expected):
    selected = _selected_everywhere(params)

    assert selected == dict.fromkeys(SURFACES, set(expected))


def _api_error(client: Client, url: str) -> tuple[str, set[str]]:
    response = client.get(url)
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] and error["message"].startswith(f"{error['field']}: ")
    assert all(isinstance(messages, list) and messages[0] for messages in error["fields"].values())
    return error["field"], set(error["fields"])


def _page_error(response, status: int) -> set[str]:
    assert response.status_code == status
    return set(re.findall(r'<li data-field="([a-z_]+)">', response.content.decode()))


@pytest.mark.parametrize(
    ("params", "field", "fields"), INVALID, ids=[f"{field}-{i}" for i, (_p, field, _f) in enumerate(INVALID)]
)
def test_a_bad_filter_value_is_the_same_error_on_every_surface(registry, params, field, fields):
    client = Client()
    query = _query(params)

    assert _api_error(client, f"/api/v1/models/?{query}") == (field, fields)
    assert _api_error(client, f"/api/v1/leaderboard/?{query}") == (field, fields)
    assert _api_error(client, f"/api/v1/leaderboard.csv?{query}") == (field, fields)
    # The models page answers 400 with the form; the leaderboard page shows the board without the bad values.
    assert _page_error(client.get(f"/models/?{query}"), 400) == fields
    assert _page_error(client.get(f"/?{query}"), 200) == fields


def test_every_surface_gives_the_same_message_for_a_bad_value(registry):
    client = Client()
    query = _query({"min_params": "lots", "size": "huge"})

    models = client.get(f"/api/v1/models/?{query}").json()["error"]["fields"]
    board = client.get(f"/api/v1/leaderboard/?{query}").json()["error"]["fields"]
    exported = client.get(f"/api/v1/leaderboard.csv?{query}").json()["error"]["fields"]

    assert models == board == exported
    assert "7B" in models["min_params"][0] and "edge" in models["size"][0]
