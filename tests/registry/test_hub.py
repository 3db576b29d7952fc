"""registry.hub against the fake Hub: the real huggingface_hub client over HTTP, errors, retries, timeouts."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from registry import hub
from registry.hub import HubModel, HubPermanentError, HubTemporaryError
from tests.hubfake import FakeHub, fixture_models


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # local fake Hub
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


# -- the fake Hub's wire behaviour ----------------------------------------------------------------------
def test_fake_hub_paginates_with_absolute_next_links_that_carry_every_parameter():
    with FakeHub(fixture_models(), page_size=3) as fake:
        status, headers, body = _get(f"{fake.url}/api/models?author=HuggingFaceTB&limit=1&full=true")
        assert status == 200 and len(json.loads(body)) == 1
        link = headers["Link"]
        assert link.startswith(f"<{fake.url}/api/models?") and link.endswith('>; rel="next"')
        assert "author=HuggingFaceTB" in link and "full=true" in link and "cursor=" in link
        next_url = link[1 : link.index(">")]
        status, headers, body = _get(next_url)
        assert status == 200 and "Link" not in headers  # the second and last HuggingFaceTB model
        assert [item["id"] for item in json.loads(body)] == ["HuggingFaceTB/SmolLM2-135M"]


def test_fake_hub_expand_returns_only_the_asked_fields_and_rejects_unknown_values():
    with FakeHub(fixture_models()) as fake:
        status, _, body = _get(f"{fake.url}/api/models?search=Qwen-7B&expand[]=author&expand=sha")
        assert status == 200
        assert set(json.loads(body)[0]) == {"_id", "id", "author", "sha"}
        status, headers, body = _get(f"{fake.url}/api/models?expand=nonsense")
        assert status == 400 and "nonsense" in json.loads(body)["error"]


def test_fake_hub_accepts_true_True_and_1_for_booleans():
    with FakeHub(fixture_models()) as fake:
        for value in ("true", "True", "1"):
            status, _, body = _get(f"{fake.url}/api/models?search=chatglm&full={value}&cardData={value}")
            item = json.loads(body)[0]
            assert status == 200 and "sha" in item and item["cardData"]["language"] == ["zh", "en"]


def test_fake_hub_errors_carry_x_error_code_and_gated_repos_refuse_only_downloads():
    with FakeHub(fixture_models()) as fake:
        status, headers, _ = _get(f"{fake.url}/api/models/nobody/nothing")
        assert status == 404 and headers["X-Error-Code"] == "RepoNotFound"
        status, headers, _ = _get(f"{fake.url}/api/models/THUDM/chatglm-6b/revision/v9")
        assert status == 404 and headers["X-Error-Code"] == "RevisionNotFound"
        status, _, body = _get(f"{fake.url}/api/models/meta-llama/Llama-2-7b-hf")
        assert status == 200 and json.loads(body)["gated"] == "manual"
        status, headers, _ = _get(f"{fake.url}/meta-llama/Llama-2-7b-hf/resolve/main/config.json")
        assert status == 401 and headers["X-Error-Code"] == "GatedRepo"
        status, headers, _ = _get(f"{fake.url}/api/agent-harnesses")
        assert status == 404


# -- the client adapter ---------------------------------------------------------------------------------
def test_hub_client_talks_to_the_fake_over_http_at_settings_hf_endpoint(fake_hub):
    info = hub.hub_model_info("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert isinstance(info, HubModel)
    assert info.safetensors_total == 134_515_008 and info.safetensors_parameters == {"BF16": 134_515_008}
    assert info.card_data["license"] == "apache-2.0" and info.gated == ""
    request = fake_hub.requests_to("/api/models/HuggingFaceTB")[-1]
    assert "hf_hub/" in request.headers.get("user-agent", "")  # the real client, not a stub
    assert {"safetensors", "cardData", "sha"} <= {v for k, v in request.query if k == "expand"}


def test_listing_follows_every_page_and_needs_no_model_info(fake_hub):
    models = list(hub.hub_list_models())
    assert {m.repo_id for m in models} == set(fake_hub.model_ids())
    assert len(fake_hub.requests_to("/api/models")) == 3  # 11 models, 4 per page
    assert fake_hub.requests_to("/api/models/") == []
    qwen = next(m for m in models if m.repo_id == "Qwen/Qwen-7B")
    assert qwen.safetensors_total == 7_721_324_544 and qwen.sha and qwen.complete


def test_listing_stops_at_the_limit_without_asking_for_the_next_page(fake_hub):
    models = list(hub.hub_list_models(limit=2))
    assert len(models) == 2
    assert len(fake_hub.requests_to("/api/models")) == 1


@pytest.mark.parametrize(
    ("fault", "kind"),
    [("not_found", "not_found"), ("gated", "gated"), ("disabled", "disabled")],
)
def test_permanent_errors_are_not_retried(fake_hub, fault, kind):
    fake_hub.add_fault(fault, model="Qwen/Qwen-7B")
    with pytest.raises(HubPermanentError) as caught:
        hub.hub_model_info("Qwen/Qwen-7B")
    assert caught.value.kind == kind
    assert len(fake_hub.requests_to("/api/models/Qwen")) == 1


def test_unknown_revision_is_a_permanent_revision_not_found(fake_hub):
    with pytest.raises(HubPermanentError) as caught:
        hub.hub_model_info("THUDM/chatglm-6b", revision="v9")
    assert caught.value.kind == "revision_not_found"


def test_model_info_is_retried_after_429_and_5xx_which_the_client_never_retries(fake_hub):
    fake_hub.add_fault("rate_limit", model="Qwen/Qwen-7B", times=2)
    fake_hub.add_fault("server_error", model="Qwen/Qwen-7B", times=1, status=502)
    info = hub.hub_model_info("Qwen/Qwen-7B")
    assert info.repo_id == "Qwen/Qwen-7B"
    assert len(fake_hub.requests_to("/api/models/Qwen")) == 4


def test_retries_are_bounded_and_end_in_a_temporary_error(fake_hub, settings):
    settings.HUB_MAX_RETRIES = 2
    fake_hub.add_fault("server_error", model="Qwen/Qwen-7B", status=503)
    with pytest.raises(HubTemporaryError) as caught:
        hub.hub_model_info("Qwen/Qwen-7B")
    assert caught.value.kind == "server_error"
    assert len(fake_hub.requests_to("/api/models/Qwen")) == 3


def test_a_hanging_hub_times_out_instead_of_blocking_forever(fake_hub, settings):
    settings.HUB_TIMEOUT = 0.3
    fake_hub.add_fault("hang", model="Qwen/Qwen-7B", times=1, hang_seconds=3)
    started = time.monotonic()
    info = hub.hub_model_info("Qwen/Qwen-7B")  # first try times out, the retry answers
    assert info.sha and time.monotonic() - started < 2.5


def test_malformed_json_and_missing_required_fields_are_temporary(fake_hub, settings):
    settings.HUB_MAX_RETRIES = 1
    fake_hub.add_fault("malformed", model="Qwen/Qwen-7B")
    with pytest.raises(HubTemporaryError) as caught:
        hub.hub_model_info("Qwen/Qwen-7B")
    assert caught.value.kind == "malformed"
    fake_hub.clear_faults()
    fake_hub.add_fault("missing_fields", model="Qwen/Qwen-7B", fields=("id",))
    with pytest.raises(HubTemporaryError):
        hub.hub_model_info("Qwen/Qwen-7B")


def test_a_failed_listing_page_is_retried_from_its_own_cursor(fake_hub):
    fake_hub.add_fault("rate_limit", path="/api/models", skip=1, times=2)  # the 2nd page, twice
    models = list(hub.hub_list_models())
    assert len(models) == len(fake_hub.model_ids())
    pages = fake_hub.requests_to("/api/models")
    assert len(pages) == 5 and sum(1 for r in pages if any(k == "cursor" for k, _ in r.query)) == 4


def test_rate_limit_reset_from_the_hub_sets_the_wait(settings):
    settings.HUB_BACKOFF_BASE = 0.01
    assert hub._backoff(0, 5.0) == 5.0  # RateLimit t=5 (or Retry-After: 5)
    assert hub._backoff(3, None) == pytest.approx(0.08)


def test_gated_model_metadata_is_public_but_its_config_download_is_refused(fake_hub):
    info = hub.hub_model_info("meta-llama/Llama-2-7b-hf")
    assert info.gated == "manual" and info.safetensors_total == 6_738_415_616
    with pytest.raises(HubPermanentError) as caught:
        hub.hub_model_config("meta-llama/Llama-2-7b-hf")
    assert caught.value.kind == "gated"


def test_config_json_comes_from_resolve_and_a_repo_without_one_gives_an_empty_dict(fake_hub):
    config = hub.hub_model_config("THUDM/chatglm-6b")
    assert config["num_layers"] == 28 and config["max_sequence_length"] == 2048
    assert hub.hub_model_config("ladder-fixtures/smol-chat-lora") == {}


def test_a_download_that_could_not_reach_the_hub_is_a_temporary_error():
    from huggingface_hub.errors import LocalEntryNotFoundError

    error = hub._classify(LocalEntryNotFoundError("cannot find the requested files in the local cache"))
    assert isinstance(error, HubTemporaryError) and error.kind == "connection"


def test_fake_hub_serves_dataset_files_and_repo_trees_to_the_real_client(fake_hub, tmp_path, monkeypatch):
    from huggingface_hub import HfApi, constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    sha = fake_hub.add_dataset("ladder-fixtures/tiny-bench", {"test.jsonl": '{"q": "2+2", "a": "4"}\n'})

    path = hub.hub_dataset_file("ladder-fixtures/tiny-bench", "test.jsonl", sha)

    assert open(path, encoding="utf-8").read() == '{"q": "2+2", "a": "4"}\n'
    assert str(tmp_path) in path and sha in path  # cached under the pinned commit
    files = HfApi(endpoint=fake_hub.url).list_repo_files("THUDM/chatglm-6b")
    assert "config.json" in files and "modeling_chatglm.py" in files
    with pytest.raises(HubPermanentError):
        hub.hub_dataset_file("ladder-fixtures/tiny-bench", "missing.jsonl", sha)
