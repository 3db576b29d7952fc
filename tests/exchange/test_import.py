"""Importing results files: runs, provenance, idempotence, failures, and what the board makes of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command

from evals.exchange import services
from evals.exchange.formats import FormatError
from evals.models import BenchmarkResult, EvalRun, ResultImport
from evals.selectors.leaderboard import leaderboard_cache_bump
from registry.models import LanguageModel

pytestmark = pytest.mark.django_db


def _import(path: Path, **kwargs):
    return services.result_import_file(content=path.read_bytes(), name=path.name, **kwargs)


def test_open_llm_v1_file_becomes_an_imported_run_with_the_files_numbers(oll_file):
    data = json.loads(oll_file.read_bytes())
    outcome = _import(oll_file)
    run = EvalRun.objects.get(pk=outcome.run_id)
    assert outcome.status == "created"
    assert run.provenance == "imported" and run.status == "succeeded"
    assert run.suite == "open-llm-v1" and not run.is_partial
    assert run.revision_sha == data["config_general"]["model_sha"]
    hellaswag = BenchmarkResult.objects.get(run=run, benchmark="hellaswag")
    assert abs(hellaswag.value - data["results"]["harness|hellaswag|10"]["acc_norm"]) < 1e-9
    assert hellaswag.n == 10042 and hellaswag.n_shot == 10
    record = ResultImport.objects.get(run=run)
    assert record.format == "open_llm_v1" and record.model_sha == data["config_general"]["model_sha"]
    assert record.harness_version.startswith("lighteval 494ee122")
    assert record.evaluated_at.isoformat().startswith("2024-01-06T09:45:44")


def test_model_unknown_to_the_registry_is_created_and_marked_as_not_synced(oll_file):
    outcome = _import(oll_file)
    model = LanguageModel.objects.get(repo_id="HenryJJ/Instruct_Yi-6B_Dolly15K")
    assert outcome.model_created
    assert model.synced_at is None and not model.on_hub
    assert "not yet synced" in model.sources["registry"]


def test_importing_the_same_file_twice_changes_nothing(oll_file):
    first = _import(oll_file)
    counts = (EvalRun.objects.count(), BenchmarkResult.objects.count(), ResultImport.objects.count())
    second = _import(oll_file)
    assert second.status == "unchanged" and second.run_id == first.run_id
    assert (EvalRun.objects.count(), BenchmarkResult.objects.count(), ResultImport.objects.count()) == counts


def test_a_file_over_the_size_limit_is_refused_and_nothing_is_written(oll_file, settings):
    settings.IMPORT_MAX_FILE_BYTES = 1000
    with pytest.raises(FormatError) as error:
        _import(oll_file)
    assert "LADDER_IMPORT_MAX_FILE_BYTES" in str(error.value)
    assert not EvalRun.objects.exists() and not LanguageModel.objects.exists()


def test_a_half_failed_batch_imports_the_good_files_and_lists_the_bad_ones(oll_file, tmp_path, capsys):
    good = tmp_path / oll_file.name
    good.write_bytes(oll_file.read_bytes())
    (tmp_path / "results_2024-02-01T00-00-00.000000.json").write_text('{"results": {"arc_easy": ')
    other = json.loads(oll_file.read_bytes())
    other["results"]["harness|winogrande|5"]["acc"] = "n/a"  # fails after the model lookup: must roll back
    other["config_general"]["model_name"] = "someone/else-7b"
    (tmp_path / "results_2024-03-01T00-00-00.000000.json").write_text(json.dumps(other))

    with pytest.raises(SystemExit) as exit_code:
        call_command("import_results", str(tmp_path))

    assert exit_code.value.code == 1
    out, err = capsys.readouterr()
    assert "1 imported, 0 unchanged, 2 failed" in out
    assert "not valid JSON" in err and "results.harness|winogrande|5.acc" in err
    assert EvalRun.objects.count() == 1
    assert not LanguageModel.objects.filter(repo_id="someone/else-7b").exists()


def test_an_imported_run_with_the_suites_settings_ranks_on_the_leaderboard(oll_file, api_client):
    _import(oll_file)
    leaderboard_cache_bump()
    body = api_client.get("/api/v1/leaderboard/?suite=open-llm-v1").json()
    assert [row["model"]["id"] for row in body["results"]] == ["HenryJJ/Instruct_Yi-6B_Dolly15K"]
    assert body["results"][0]["rank"] == 1


def test_an_imported_run_with_other_settings_is_stored_and_shown_but_not_ranked(oll_file, api_client):
    data = json.loads(oll_file.read_bytes())
    data["results"]["harness|arc:challenge|0"] = data["results"].pop("harness|arc:challenge|25")
    outcome = services.result_import_file(content=json.dumps(data).encode(), name="zero-shot-arc.json")
    leaderboard_cache_bump()
    body = api_client.get("/api/v1/leaderboard/?suite=open-llm-v1").json()
    assert body["results"] == []
    assert [row["model"]["id"] for row in body["not_ranked"]] == ["HenryJJ/Instruct_Yi-6B_Dolly15K"]
    assert EvalRun.objects.get(pk=outcome.run_id).is_partial
    assert any("0-shot" in note for note in outcome.notes)
