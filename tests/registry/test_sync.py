"""The Hub sync service against the fake Hub: what lands in the registry, and what happens on faults."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from registry.formatting import parameters_display
from registry.hub import HubListing, HubPermanentError
from registry.models import Language, LanguageModel, License, Organization, SyncRun
from registry.services import hub_sync
from registry.services.hub_facts import LLM_PIPELINES
from registry.services.hub_sync import hub_model_sync, sync_hub
from tests.hubfake import synthetic_models

pytestmark = pytest.mark.django_db


def _model(repo_id: str) -> LanguageModel:
    return LanguageModel.objects.get(repo_id=repo_id)


def _languages(model: LanguageModel) -> set[str]:
    return set(model.languages.values_list("code", flat=True))


def test_sync_brings_in_text_generation_and_vision_language_models_with_their_facts(fake_hub):
    run = sync_hub(limit=100)

    assert run.status == SyncRun.Status.SUCCEEDED and run.created == 10 and run.failed == 0
    assert not LanguageModel.objects.filter(repo_id="google-bert/bert-base-uncased").exists()  # fill-mask

    smol = _model("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert (smol.parameters, smol.parameters_source) == (134_515_008, "safetensors")
    assert parameters_display(smol.parameters) == "135M"
    assert smol.license.key == "apache-2.0" and _languages(smol) == {"en"}
    assert smol.context_length == 8192 and smol.architecture == "LlamaForCausalLM"
    assert smol.base_model.repo_id == "HuggingFaceTB/SmolLM2-135M" and smol.base_relation == "finetune"
    assert smol.organization.slug == "HuggingFaceTB" and smol.on_hub and smol.hub_sha
    assert smol.weights == "open" and smol.downloads == 512_000

    qwen = _model("Qwen/Qwen-7B")
    assert qwen.license.key == "LicenseRef-tongyi-qianwen"
    assert qwen.license_name == "tongyi-qianwen-license-agreement"
    assert _languages(qwen) == {"zh", "en"}

    llama = _model("meta-llama/Llama-2-7b-hf")
    assert llama.gated == "manual" and llama.parameters == 6_738_415_616 and llama.license.key == "llama2"

    glm = _model("THUDM/chatglm-6b")  # no safetensors: computed from config.json
    assert (glm.parameters, glm.parameters_source) == (6_173_286_400, "config")
    assert glm.context_length == 2048 and glm.license is None

    lora = _model("ladder-fixtures/smol-chat-lora")
    assert lora.base_relation == "adapter" and lora.base_model.repo_id == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert (lora.parameters, lora.parameters_source) == (135_000_000, "card")
    gptq = _model("ladder-fixtures/Llama-2-7b-chat-GPTQ")
    assert gptq.base_relation == "quantized" and gptq.base_model == llama
    merge = _model("ladder-fixtures/Qwen-Smol-merge")
    assert merge.base_relation == "merge" and merge.base_model_ref == "HuggingFaceTB/SmolLM2-135M"

    assert _model("ladder-fixtures/SmolVLM-256M-Instruct").modality == "vision-language"
    assert smol.modality == "text"
    mixtral = _model("mistralai/Mixtral-8x7B-v0.1")
    assert mixtral.parameters == 46_702_792_704 and mixtral.active_parameters == 12_879_925_248
    assert _languages(mixtral) == {"fr", "it", "de", "es", "en"}


def test_a_new_models_texts_dates_and_tags_are_stored_exactly_as_the_hub_sent_them(fake_hub):
    from tests.hubfake import model_record

    repo_id = 'ladder-fixtures/Quote-"and\\back-模型🚀'
    fake_hub.add_model(
        model_record(
            repo_id,
            tags=["text-generation", "license:other", 'a "quoted" tag', "back\\slash", "中文"],
            card_data={"license": "other", "license_name": 'Ünïcode "licence" \\ v2', "language": ["zh"]},
            config_file={"architectures": ["LlamaForCausalLM"], "model_type": "llama", "max_position_embeddings": 4096},
            created_at="2024-02-29T23:59:58.123Z",
        )
    )

    run = sync_hub(authors=["ladder-fixtures"])

    model = _model(repo_id)
    assert run.failed == 0 and model.name == 'Quote-"and\\back-模型🚀' and model.on_hub
    assert model.tags[2:] == ['a "quoted" tag', "back\\slash", "中文"]
    assert model.license_name == 'Ünïcode "licence" \\ v2' and _languages(model) == {"zh"}
    assert model.hub_created_at.isoformat() == "2024-02-29T23:59:58.123000+00:00"
    assert model.release_date == date(2024, 2, 29) and model.sources == {"release_date": "hub:createdAt"}
    assert model.context_length == 4096 and model.created_at and model.updated_at and model.description == ""


def test_unknown_licenses_are_created_with_commercial_use_unknown(fake_hub):
    sync_hub(limit=100)
    assert License.objects.get(key="llama2").commercial_use == License.Commercial.UNKNOWN
    assert Language.objects.filter(code="zh").exists()


def test_sync_follows_pagination_and_lists_with_expand_so_no_model_needs_model_info(fake_hub):
    fake_hub.page_size = 2
    run = sync_hub(authors=["HuggingFaceTB", "ladder-fixtures"])

    assert run.created == 6
    assert len(fake_hub.requests_to("/api/models")) >= 4  # several pages per author
    assert fake_hub.requests_to("/api/models/") == []  # everything came with the listing


def test_sync_asks_model_info_only_for_a_list_item_missing_fields(fake_hub):
    fake_hub.add_fault("missing_fields", model="Qwen/Qwen-7B", fields=("sha", "safetensors"), where="list")

    run = sync_hub(authors=["Qwen", "THUDM"])

    assert run.created == 2 and run.failed == 0
    assert _model("Qwen/Qwen-7B").parameters == 7_721_324_544  # from model_info
    assert [r.path for r in fake_hub.requests_to("/api/models/")] == ["/api/models/Qwen/Qwen-7B"]


def test_a_model_the_hub_describes_without_its_id_is_recorded_and_the_rest_still_syncs(fake_hub):
    fake_hub.add_fault("missing_fields", model="HuggingFaceTB/SmolLM2-135M", fields=("id",))

    run = sync_hub(authors=["HuggingFaceTB"])

    assert run.status == SyncRun.Status.PARTIAL and run.created == 1
    assert run.errors and run.errors[0]["kind"] == "malformed"
    assert _model("HuggingFaceTB/SmolLM2-135M-Instruct").on_hub


def test_sync_skips_models_whose_sha_is_unchanged(fake_hub):
    sync_hub(authors=["HuggingFaceTB", "Qwen"])
    before = dict(LanguageModel.objects.values_list("repo_id", "updated_at"))
    fake_hub.requests.clear()

    with CaptureQueriesContext(connection) as queries:
        run = sync_hub(authors=["HuggingFaceTB", "Qwen"])

    assert (run.unchanged, run.created, run.updated) == (3, 0, 0) and run.status == "succeeded"
    writes = [q["sql"] for q in queries if "registry_languagemodel" in q["sql"] and not q["sql"].startswith("SELECT")]
    assert [w for w in writes if w.startswith(("INSERT", "DELETE"))] == []
    assert all("on_hub" in w or "base_model_id" in w for w in writes)  # only the bounded set-based checks
    assert dict(LanguageModel.objects.values_list("repo_id", "updated_at")) == before
    assert fake_hub.requests_to("/api/models/") == [] and fake_hub.requests_to("/Qwen/") == []  # no config.json


def test_sync_updates_a_model_whose_sha_changed(fake_hub):
    sync_hub(authors=["Qwen"])
    new_sha = fake_hub.push_commit(
        "Qwen/Qwen-7B", downloads=99, safetensors={"parameters": {"BF16": 7_000_000_000}, "total": 7_000_000_000}
    )

    run = sync_hub(authors=["Qwen"])

    qwen = _model("Qwen/Qwen-7B")
    assert run.updated == 1 and run.unchanged == 0
    assert qwen.hub_sha == new_sha and qwen.downloads == 99 and qwen.parameters == 7_000_000_000


def test_model_gone_from_the_hub_is_marked_not_deleted_and_only_within_the_synced_authors(fake_hub):
    sync_hub(authors=["HuggingFaceTB", "Qwen"])
    fake_hub.remove_model("HuggingFaceTB/SmolLM2-135M")
    fake_hub.remove_model("Qwen/Qwen-7B")

    run = sync_hub(authors=["HuggingFaceTB"])

    gone = _model("HuggingFaceTB/SmolLM2-135M")
    assert run.missing == 1 and not gone.on_hub and gone.hub_missing_since is not None
    assert _model("Qwen/Qwen-7B").on_hub  # Qwen was not in this sync's scope
    assert _model("HuggingFaceTB/SmolLM2-135M-Instruct").base_model == gone  # lineage survives


def test_a_limited_listing_never_marks_models_as_gone(fake_hub):
    sync_hub(authors=["HuggingFaceTB"])
    run = sync_hub(authors=["HuggingFaceTB"], limit=1)
    assert run.missing == 0 and LanguageModel.objects.filter(on_hub=False).count() == 0


def test_a_model_that_comes_back_is_on_the_hub_again(fake_hub):
    sync_hub(authors=["Qwen"])
    record = fake_hub.model("Qwen/Qwen-7B")
    fake_hub.remove_model("Qwen/Qwen-7B")
    sync_hub(authors=["Qwen"])
    fake_hub.add_model(record)

    run = sync_hub(authors=["Qwen"])

    qwen = _model("Qwen/Qwen-7B")
    assert run.updated == 1 and qwen.on_hub and qwen.hub_missing_since is None


def test_temporary_errors_are_retried_and_permanent_ones_recorded_per_model(fake_hub):
    fake_hub.add_fault("rate_limit", model="Qwen/Qwen-7B", times=2)  # on its config.json download
    fake_hub.add_fault("server_error", model="Qwen/Qwen-7B", times=1, status=500)
    fake_hub.add_fault("missing_fields", model="THUDM/chatglm-6b", fields=("sha",), where="list")
    fake_hub.add_fault("not_found", model="THUDM/chatglm-6b")  # then model_info says 404

    run = sync_hub(authors=["Qwen", "THUDM"], models=["nobody/nothing"])

    assert _model("Qwen/Qwen-7B").hub_sha
    assert not LanguageModel.objects.filter(repo_id="THUDM/chatglm-6b").exists()
    assert run.status == SyncRun.Status.PARTIAL and run.created == 1 and run.failed == 2
    kinds = {(e["repo_id"], e["kind"]) for e in run.errors}
    assert kinds == {("THUDM/chatglm-6b", "not_found"), ("nobody/nothing", "not_found")}


def test_one_model_failing_for_good_does_not_abort_the_rest(fake_hub, settings):
    settings.HUB_MAX_RETRIES = 1
    fake_hub.add_fault("server_error", model="HuggingFaceTB/SmolLM2-135M", status=503)  # every try

    run = sync_hub(authors=["HuggingFaceTB", "Qwen"])

    assert run.status == SyncRun.Status.PARTIAL and run.failed == 1 and run.created == 2
    assert run.errors == [
        {"repo_id": "HuggingFaceTB/SmolLM2-135M", "kind": "server_error", "message": run.errors[0]["message"]}
    ]
    assert not LanguageModel.objects.filter(repo_id="HuggingFaceTB/SmolLM2-135M").exists()


def test_a_model_that_fails_halfway_through_its_write_is_left_as_it_was(fake_hub, monkeypatch):
    sync_hub(authors=["Qwen"])
    old = _model("Qwen/Qwen-7B")
    fake_hub.push_commit("Qwen/Qwen-7B", downloads=1, cardData={"license": "mit", "language": ["fr"]})

    def explode(codes):
        raise RuntimeError("disk full")

    monkeypatch.setattr(hub_sync, "_languages", explode)  # after the row itself was saved
    run = sync_hub(authors=["Qwen"])

    qwen = _model("Qwen/Qwen-7B")
    assert run.failed == 1 and run.errors[0]["message"] == "disk full"
    assert (qwen.hub_sha, qwen.downloads, qwen.license_id) == (old.hub_sha, old.downloads, old.license_id)
    assert _languages(qwen) == {"zh", "en"}


def test_a_hub_outage_leaves_the_last_good_data_and_a_failed_run(fake_hub, settings):
    settings.HUB_MAX_RETRIES = 2
    sync_hub(authors=["HuggingFaceTB"])
    before = list(LanguageModel.objects.order_by("repo_id").values_list("repo_id", "hub_sha", "on_hub", "updated_at"))
    fake_hub.add_fault("server_error", path="/api/models", status=503)

    run = sync_hub(authors=["HuggingFaceTB"])

    assert run.status == SyncRun.Status.FAILED and run.finished_at is not None
    assert run.errors[0]["repo_id"] is None and run.errors[0]["kind"] == "server_error"
    after = list(LanguageModel.objects.order_by("repo_id").values_list("repo_id", "hub_sha", "on_hub", "updated_at"))
    assert after == before


def test_a_hub_sync_refines_catalog_facts_and_never_wipes_them(fake_hub):
    thudm = Organization.objects.create(slug="THUDM", name="Tsinghua KEG / Zhipu AI (THUDM)")
    glm_license = License.objects.create(key="LicenseRef-chatglm-6b-model-license", name="ChatGLM-6B Model License")
    Language.objects.bulk_create([Language(code="zh"), Language(code="en")])
    glm = LanguageModel.objects.create(
        repo_id="THUDM/chatglm-6b",
        name="ChatGLM-6B",
        organization=thudm,
        parameters=6_173_286_400,
        parameters_source="catalog",
        context_length=2048,
        license=glm_license,
        release_date=date(2023, 3, 14),
        release_date_precision="day",
        in_catalog=True,
        sources={"parameters": "https://github.com/MrYxJ/calculate-flops.pytorch", "release_date": "https://x"},
    )
    glm.languages.set(["zh", "en"])
    qwen_org = Organization.objects.create(slug="Qwen", name="Alibaba Cloud (Qwen team)")
    LanguageModel.objects.create(
        repo_id="Qwen/Qwen-7B",
        name="Qwen-7B 通义千问-7B",
        organization=qwen_org,
        parameters=7_000_000_000,
        parameters_source="catalog",
        in_catalog=True,
        sources={"parameters": "nominal"},
    )

    run = sync_hub(authors=["THUDM", "Qwen"])

    glm.refresh_from_db()
    assert run.updated == 2 and glm.hub_sha and glm.on_hub
    assert glm.name == "ChatGLM-6B" and glm.organization == thudm
    assert glm.license == glm_license  # the Hub card has no license: the catalog's stays
    assert glm.release_date == date(2023, 3, 14) and glm.sources["release_date"] == "https://x"
    assert (glm.parameters, glm.parameters_source) == (6_173_286_400, "catalog")  # beats config arithmetic
    assert glm.sources["parameters"].startswith("https://github.com/MrYxJ")
    assert _languages(glm) == {"zh", "en"} and glm.context_length == 2048
    qwen = _model("Qwen/Qwen-7B")
    assert qwen.name == "Qwen-7B 通义千问-7B"
    assert (qwen.parameters, qwen.parameters_source) == (7_721_324_544, "safetensors")  # exact beats nominal
    assert "parameters" not in qwen.sources


def test_a_base_model_synced_later_is_linked_to_its_derivatives(fake_hub):
    model, outcome = hub_model_sync(repo_id="ladder-fixtures/smol-chat-lora")
    assert outcome == "created" and model.base_model is None
    assert model.base_model_ref == "HuggingFaceTB/SmolLM2-135M-Instruct"

    base, _ = hub_model_sync(repo_id="HuggingFaceTB/SmolLM2-135M-Instruct")

    assert _model("ladder-fixtures/smol-chat-lora").base_model == base


def test_hub_model_sync_reports_unchanged_and_raises_permanent_errors(fake_hub):
    _, first = hub_model_sync(repo_id="Qwen/Qwen-7B")
    _, second = hub_model_sync(repo_id="Qwen/Qwen-7B")
    assert (first, second) == ("created", "unchanged")
    fake_hub.remove_model("Qwen/Qwen-7B")
    with pytest.raises(HubPermanentError) as caught:
        hub_model_sync(repo_id="Qwen/Qwen-7B")
    assert caught.value.kind == "not_found" and not _model("Qwen/Qwen-7B").on_hub


def test_every_sync_is_recorded_with_trigger_scope_counts_and_end(fake_hub, sam_staff):
    run = sync_hub(authors=["Qwen"], search="7B", limit=5, trigger="admin", user=sam_staff)
    run.refresh_from_db()
    assert run.trigger == "admin" and run.requested_by == sam_staff
    assert run.scope == {"authors": ["Qwen"], "search": "7B", "models": [], "limit": 5}
    assert (run.seen, run.created, run.status) == (1, 1, "succeeded") and run.finished_at >= run.started_at


@pytest.mark.django_db(transaction=True)
def test_two_syncs_at_once_do_not_corrupt_anything(fake_hub):
    results: list[SyncRun] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run(trigger: str) -> None:
        try:
            barrier.wait(timeout=10)
            results.append(sync_hub(limit=100, trigger=trigger))
        except BaseException as exc:  # surfaced by the assertions below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(t,)) for t in ("beat", "command")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert errors == [] and len(results) == 2
    assert all(r.status == SyncRun.Status.SUCCEEDED and r.failed == 0 for r in results)
    assert LanguageModel.objects.count() == 10
    through = LanguageModel.languages.through.objects
    assert through.filter(languagemodel__repo_id="mistralai/Mixtral-8x7B-v0.1").count() == 5
    assert Organization.objects.filter(slug="HuggingFaceTB").count() == 1
    assert _model("HuggingFaceTB/SmolLM2-135M-Instruct").base_model.repo_id == "HuggingFaceTB/SmolLM2-135M"


@pytest.mark.django_db(transaction=True)
def test_a_sync_never_marks_as_gone_a_model_another_sync_wrote_after_it_began(fake_hub, monkeypatch):
    sync_hub(authors=["HuggingFaceTB"])
    late = fake_hub.model("HuggingFaceTB/SmolLM2-135M")
    fake_hub.remove_model(late["id"])  # this sync's listings will not see it
    real_listing = hub_sync.hub_list_pages

    def another_sync_writes_it() -> None:  # a sync of its own, on its own connection
        try:
            fake_hub.add_model(late)
            fake_hub.push_commit(late["id"], downloads=1)
            hub_model_sync(repo_id=late["id"])
        finally:
            connection.close()

    def listing_after_which_another_sync_writes_it(**scope) -> HubListing:
        listing = real_listing(**scope)

        def pages():
            yield from listing.pages
            if scope["pipeline_tag"] == LLM_PIPELINES[-1]:  # this sync's last listing is read
                other = threading.Thread(target=another_sync_writes_it)
                other.start()
                other.join(timeout=60)

        return HubListing(pages(), listing.state)

    monkeypatch.setattr(hub_sync, "hub_list_pages", listing_after_which_another_sync_writes_it)
    run = sync_hub(authors=["HuggingFaceTB"])

    written_later = _model(late["id"])
    assert written_later.synced_at > run.started_at and written_later.downloads == 1  # the other sync's write
    assert run.missing == 0 and written_later.on_hub and written_later.hub_missing_since is None


def test_a_run_left_running_by_a_lost_worker_is_closed_as_failed_by_the_next_sync(fake_hub):
    lost = SyncRun.objects.create(trigger="beat")
    SyncRun.objects.filter(pk=lost.pk).update(started_at=timezone.now() - timedelta(days=1))

    sync_hub(authors=["Qwen"])

    lost.refresh_from_db()
    assert lost.status == "failed" and lost.errors[0]["kind"] == "lost" and lost.finished_at


def test_changed_models_are_written_in_bulk_so_queries_do_not_grow_with_their_number(fake_hub):
    for record in synthetic_models(30, orgs=1):
        fake_hub.add_model(record)
    fake_hub.page_size = 100
    sync_hub(authors=["synth-org-000"])
    ids = sorted(m for m in fake_hub.model_ids() if m.startswith("synth-org-000/"))

    def resync_after_commits(repo_ids: list[str]) -> int:
        for repo_id in repo_ids:
            fake_hub.push_commit(repo_id, cardData={"license": "mit", "language": ["de", "fr"]})
        with CaptureQueriesContext(connection) as queries:
            run = sync_hub(authors=["synth-org-000"])
        assert run.updated == len(repo_ids) and run.unchanged == 30 - len(repo_ids) and run.failed == 0
        return len(queries)

    two = resync_after_commits(ids[:2])
    twenty = resync_after_commits(ids[5:25])

    assert twenty <= two + 2
    changed = _model(ids[10])
    assert changed.license.key == "mit" and _languages(changed) == {"de", "fr", "en"}  # card + tags
    assert changed.updated_at > changed.created_at


@pytest.mark.django_db(transaction=True)
def test_a_sync_survives_a_database_restart_and_still_finishes_its_run(fake_hub, monkeypatch):
    import psycopg

    real_upsert = hub_sync.hub_model_upsert
    calls = []

    def restart_database_after_the_first_model(info, **kwargs):
        result = real_upsert(info, **kwargs)
        if not calls:  # PostgreSQL drops our connection, as a restart would
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pid = cursor.fetchone()[0]
            params = connection.get_connection_params()
            with psycopg.connect(
                host=params.get("host"), port=params.get("port"), user=params.get("user"), dbname="postgres"
            ) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        calls.append(info.repo_id)
        return result

    monkeypatch.setattr(hub_sync, "hub_model_upsert", restart_database_after_the_first_model)
    ids = ["Qwen/Qwen-7B", "THUDM/chatglm-6b", "meta-llama/Llama-2-7b-hf"]

    run = sync_hub(models=ids)

    assert run.status in (SyncRun.Status.PARTIAL, SyncRun.Status.SUCCEEDED) and run.finished_at
    assert SyncRun.objects.get(pk=run.pk).status == run.status  # the run row itself was saved
    assert run.failed <= 1 and run.created >= 2  # at most the model that met the dead connection
    assert all(m.hub_sha for m in LanguageModel.objects.filter(repo_id__in=ids))


def test_a_bulk_resync_carries_the_new_metadata_onto_the_leaderboard_rows(fake_hub):
    from evals.models import BoardEntry
    from evals.selectors.leaderboard.maintain import board_rebuild
    from tests.evals.factories import complete_run

    for record in synthetic_models(3, orgs=1):
        fake_hub.add_model(record)
    sync_hub(authors=["synth-org-000"])
    repo_id = sorted(m for m in fake_hub.model_ids() if m.startswith("synth-org-000/"))[0]
    model = _model(repo_id)
    hub_license = model.license.key
    # Marked gone from the Hub with another license (a sync that missed it); the Hub still has its commit.
    LanguageModel.objects.filter(pk=model.pk).update(on_hub=False, license=License.objects.create(key="other"))
    complete_run(model, 0.6, revision_sha=model.hub_sha)
    board_rebuild()
    assert set(BoardEntry.objects.filter(model=model).values_list("on_hub", "license_key")) == {(False, "other")}

    sync_hub(authors=["synth-org-000"])  # same commit: the bulk path, which sends no post_save

    assert set(BoardEntry.objects.filter(model=model).values_list("on_hub", "license_key")) == {(True, hub_license)}
