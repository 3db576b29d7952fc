"""Benchmark data loading: the offline layout, and clear errors naming the file for missing or broken data."""

from __future__ import annotations

import json

import pytest

from evals.benchmarks import BENCHMARKS
from evals.data import DataError, clear_cache, load_split
from evals.engine import run_plan


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


def _write(tmp_path, directory, split, lines):
    folder = tmp_path / directory
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{split}.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


ARC_LINE = json.dumps(
    {
        "id": "q1",
        "question": "Which is a planet?",
        "choices": {"text": ["Mars", "Moon"], "label": ["A", "B"]},
        "answerKey": "A",
    }
)


def test_staged_data_loads_with_the_documented_item_counts():
    counts = {
        "arc_easy": 2376,
        "arc_challenge": 1172,
        "hellaswag": 10042,
        "mmlu": 14042,
        "truthfulqa_mc1": 817,
        "truthfulqa_mc2": 817,
        "winogrande": 1267,
        "gsm8k": 1319,
        "ceval": 1346,
        "cmmlu": 11582,
    }
    for key, n in counts.items():
        spec = BENCHMARKS[key]
        assert len(load_split(spec, spec.eval_split)) == n, key


def test_missing_evaluation_file_is_a_data_error_naming_the_file(tmp_path):
    with pytest.raises(DataError, match=r"arc_easy/test\.jsonl does not exist"):
        run_plan(suite="quick", benchmarks=["arc_easy"], data_dir=str(tmp_path))


def test_line_that_is_not_json_is_reported_with_file_and_line(tmp_path):
    path = _write(tmp_path, "arc_easy", "test", [ARC_LINE, '{"id": "q2", "question": '])
    with pytest.raises(DataError, match=rf"{path}:2: not valid JSON"):
        load_split(BENCHMARKS["arc_easy"], "test", data_dir=str(tmp_path))


def test_record_missing_a_field_the_prompt_needs_is_reported_with_its_line(tmp_path):
    broken = json.dumps({"id": "q2", "question": "No choices here", "answerKey": "A"})
    path = _write(tmp_path, "arc_easy", "test", [ARC_LINE, "", broken])
    with pytest.raises(DataError, match=rf"{path}:3: malformed ARC-Easy item \(missing field 'choices'\)"):
        load_split(BENCHMARKS["arc_easy"], "test", data_dir=str(tmp_path))


def test_answer_outside_the_choices_is_reported(tmp_path):
    bad = json.dumps({"id": "m", "subject": "anatomy", "question": "q", "choices": ["a", "b", "c", "d"], "answer": 7})
    path = _write(tmp_path, "mmlu", "test", [bad])
    with pytest.raises(DataError, match=rf"{path}:1: malformed MMLU item \(answer index 7 out of range"):
        load_split(BENCHMARKS["mmlu"], "test", data_dir=str(tmp_path))


def test_unknown_subject_is_reported(tmp_path):
    bad = json.dumps({"id": "m", "subject": "astrology", "question": "q", "choices": ["a", "b", "c", "d"], "answer": 0})
    _write(tmp_path, "mmlu", "test", [bad])
    with pytest.raises(DataError, match="unknown subject 'astrology'"):
        load_split(BENCHMARKS["mmlu"], "test", data_dir=str(tmp_path))


def test_a_json_value_that_is_not_an_object_is_reported(tmp_path):
    path = _write(tmp_path, "gsm8k", "test", ['["a list"]'])
    with pytest.raises(DataError, match=rf"{path}:1: expected a JSON object, got list"):
        load_split(BENCHMARKS["gsm8k"], "test", data_dir=str(tmp_path))


def test_empty_file_is_reported(tmp_path):
    path = _write(tmp_path, "gsm8k", "test", [])
    with pytest.raises(DataError, match=rf"{path}: the file holds no items"):
        load_split(BENCHMARKS["gsm8k"], "test", data_dir=str(tmp_path))


def test_both_truthfulqa_tasks_read_the_truthfulqa_mc_directory_and_hellaswag_its_derived_file(tmp_path):
    from evals.data import split_file

    assert (
        split_file(BENCHMARKS["truthfulqa_mc1"], "validation", "/d").as_posix() == "/d/truthfulqa_mc/validation.jsonl"
    )
    assert (
        split_file(BENCHMARKS["truthfulqa_mc2"], "validation", "/d").as_posix() == "/d/truthfulqa_mc/validation.jsonl"
    )
    assert (
        split_file(BENCHMARKS["hellaswag"], "validation", "/d").as_posix()
        == "/d/hellaswag/validation_derived_llamacpp.jsonl"
    )
    assert split_file(BENCHMARKS["hellaswag"], "train", "/d").as_posix() == "/d/hellaswag/train.jsonl"


def test_a_fixed_file_is_read_again_after_it_changes(tmp_path):
    path = _write(tmp_path, "arc_easy", "test", [ARC_LINE])
    assert len(load_split(BENCHMARKS["arc_easy"], "test", data_dir=str(tmp_path))) == 1
    import os
    import time

    path.write_text(ARC_LINE + "\n" + ARC_LINE.replace('"q1"', '"q2"') + "\n", encoding="utf-8")
    os.utime(path, (time.time() + 5, time.time() + 5))
    assert len(load_split(BENCHMARKS["arc_easy"], "test", data_dir=str(tmp_path))) == 2


def test_without_a_data_dir_the_split_comes_from_the_pinned_hub_files(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    import registry.hub

    rows = [
        {"id": 0, "question": "1+1=____", "A": "1", "B": "2", "C": "3", "D": "4", "answer": "B", "explanation": ""},
        {"id": 1, "question": "2+2=____", "A": "4", "B": "5", "C": "6", "D": "7", "answer": "A", "explanation": ""},
    ]
    path = tmp_path / "val.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    asked = []

    def fake_download(repo_id, filename, revision):
        asked.append((repo_id, filename, revision))
        return str(path) if filename.startswith(("accountant/", "law/")) else _missing(filename)

    def _missing(filename):
        raise registry.hub.HubPermanentError(f"{filename} not found", kind="not_found", status=404)

    monkeypatch.delenv("LADDER_DATA_DIR", raising=False)
    monkeypatch.setattr(registry.hub, "hub_dataset_file", fake_download)
    spec = BENCHMARKS["ceval"]
    with pytest.raises(DataError, match=r"ceval/ceval-exam@main:advanced_mathematics/val-00000-of-00001\.parquet"):
        load_split(spec, "val")
    assert asked[0] == ("ceval/ceval-exam", "accountant/val-00000-of-00001.parquet", "main")


def test_hub_parquet_rows_get_subjects_and_stable_ids(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    import registry.hub

    rows = [
        {"question": "Q1", "subject": "anatomy", "choices": ["a", "b", "c", "d"], "answer": 0},
        {"question": "Q2", "subject": "anatomy", "choices": ["a", "b", "c", "d"], "answer": 3},
        {"question": "Q3", "subject": "virology", "choices": ["a", "b", "c", "d"], "answer": 2},
    ]
    path = tmp_path / "test.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    monkeypatch.delenv("LADDER_DATA_DIR", raising=False)
    monkeypatch.setattr(registry.hub, "hub_dataset_file", lambda repo_id, filename, revision: str(path))
    records = load_split(BENCHMARKS["mmlu"], "test")
    assert [r["id"] for r in records] == ["anatomy/test/0", "anatomy/test/1", "virology/test/0"]
    assert BENCHMARKS["mmlu"].doc_to_target(records[1]) == 3
