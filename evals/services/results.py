"""A run's results from its stored items: one BenchmarkResult per benchmark, and the run-level verdict
(method, degenerate flag, token totals) written when the run finishes."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from evals.models import BenchmarkResult, EvalRun, ItemResult


def _stored_method(run: EvalRun, benchmark: str) -> str:
    method = (run.settings or {}).get("methods", {}).get(benchmark)
    if method:
        return str(method)
    has_ll = ItemResult.objects.filter(run=run, benchmark=benchmark).exclude(loglikelihoods=[]).exists()
    return "loglikelihood" if has_ll else "generative"


def _stored_variant(run: EvalRun, benchmark: str, method: str | None = None) -> dict[str, str]:
    """The variant the benchmark was asked in (evals/generative.py), as recorded when it was scored; for
    results stored before variants were recorded, deduced from the result's method (`method`, if known)."""
    from evals import generative
    from evals.benchmarks import BENCHMARKS

    known = (run.settings or {}).get("variants", {}).get(benchmark)
    if known:
        return dict(known)
    spec = BENCHMARKS[benchmark]
    multiple_choice = spec.output_type != "generate_until"
    if multiple_choice and (method or _stored_method(run, benchmark)) == generative.GENERATIVE:
        return generative.chat_variant(benchmark).as_dict()
    return generative.default_variant(benchmark).as_dict()


def _answer_counts(run: EvalRun, benchmark: str) -> tuple[int, dict[str, int]]:
    """(unparsed, answer distribution) of a benchmark's stored items (evals.generative.answer_stats).

    GSM8K's answer is the last number of the reply (lm-eval's flexible extract): a reply without any
    number is unparsed, whatever its variant's strict format.
    """
    from evals import generative
    from evals.benchmarks.gsm8k import INVALID, extract_flexible, normalize_answer

    items = ItemResult.objects.filter(run=run, benchmark=benchmark).order_by()
    if benchmark == "gsm8k":
        predictions: list[Any] = []
        for text in items.values_list("generated", flat=True):
            found = extract_flexible(text or "")
            predictions.append(found if found == INVALID else normalize_answer(found))
    else:
        predictions = list(items.values_list("prediction", flat=True))
    return generative.answer_stats(predictions)


def benchmark_result_store(run: EvalRun, plan: Any, *, final: bool = False) -> bool:
    """Aggregate one benchmark from its stored items and upsert its BenchmarkResult; False (nothing written)
    while some of its items are not stored yet, unless `final` (the run's end writes what it has, as before).

    Called as soon as a benchmark's last item is stored (so pages and the API show its score while the
    run goes on) and again for every benchmark when the run finishes: the score depends only on the
    stored items, so both writes are equal and a resumed attempt rewrites the same numbers. Besides the
    metrics it stores the variant asked, the unparsed count, the answer distribution and the tokens.
    """
    from django.db.models import Count, Sum

    from evals import engine

    metrics = list(
        ItemResult.objects.filter(run=run, benchmark=plan.benchmark)
        .order_by("position")
        .values_list("metrics", flat=True)
    )
    if not final and len(metrics) < len(plan.docs):
        return False
    score = engine.aggregate(
        benchmark=plan.benchmark, item_metrics=metrics, n_shot=plan.n_shot, method=_stored_method(run, plan.benchmark)
    )
    unparsed, stats = _answer_counts(run, plan.benchmark)
    tokens = ItemResult.objects.filter(run=run, benchmark=plan.benchmark).aggregate(
        prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens"), reported=Count("prompt_tokens")
    )
    BenchmarkResult.objects.update_or_create(
        run=run,
        benchmark=score.benchmark,
        defaults={
            "metrics": score.metrics,
            "primary_metric": score.primary_metric,
            "value": score.value,
            "stderr": score.stderr,
            "n": score.n,
            "method": score.method,
            "variant": _stored_variant(run, plan.benchmark, score.method)["name"][:60],
            "n_shot": score.n_shot,
            "unparsed": unparsed,
            "answer_stats": stats,
            "prompt_tokens": tokens["prompt"] if tokens["reported"] else None,
            "completion_tokens": tokens["completion"],
        },
    )
    return True


def eval_run_verdict(run: EvalRun) -> dict[str, Any]:
    """The run-level facts its benchmark results decide: method, degenerate flag and token totals.

    Returns the EvalRun fields to write (the services write them when the run finishes): `method` is the
    variants' shared method or "mixed" (evals.generative.run_method); `flagged`/`flag_reasons` apply
    evals.generative.degenerate_reasons with the EVAL_* thresholds; tokens are the results' sums.
    """
    from evals import generative

    rows = list(
        BenchmarkResult.objects.filter(run=run).values(
            "benchmark", "method", "n", "unparsed", "answer_stats", "prompt_tokens", "completion_tokens"
        )
    )
    variants = [_stored_variant(run, r["benchmark"], r["method"]).get("method", generative.LOGLIKELIHOOD) for r in rows]
    # The flag judges how a benchmark was asked (its variant's method), not how its task scores: the
    # log-likelihood suite's GSM8K generates too, and is scored exactly as lm-eval scores it.
    reasons = generative.degenerate_reasons(
        [{**r, "method": variant} for r, variant in zip(rows, variants, strict=True)],
        max_unparsed_share=settings.EVAL_MAX_UNPARSED_SHARE,
        collapse_share=settings.EVAL_COLLAPSE_SHARE,
        collapse_min_items=settings.EVAL_COLLAPSE_MIN_ITEMS,
    )
    prompt = [r["prompt_tokens"] for r in rows if r["prompt_tokens"] is not None]
    completion = [r["completion_tokens"] for r in rows if r["completion_tokens"] is not None]
    return {
        "method": generative.run_method(variants),
        "flagged": bool(reasons),
        "flag_reasons": reasons,
        "prompt_tokens": sum(prompt) if prompt else None,
        "completion_tokens": sum(completion) if completion else None,
    }
