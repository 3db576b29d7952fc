"""The evaluation engine: which items a run scores, the lm-eval 0.4 requests for them, and the metrics.

No Django here. The services (evals/services/execute.py) call `run_plan` once per run, then `score_docs` per benchmark
(storing each `ItemOutcome` as it arrives), then `aggregate` over the stored per-item metrics.

Faithfulness to lm-evaluation-harness 0.4.x (so scores compare with published numbers):
- context = task description + few-shot examples (each "text + ' ' + target", joined and followed by "\\n\\n")
  + doc_to_text; a multiple-choice continuation = " " + choice (target delimiter " ");
- Winogrande's partial scoring: the choices are contexts sharing one continuation;
- few-shot examples: `random.Random(1234)` shared by the docs in file order (the draw for the doc at
  position p is the (p+1)-th `sample` call), or the first n items for `first_n` tasks (MMLU, C-Eval, CMMLU,
  per subject); the doc itself is excluded when the few-shot split is the evaluation split;
- acc = argmax of summed log-likelihoods, acc_norm = argmax of log-likelihood / len(choice) in characters,
  ties to the first index; stderr = sample standard deviation / sqrt(n).
Tokenisation details (trailing context spaces moved into the continuation, continuation tokens = tokens of
context+continuation after those of the context) live in the backend, as in lm-eval's model classes.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from evals.backends.base import Backend
from evals.benchmarks import BENCHMARKS, FEWSHOT_DELIMITER, TARGET_DELIMITER, BenchmarkSpec, argmax
from evals.data import DataError, load_split
from evals.generative import (
    CHAT_COT_MAX_TOKENS,
    CHAT_MC_MAX_TOKENS,
    GENERATIVE,
    LETTERS,
    Variant,
    chat_choice_prompt,
    chat_cot_prompt,
    chat_variant,
    default_variant,
    parse_choice,
    parse_final_number,
)
from evals.suites import SUITES
from evals.types import BenchmarkScore, Doc, GenerationRequest, ItemOutcome, LoglikelihoodRequest

# Bump when prompts, sampling or metrics change: stored runs record the version that produced them.
# The suffix names the lm-evaluation-harness release the definitions mirror (0.4.13, as the README says;
# EvalRun.engine_version holds 20 characters).
ENGINE_VERSION = "2026.12-lmeval0.4.13"

FEWSHOT_SEED = 1234  # lm-eval's default fewshot_random_seed

__all__ = [
    "ENGINE_VERSION",
    "BenchmarkPlan",
    "DataError",
    "aggregate",
    "benchmark_variant",
    "build_context",
    "run_plan",
    "score_docs",
    "stratified_sample",
]


@dataclass(frozen=True)
class BenchmarkPlan:
    """The items one benchmark of a run scores, in order (positions 0..n-1), identical for every model."""

    benchmark: str
    n_shot: int
    docs: list[Doc]


# ---------------------------------------------------------------------------------------------- planning


def run_plan(
    *,
    suite: str,
    benchmarks: list[str] | None = None,
    limit: int | None = None,
    data_dir: str | None = None,
) -> list[BenchmarkPlan]:
    """The items of every benchmark of a run, loaded and checked before anything is scored.

    `benchmarks` restricts the suite (in the given order); `limit` takes the first N items of each evaluation
    split in file order instead of the suite's sample. Raises ValueError for an unknown suite/benchmark or a
    bad limit, and DataError when a data file (evaluation split, or the few-shot split a shot count needs) is
    missing or malformed.
    """
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; choose one of {', '.join(SUITES)}")
    spec_suite = SUITES[suite]
    keys = list(benchmarks) if benchmarks else list(spec_suite.benchmarks)
    unknown = [k for k in keys if k not in BENCHMARKS]
    if unknown:
        raise ValueError(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    if limit is not None and limit < 1:
        raise ValueError("limit must be a positive number of items")
    plans = []
    for key in dict.fromkeys(keys):
        spec = BENCHMARKS[key]
        n_shot = spec_suite.shots(key)
        records = load_split(spec, spec.eval_split, data_dir=data_dir)
        if limit is not None:
            indices = list(range(min(limit, len(records))))
        elif spec_suite.sample_size is not None:
            indices = stratified_sample(spec, records, spec_suite.sample_size, seed=spec_suite.seed)
        else:
            indices = list(range(len(records)))
        if n_shot > 0:
            _fewshot_pool(spec, n_shot, data_dir)  # fail now, naming the missing few-shot file
        docs = [
            Doc(
                benchmark=key,
                item_id=str(records[i]["id"]),
                position=pos,
                subject=spec.subject_of(records[i]),
                fields=records[i],
            )
            for pos, i in enumerate(indices)
        ]
        plans.append(BenchmarkPlan(benchmark=key, n_shot=n_shot, docs=docs))
    return plans


def stratified_sample(spec: BenchmarkSpec, records: Sequence[dict[str, Any]], size: int, *, seed: int) -> list[int]:
    """Indices (in file order) of a deterministic sample of at most `size` records.

    With subjects, each subject gets a share proportional to its size (largest remainders, ties by subject
    name), and items within a subject are drawn with a Random seeded by (seed, benchmark, subject); without,
    one seeded draw over the whole split. Depends only on the data and the seed, never on the model.
    """
    n = len(records)
    if size >= n:
        return list(range(n))
    if not spec.subjects:
        rng = random.Random(f"{seed}:{spec.key}")
        return sorted(rng.sample(range(n), size))
    by_subject: dict[str, list[int]] = defaultdict(list)
    for i, rec in enumerate(records):
        by_subject[spec.subject_of(rec)].append(i)
    quotas = {s: size * len(idx) / n for s, idx in by_subject.items()}
    alloc = {s: math.floor(q) for s, q in quotas.items()}
    remaining = size - sum(alloc.values())
    for s in sorted(quotas, key=lambda s: (-(quotas[s] - alloc[s]), s))[:remaining]:
        alloc[s] += 1
    chosen: list[int] = []
    for s in sorted(by_subject):
        rng = random.Random(f"{seed}:{spec.key}:{s}")
        chosen.extend(rng.sample(by_subject[s], alloc[s]))
    return sorted(chosen)


# ---------------------------------------------------------------------------------------------- few-shot


def _fewshot_pool(spec: BenchmarkSpec, n_shot: int, data_dir: str | None) -> list[dict[str, Any]]:
    if spec.fewshot_split is None:
        raise ValueError(f"{spec.name} has no few-shot split; lm-eval runs it 0-shot only")
    try:
        return load_split(spec, spec.fewshot_split, data_dir=data_dir)
    except DataError as exc:
        raise DataError(
            f"{spec.name} {n_shot}-shot needs its few-shot split {spec.fewshot_split!r}, which is not available: "
            f"{exc}. Run it 0-shot, or provide the split (it is not silently replaced by 0-shot)."
        ) from None


class FewshotSampler:
    """lm-eval's ContextSampler / FirstNSampler for one benchmark and shot count."""

    def __init__(self, spec: BenchmarkSpec, pool: list[dict[str, Any]], n_shot: int, seed: int = FEWSHOT_SEED):
        self.spec = spec
        self.n_shot = n_shot
        self.seed = seed
        self.same_split = spec.fewshot_split == spec.eval_split
        self.pool = pool
        self.by_subject: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for rec in pool:
            self.by_subject[spec.subject_of(rec)].append(rec)
        self._rng = random.Random(seed)
        self._next_draw = 0

    def _draw(self, position: int) -> list[int]:
        """The indices the (position+1)-th `rnd.sample` call returns (one call per doc, in doc order)."""
        if position < self._next_draw:
            self._rng = random.Random(self.seed)
            self._next_draw = 0
        k = self.n_shot + 1 if self.same_split else self.n_shot
        k = min(k, len(self.pool))
        while self._next_draw < position:
            self._rng.sample(range(len(self.pool)), k)
            self._next_draw += 1
        self._next_draw += 1
        return self._rng.sample(range(len(self.pool)), k)

    def examples(self, doc: Doc) -> list[dict[str, Any]]:
        if self.spec.fewshot_sampler == "first_n":
            pool = self.by_subject.get(doc.subject, []) if self.spec.subjects else self.pool
            k = self.n_shot + 1 if self.same_split else self.n_shot
            if k > len(pool):
                raise DataError(
                    f"{self.spec.name}: {self.n_shot}-shot needs {self.n_shot} few-shot items for subject "
                    f"{doc.subject!r}, the {self.spec.fewshot_split!r} split has {len(pool)}"
                )
            selected = pool[:k]
        else:
            selected = [self.pool[i] for i in self._draw(doc.position)]
        return [ex for ex in selected if ex is not doc.fields and ex != doc.fields][: self.n_shot]

    def prefix(self, doc: Doc) -> str:
        return "".join(self.spec.fewshot_example(ex) + FEWSHOT_DELIMITER for ex in self.examples(doc))


def build_context(spec: BenchmarkSpec, doc: Doc, sampler: FewshotSampler | None = None) -> str | list[str]:
    """lm-eval's fewshot_context: description + few-shot examples + doc_to_text.

    For multiple-input tasks (Winogrande) it returns one context per choice.
    """
    labeled = spec.task_description(doc.subject)
    if sampler is not None and sampler.n_shot > 0:
        labeled += sampler.prefix(doc)
    if spec.multiple_inputs:
        return [labeled + choice for choice in spec.doc_to_choice(doc.fields)]
    return labeled + spec.doc_to_text(doc.fields)


# ---------------------------------------------------------------------------------------------- scoring


@dataclass
class _Prepared:
    doc: Doc
    prompt: str
    choices: list[str]
    requests: list[LoglikelihoodRequest]
    generation: GenerationRequest | None = None


def _prepare_loglikelihood(spec: BenchmarkSpec, doc: Doc, sampler: FewshotSampler | None) -> _Prepared:
    ctx = build_context(spec, doc, sampler)
    choices = spec.doc_to_choice(doc.fields)
    if spec.multiple_inputs:
        assert isinstance(ctx, list)
        cont = TARGET_DELIMITER + str(spec.doc_to_target(doc.fields))
        reqs = [LoglikelihoodRequest(context=c, continuation=cont) for c in ctx]
        shown = ctx[0][: len(ctx[0]) - len(choices[0])] + doc.fields.get("sentence", "")
        options = [doc.fields.get("option1", ""), doc.fields.get("option2", "")]
        return _Prepared(doc=doc, prompt=shown, choices=[str(o) for o in options], requests=reqs)
    assert isinstance(ctx, str)
    reqs = [LoglikelihoodRequest(context=ctx, continuation=TARGET_DELIMITER + c) for c in choices]
    return _Prepared(doc=doc, prompt=ctx, choices=choices, requests=reqs)


def benchmark_variant(benchmark: str, backend: Backend) -> Variant:
    """How the benchmark is asked of this backend (evals/generative.py): lm-eval's default task when the
    backend scores continuations, else its chat variant (multiple choice and GSM8K alike)."""
    if getattr(backend, "supports_loglikelihood", True):
        return default_variant(benchmark)
    return chat_variant(benchmark)


def _outcome(
    spec: BenchmarkSpec,
    prep: _Prepared,
    lls: list[float],
    generated: str,
    metrics: dict[str, float],
    prediction: Any,
    target: Any,
    correct: bool,
    usage: tuple[int | None, int | None] = (None, None),
) -> ItemOutcome:
    return ItemOutcome(
        prompt_tokens=usage[0],
        completion_tokens=usage[1],
        benchmark=spec.key,
        item_id=prep.doc.item_id,
        position=prep.doc.position,
        subject=prep.doc.subject,
        prompt=prep.prompt,
        choices=prep.choices,
        loglikelihoods=[float(x) for x in lls],
        generated=generated,
        target=target,
        prediction=prediction,
        metrics=metrics,
        correct=correct,
    )


def _gold(spec: BenchmarkSpec, doc: Doc) -> int:
    value: object
    if spec.multiple_inputs:
        value = spec.doc_to_text(doc.fields)
    else:
        value = spec.doc_to_target(doc.fields)
    assert isinstance(value, int)
    return value


def _correct_mc(spec: BenchmarkSpec, doc: Doc, pred: int) -> bool:
    if spec.key == "truthfulqa_mc2":
        return pred < list(doc.fields["mc2_targets"]["labels"]).index(0)
    return pred == _gold(spec, doc)


def score_docs(
    *,
    benchmark: str,
    docs: Sequence[Doc],
    backend: Backend,
    n_shot: int,
    seed: int = FEWSHOT_SEED,
    batch_size: int = 8,
    on_item: Callable[[ItemOutcome], None],
    should_stop: Callable[[], bool] = lambda: False,
    data_dir: str | None = None,
) -> str:
    """Score `docs` with `backend`, calling `on_item` for every doc as soon as its batch is scored.

    Returns the method used: "loglikelihood", or "generative" (gsm8k, or the benchmark's chat variant when
    the backend has no prompt log-probabilities: `benchmark_variant`, evals/generative.py). Checks
    `should_stop()` between batches and returns early when it is true. Few-shot contexts depend only on each doc's position, so scoring a
    remainder after a restart gives the same prompts. Raises DataError (few-shot split missing) and whatever
    the backend raises (BackendError).
    """
    spec = BENCHMARKS[benchmark]
    sampler = None
    if n_shot > 0:
        pool = _fewshot_pool(spec, n_shot, data_dir)
        sampler = FewshotSampler(spec, pool, n_shot, seed)
    batch_size = max(1, int(batch_size))
    ordered = sorted(docs, key=lambda d: d.position)

    variant = benchmark_variant(benchmark, backend)
    if spec.output_type == "generate_until" or variant.method == GENERATIVE:
        method = "generative"
    else:
        method = "loglikelihood"

    # A backend may want more sequences per generation call than per scoring call (on a CPU a decoding step
    # costs about the same for 32 sequences as for 8: reading the weights dominates).
    step = batch_size
    if method == "generative":
        step = max(batch_size, int(getattr(backend, "generation_batch_size", batch_size)))
    for start in range(0, len(ordered), step):
        if should_stop():
            break
        batch = ordered[start : start + step]
        if spec.output_type == "generate_until" and variant.method == GENERATIVE:
            _score_chat_cot_batch(spec, batch, backend, sampler, on_item)
        elif spec.output_type == "generate_until":
            _score_generation_batch(spec, batch, backend, sampler, on_item)
        elif method == "loglikelihood":
            _score_loglikelihood_batch(spec, batch, backend, sampler, on_item)
        else:
            _score_generative_choice_batch(spec, batch, backend, sampler, on_item)
    return method


def _score_loglikelihood_batch(
    spec: BenchmarkSpec,
    batch: Sequence[Doc],
    backend: Backend,
    sampler: FewshotSampler | None,
    on_item: Callable[[ItemOutcome], None],
) -> None:
    prepared = [_prepare_loglikelihood(spec, doc, sampler) for doc in batch]
    flat = [req for prep in prepared for req in prep.requests]
    lls = backend.loglikelihood(flat)
    if len(lls) != len(flat):
        raise RuntimeError(f"backend returned {len(lls)} log-likelihoods for {len(flat)} requests")
    usages = _usage(backend, len(flat))
    offset = 0
    for prep in prepared:
        item_lls = [float(x) for x in lls[offset : offset + len(prep.requests)]]
        usage = _summed(usages[offset : offset + len(prep.requests)])
        offset += len(prep.requests)
        metrics = spec.process_results(prep.doc.fields, item_lls)
        pred = argmax(item_lls)
        on_item(
            _outcome(
                spec,
                prep,
                item_lls,
                "",
                metrics,
                pred,
                _gold(spec, prep.doc),
                _correct_mc(spec, prep.doc, pred),
                usage,
            )
        )


def _usage(backend: Backend, count: int) -> list[tuple[int | None, int | None]]:
    """Tokens the endpoint reported for each request of the backend's last call (None where not reported)."""
    reported = list(getattr(backend, "last_usage", None) or [])
    if len(reported) != count:
        return [(None, None)] * count
    return [(u.get("prompt_tokens"), u.get("completion_tokens")) if u else (None, None) for u in reported]


def _summed(usages: Sequence[tuple[int | None, int | None]]) -> tuple[int | None, int | None]:
    prompt = [p for p, _c in usages if p is not None]
    completion = [c for _p, c in usages if c is not None]
    return (sum(prompt) if prompt else None, sum(completion) if completion else None)


def _chat_fewshot_prefix(spec: BenchmarkSpec, doc: Doc, sampler: FewshotSampler | None) -> str:
    """Few-shot examples in the chat format, each answered "The best answer is X.", joined by a blank line."""
    if sampler is None or sampler.n_shot <= 0:
        return ""
    parts = []
    for example in sampler.examples(doc):
        prompt, _options = chat_choice_prompt(spec, example)
        gold = spec.doc_to_text(example) if spec.multiple_inputs else spec.doc_to_target(example)
        parts.append(f"{prompt}\nThe best answer is {LETTERS[int(gold)]}.")
    return "\n\n".join(parts) + "\n\n"


def _score_generative_choice_batch(
    spec: BenchmarkSpec,
    batch: Sequence[Doc],
    backend: Backend,
    sampler: FewshotSampler | None,
    on_item: Callable[[ItemOutcome], None],
) -> None:
    prompts = []
    for doc in batch:
        prompt, options = chat_choice_prompt(spec, doc.fields)
        prompts.append((_chat_fewshot_prefix(spec, doc, sampler) + prompt, options))
    # No stop sequences: a chat API cannot be prefilled with lm-eval's gen_prefix, so the reply is read whole.
    requests = [
        GenerationRequest(context=p, until=(), max_new_tokens=CHAT_MC_MAX_TOKENS, chat=True) for p, _ in prompts
    ]
    outs = backend.generate(requests)
    if len(outs) != len(requests):
        raise RuntimeError(f"backend returned {len(outs)} completions for {len(requests)} requests")
    usages = _usage(backend, len(requests))
    for doc, (prompt, options), text, usage in zip(batch, prompts, outs, usages, strict=True):
        parsed = parse_choice(text, options)
        correct = parsed.index is not None and _correct_mc(spec, doc, parsed.index)
        prep = _Prepared(doc=doc, prompt=prompt, choices=options, requests=[])
        on_item(
            _outcome(
                spec,
                prep,
                [],
                text,
                {"acc": 1.0 if correct else 0.0},
                parsed.index if parsed.index is not None else -1,
                _gold(spec, doc),
                correct,
                usage,
            )
        )


def _chat_cot_fewshot_prefix(doc: Doc, sampler: FewshotSampler | None) -> str:
    """Few-shot GSM8K examples in gsm8k_cot_llama's format: the problem, the reference reasoning, and
    "The final answer is N", joined by a blank line (the suite's shots, never silently 0)."""
    if sampler is None or sampler.n_shot <= 0:
        return ""
    parts = []
    for example in sampler.examples(doc):
        reasoning, _sep, final = str(example["answer"]).partition("####")
        parts.append(f"{chat_cot_prompt(example)}\n{reasoning.strip()} The final answer is {final.strip()}")
    return "\n\n".join(parts) + "\n\n"


def _score_chat_cot_batch(
    spec: BenchmarkSpec,
    batch: Sequence[Doc],
    backend: Backend,
    sampler: FewshotSampler | None,
    on_item: Callable[[ItemOutcome], None],
) -> None:
    """GSM8K as gsm8k_cot_llama asks it: strict "The final answer is N", flexible last number."""
    from evals.benchmarks.gsm8k import exact_match

    prompts = [_chat_cot_fewshot_prefix(doc, sampler) + chat_cot_prompt(doc.fields) for doc in batch]
    requests = [GenerationRequest(context=p, until=(), max_new_tokens=CHAT_COT_MAX_TOKENS, chat=True) for p in prompts]
    outs = backend.generate(requests)
    if len(outs) != len(requests):
        raise RuntimeError(f"backend returned {len(outs)} completions for {len(requests)} requests")
    usages = _usage(backend, len(requests))
    for doc, prompt, text, usage in zip(batch, prompts, outs, usages, strict=True):
        strict, flexible = parse_final_number(text)
        metrics = {
            "exact_match": exact_match(strict, doc.fields["answer"]),
            "exact_match_flexible": exact_match(flexible, doc.fields["answer"]),
        }
        prep = _Prepared(doc=doc, prompt=prompt, choices=[], requests=[])
        target = spec.reference_answer(doc.fields)  # type: ignore[attr-defined]
        on_item(_outcome(spec, prep, [], text, metrics, strict, target, metrics["exact_match"] == 1.0, usage))


def _score_generation_batch(
    spec: BenchmarkSpec,
    batch: Sequence[Doc],
    backend: Backend,
    sampler: FewshotSampler | None,
    on_item: Callable[[ItemOutcome], None],
) -> None:
    contexts = []
    for doc in batch:
        ctx = build_context(spec, doc, sampler)
        assert isinstance(ctx, str)
        contexts.append(ctx)
    reqs = [
        GenerationRequest(context=c, until=spec.generation_until, max_new_tokens=spec.max_gen_toks) for c in contexts
    ]
    outs = backend.generate(reqs)
    if len(outs) != len(reqs):
        raise RuntimeError(f"backend returned {len(outs)} completions for {len(reqs)} requests")
    usages = _usage(backend, len(reqs))
    for doc, ctx, text, usage in zip(batch, contexts, outs, usages, strict=True):
        metrics, prediction = spec.score_generation(doc.fields, text)  # type: ignore[attr-defined]
        prep = _Prepared(doc=doc, prompt=ctx, choices=[], requests=[])
        target = spec.reference_answer(doc.fields)  # type: ignore[attr-defined]
        on_item(_outcome(spec, prep, [], text, metrics, prediction, target, metrics[spec.primary_metric] == 1.0, usage))


# ---------------------------------------------------------------------------------------------- aggregation


def aggregate(*, benchmark: str, item_metrics: Sequence[dict[str, float]], n_shot: int, method: str) -> BenchmarkScore:
    """The benchmark score of a run: the mean of every metric over the items, and the primary metric's
    standard error (sample standard deviation / sqrt(n), as lm-eval's `mean_stderr`).

    Metrics missing from some items (e.g. acc_norm under generative scoring) are left out. The primary
    metric falls back to "acc" when the benchmark's usual one was not measured. Raises ValueError for an
    unknown benchmark or when there are no items.
    """
    if benchmark not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {benchmark!r}")
    spec = BENCHMARKS[benchmark]
    n = len(item_metrics)
    if n == 0:
        raise ValueError(f"{benchmark}: no scored items to aggregate")
    names = [m for m in item_metrics[0] if all(m in im for im in item_metrics)]
    ordered = [m for m in spec.metrics if m in names] + [m for m in names if m not in spec.metrics]
    means = {m: math.fsum(float(im[m]) for im in item_metrics) / n for m in ordered}
    stderrs = {m: _mean_stderr([float(im[m]) for im in item_metrics]) for m in ordered}
    primary = spec.primary_metric if spec.primary_metric in means else ("acc" if "acc" in means else ordered[0])
    return BenchmarkScore(
        benchmark=benchmark,
        metrics=means,
        primary_metric=primary,
        value=means[primary],
        stderr=stderrs[primary],
        n=n,
        method=method,
        n_shot=n_shot,
        extra={"stderr": stderrs, "engine_version": ENGINE_VERSION},
    )


def _mean_stderr(values: list[float]) -> float | None:
    n = len(values)
    if n < 2:
        return None
    mu = math.fsum(values) / n
    var = math.fsum((v - mu) ** 2 for v in values) / (n - 1)
    return math.sqrt(var / n)
