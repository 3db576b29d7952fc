"""Exporting runs as lm-eval 0.4 files, and reading them back: the round trip gives the same scores."""

from __future__ import annotations

import json

import pytest

from evals import engine
from evals.exchange import services
from evals.models import BenchmarkResult, EvalRun, ItemResult
from tests.evals.factories import EvalRunFactory, model

pytestmark = pytest.mark.django_db


def _measured_run() -> EvalRun:
    """A measured partial run with items: ARC-Easy, two MMLU subjects, Winogrande, GSM8K."""
    run = EvalRunFactory(
        model=model("HuggingFaceTB/SmolLM2-135M-Instruct"),
        suite="quick",
        benchmarks=["arc_easy", "mmlu", "winogrande", "gsm8k"],
        is_partial=True,
        limit=3,
        dtype="float32",
    )
    rows = []
    for pos, (acc, acc_norm) in enumerate([(1, 0), (0, 0), (1, 1)]):
        rows.append(
            ItemResult(
                run=run,
                benchmark="arc_easy",
                item_id=f"Mercury_{pos}",
                position=pos,
                prompt="Question: q\nAnswer:",
                choices=["a", "bb", "c"],
                loglikelihoods=[-1.25, -2.5, -3.0 - pos],
                target=0,
                prediction=0,
                metrics={"acc": float(acc), "acc_norm": float(acc_norm)},
                correct=bool(acc),
            )
        )
    for pos, (subject, acc) in enumerate([("anatomy", 1), ("anatomy", 0), ("virology", 1), ("virology", 1)]):
        rows.append(
            ItemResult(
                run=run,
                benchmark="mmlu",
                item_id=f"{subject}/test/{pos}",
                position=pos,
                subject=subject,
                prompt="The following ...\nAnswer:",
                choices=["A", "B", "C", "D"],
                loglikelihoods=[-0.5, -1.5, -2.5, -3.5],
                target=0,
                prediction=0,
                metrics={"acc": float(acc)},
                correct=bool(acc),
            )
        )
    for pos, acc in enumerate([0, 1]):
        rows.append(
            ItemResult(
                run=run,
                benchmark="winogrande",
                item_id=f"wg-{pos}",
                position=pos,
                prompt=" went home.",
                choices=["Sarah", "Maria"],
                loglikelihoods=[-4.0, -3.0],
                target=1,
                prediction=1,
                metrics={"acc": float(acc)},
                correct=bool(acc),
            )
        )
    for pos, (strict, flexible) in enumerate([(0, 1), (1, 1)]):
        rows.append(
            ItemResult(
                run=run,
                benchmark="gsm8k",
                item_id=f"test/{pos}",
                position=pos,
                prompt="Question: x\nAnswer:",
                generated=" 3 + 4 = 7\n#### 7",
                target="#### 7",
                prediction="7",
                metrics={"exact_match": float(strict), "exact_match_flexible": float(flexible)},
                correct=bool(strict),
            )
        )
    ItemResult.objects.bulk_create(rows)
    for bench in run.benchmarks:
        metrics = list(
            ItemResult.objects.filter(run=run, benchmark=bench).order_by("position").values_list("metrics", flat=True)
        )
        method = "generative" if bench == "gsm8k" else "loglikelihood"
        score = engine.aggregate(benchmark=bench, item_metrics=metrics, n_shot=0, method=method)
        BenchmarkResult.objects.create(
            run=run,
            benchmark=bench,
            metrics=score.metrics,
            primary_metric=score.primary_metric,
            value=score.value,
            stderr=score.stderr,
            n=score.n,
            method=method,
            n_shot=0,
        )
    return run


def _export(run: EvalRun) -> tuple[bytes, dict[str, bytes]]:
    results = json.dumps(services.eval_run_export_results(run)).encode()
    samples = {
        task: "".join(services.eval_run_export_samples(run, task)).encode()
        for task in services.eval_run_export_tasks(run)
    }
    return results, samples


def test_exported_run_is_lm_eval_shaped():
    run = _measured_run()
    data = services.eval_run_export_results(run)
    assert data["results"]["arc_easy"]["acc,none"] == pytest.approx(2 / 3)
    assert data["results"]["gsm8k"]["exact_match,strict-match"] == pytest.approx(0.5)
    assert data["results"]["gsm8k"]["exact_match,flexible-extract"] == pytest.approx(1.0)
    assert data["results"]["mmlu_virology"]["acc,none"] == pytest.approx(1.0)
    assert data["group_subtasks"]["mmlu"] == ["mmlu_anatomy", "mmlu_virology"]
    assert data["n-samples"]["mmlu_anatomy"] == {"original": 2, "effective": 2}
    assert data["model_name"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert data["config"]["limit"] == 3


def test_export_then_import_gives_the_same_scores_and_items():
    run = _measured_run()
    results, samples = _export(run)
    outcome = services.result_import_file(content=results, name="results_run.json", samples=samples)
    imported = EvalRun.objects.get(pk=outcome.run_id)
    assert imported.provenance == "imported" and imported.is_partial
    original = {r.benchmark: r for r in run.results.all()}
    for result in imported.results.all():
        source = original[result.benchmark]
        assert result.value == pytest.approx(source.value, abs=1e-12)
        assert result.stderr == pytest.approx(source.stderr, abs=1e-12)
        assert (result.n, result.n_shot, result.primary_metric) == (source.n, source.n_shot, source.primary_metric)
        assert result.metrics == pytest.approx(source.metrics)
    assert set(original) == {r.benchmark for r in imported.results.all()}
    ids = lambda r: sorted(ItemResult.objects.filter(run=r).values_list("benchmark", "item_id"))  # noqa: E731
    assert ids(imported) == ids(run)
    arc = ItemResult.objects.get(run=imported, benchmark="arc_easy", item_id="Mercury_2")
    assert arc.loglikelihoods == [-1.25, -2.5, -5.0] and arc.choices == ["a", "bb", "c"]


def test_export_api_round_trips_through_the_import_api(api_client, sam_staff):
    run = _measured_run()
    exported = api_client.get(f"/api/v1/evaluations/{run.pk}/export/")
    assert exported.status_code == 200
    tasks = api_client.get(f"/api/v1/evaluations/{run.pk}/export/samples/").json()["tasks"]
    samples = {}
    for task in tasks:
        response = api_client.get(f"/api/v1/evaluations/{run.pk}/export/samples/?task={task}")
        assert response.status_code == 200 and response["Content-Type"] == "application/jsonl"
        samples[task] = b"".join(response.streaming_content).decode()
    api_client.force_authenticate(sam_staff)
    created = api_client.post("/api/v1/imports/", {"results": exported.json(), "samples": samples}, format="json")
    assert created.status_code == 201, created.json()
    again = api_client.post("/api/v1/imports/", {"results": exported.json(), "samples": samples}, format="json")
    assert again.status_code == 200 and again.json()["status"] == "unchanged"
    imported = EvalRun.objects.get(pk=created.json()["run"])
    assert {r.benchmark: r.value for r in imported.results.all()} == pytest.approx(
        {r.benchmark: r.value for r in run.results.all()}
    )


def test_export_of_an_unknown_run_answers_404_with_the_shared_error_body(api_client):
    response = api_client.get("/api/v1/evaluations/999999/export/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
