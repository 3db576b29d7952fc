"""Parsing results files: every format we read, and every way a file can be refused."""

from __future__ import annotations

import json
import math

import pytest

from evals.exchange import formats
from evals.exchange.formats import FormatError
from tests.exchange.conftest import FIXTURES


def _oll() -> dict:
    return json.loads(next((FIXTURES / "open_llm_v1").glob("results_*.json")).read_bytes())


def test_open_llm_v1_file_gives_the_six_leaderboard_benchmarks_with_its_model_and_sha():
    data = _oll()
    run = formats.results_parse(json.dumps(data).encode(), name="oll.json")
    assert run.format == formats.OPEN_LLM_V1
    assert run.model_name == "HenryJJ/Instruct_Yi-6B_Dolly15K"
    assert run.model_sha == data["config_general"]["model_sha"]
    assert run.dtype == "float16"
    shots = {b.benchmark: b.n_shot for b in run.benchmarks}
    assert shots == {
        "arc_challenge": 25,
        "hellaswag": 10,
        "mmlu": 5,
        "truthfulqa_mc1": 0,
        "truthfulqa_mc2": 0,
        "winogrande": 5,
        "gsm8k": 5,
    }
    arc = run.benchmark("arc_challenge")
    assert arc.value == data["results"]["harness|arc:challenge|25"]["acc_norm"]
    assert arc.stderr == data["results"]["harness|arc:challenge|25"]["acc_norm_stderr"]
    assert run.benchmark("truthfulqa_mc2").value == data["results"]["harness|truthfulqa:mc|0"]["mc2"]
    assert run.benchmark("gsm8k").metrics == {"exact_match": data["results"]["harness|gsm8k|5"]["acc"]}


def test_open_llm_v1_mmlu_is_the_plain_mean_of_the_57_subjects():
    data = _oll()
    subjects = [v["acc"] for k, v in data["results"].items() if "hendrycksTest" in k]
    run = formats.results_parse(json.dumps(data).encode(), name="oll.json")
    assert len(subjects) == 57
    assert abs(run.benchmark("mmlu").value - sum(subjects) / 57) < 1e-12


def test_open_llm_v1_file_missing_an_mmlu_subject_keeps_the_rest_and_skips_mmlu_with_a_note():
    data = _oll()
    del data["results"]["harness|hendrycksTest-virology|5"]
    run = formats.results_parse(json.dumps(data).encode(), name="oll.json")
    assert run.benchmark("mmlu") is None
    assert run.benchmark("arc_challenge") is not None
    assert any("56 of 57" in note and "virology" in note for note in run.notes)


def test_unknown_tasks_are_skipped_with_a_note():
    data = _oll()
    data["results"]["harness|drop|3"] = {"em": 0.1, "f1": 0.2}
    run = formats.results_parse(json.dumps(data).encode(), name="oll.json")
    assert any("harness|drop|3" in note for note in run.notes)
    assert "harness|drop|3" in run.details["skipped"]


def test_a_file_with_none_of_our_tasks_is_refused_naming_the_file_and_field():
    data = {"results": {"lambada_openai": {"acc,none": 0.3, "alias": "lambada_openai"}}, "config": {}}
    with pytest.raises(FormatError) as error:
        formats.results_parse(json.dumps(data).encode(), name="results_x.json")
    assert error.value.file == "results_x.json"
    assert error.value.field == "results"
    assert "lambada_openai" in str(error.value)


def test_bad_json_is_refused_with_the_line_and_column():
    with pytest.raises(FormatError) as error:
        formats.results_parse(b'{"results": {"arc_easy": ', name="broken.json")
    assert error.value.file == "broken.json"
    assert "line 1" in error.value.field
    assert "not valid JSON" in error.value.message


def test_a_metric_that_is_not_a_number_is_refused_naming_its_field():
    data = {"results": {"arc_easy": {"acc,none": "high", "alias": "arc_easy"}}, "config": {}}
    with pytest.raises(FormatError) as error:
        formats.results_parse(json.dumps(data).encode(), name="r.json")
    assert error.value.field == "results.arc_easy.acc,none"


def test_open_llm_v1_file_naming_no_hub_model_is_refused():
    data = _oll()
    data["config_general"]["model_name"] = "/scratch/checkpoints/final"
    with pytest.raises(FormatError) as error:
        formats.results_parse(json.dumps(data).encode(), name="oll.json")
    assert error.value.field == "config_general.model_name"


def test_lm_eval_subject_benchmark_without_group_entry_is_the_size_weighted_mean_with_pooled_stderr():
    results = {
        "mmlu_anatomy": {"acc,none": 0.5, "acc_stderr,none": 0.1, "alias": " - anatomy"},
        "mmlu_virology": {"acc,none": 0.25, "acc_stderr,none": 0.05, "alias": " - virology"},
    }
    data = {
        "results": results,
        "n-samples": {
            "mmlu_anatomy": {"original": 135, "effective": 10},
            "mmlu_virology": {"original": 166, "effective": 30},
        },
        "n-shot": {"mmlu_anatomy": 0, "mmlu_virology": 0},
        "config": {"limit": 30},
    }
    run = formats.results_parse(json.dumps(data).encode(), name="r.json")
    mmlu = run.benchmark("mmlu")
    assert mmlu.n == 40
    assert abs(mmlu.value - (0.5 * 10 + 0.25 * 30) / 40) < 1e-12
    pooled = ((10 - 1) * 0.1**2 * 10 + (30 - 1) * 0.05**2 * 30) / (40 - 2)
    assert abs(mmlu.stderr - math.sqrt(pooled / 40)) < 1e-12
    assert not mmlu.complete_subjects
