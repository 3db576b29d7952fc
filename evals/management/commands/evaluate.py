"""`python manage.py evaluate MODEL --suite quick [...]`: evaluate a registry model, in-process or on the workers.

In-process (the default) the run is created, executed here and stored like any other run; `--json`
prints `{"model", "suite", "backend", "results": {BENCH: {metric: value, ..., "stderr", "n"}}, "average"}`.
`--enqueue` stores the run and sends it to the `evals` workers, printing its id.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError

from evals import services
from evals.models import EvalRun
from registry.models import LanguageModel


def _model_or_register(model_id: str) -> LanguageModel:
    model = LanguageModel.objects.filter(repo_id=model_id).first()
    if model is not None:
        return model
    if not services.MODEL_ID_RE.match(model_id):
        raise CommandError(f"{model_id!r} is not in the registry and is not a Hub model id (organization/name)")
    from registry import hub
    from registry.services import hub_sync

    try:
        model, _outcome = hub_sync.hub_model_sync(repo_id=model_id)
    except hub.HubPermanentError as exc:
        raise CommandError(
            f"{model_id} is not in the registry, and the Hub says: {exc.kind.replace('_', ' ')} ({exc}). "
            "Check the id, or add it with `python manage.py sync_hub --model ID` / `load_catalog`."
        ) from exc
    except hub.HubError as exc:
        raise CommandError(
            f"{model_id} is not in the registry and the Hub could not be reached to find it: {exc}"
        ) from exc
    return model


def _command_error(exc: services.SubmissionError, model: LanguageModel) -> CommandError:
    """The service's refusal, worded for the command line where an option is the fix."""
    if exc.code == "closed_model_backend":
        return CommandError(f"{model.repo_id} is a closed model: use --backend openai (its API endpoint)")
    return CommandError(exc.message)


def run_summary(run: EvalRun) -> dict[str, Any]:
    """The --json document of a finished run."""
    results: dict[str, Any] = {}
    primaries = []
    for result in sorted(
        run.results.all(), key=lambda r: run.benchmarks.index(r.benchmark) if r.benchmark in run.benchmarks else 99
    ):
        entry = {name: value for name, value in result.metrics.items()}
        entry["stderr"] = result.stderr
        entry["n"] = result.n
        results[result.benchmark] = entry
        primaries.append(result.value)
    return {
        "model": run.model.repo_id,
        "suite": run.suite,
        "backend": run.backend,
        "results": results,
        "average": sum(primaries) / len(primaries) if primaries else None,
    }


class Command(BaseCommand):
    help = "Evaluate a registry model on a suite (in-process by default; --enqueue sends it to the workers)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model", help="model id in the registry (a Hub id is registered from the Hub)")
        parser.add_argument("--suite", default="quick")
        parser.add_argument("--benchmarks", default="", help="comma-separated subset, e.g. arc_easy,mmlu")
        parser.add_argument("--limit", type=int, default=None, help="first N items of each benchmark")
        parser.add_argument("--backend", default="transformers", choices=["transformers", "openai"])
        parser.add_argument("--dtype", default="auto", choices=list(services.DTYPES))
        parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
        parser.add_argument("--batch-size", type=int, default=8)
        parser.add_argument("--json", action="store_true", help="print the results as JSON")
        parser.add_argument("--enqueue", action="store_true", help="send the run to the workers and print its id")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        benchmarks = [b.strip() for b in opts["benchmarks"].split(",") if b.strip()] or None
        model = _model_or_register(opts["model"])
        try:
            # The same service as the submit page and the API: the same duplicate lookup (a complete run
            # already queued, running or done is reused, not repeated) and the same refusals.
            run, created = services.eval_run_submit(
                user=None,
                model_id=model.repo_id,
                suite=opts["suite"],
                backend=opts["backend"],
                dtype=opts["dtype"],
                benchmarks=benchmarks,
                limit=opts["limit"],
                device=opts["device"],
                batch_size=opts["batch_size"],
                dispatch=opts["enqueue"],
                operator=True,
            )
        except services.SubmissionError as exc:
            raise _command_error(exc, model) from exc
        except IntegrityError as exc:
            raise CommandError("a conflicting run appeared and vanished while creating this one; try again") from exc
        if not created:
            if run.status == EvalRun.Status.RUNNING:
                raise CommandError(f"an identical run is already running: run {run.pk} (see /runs/{run.pk}/)")
            self.stderr.write(f"an identical complete run exists: run {run.pk} ({run.status})")
            if opts["enqueue"] and run.status == EvalRun.Status.QUEUED:
                services.eval_run_enqueue(run_id=run.pk)
        if opts["enqueue"]:
            run.refresh_from_db()
            if opts["json"]:
                self.stdout.write(
                    json.dumps({"run": run.pk, "status": run.status, "dispatched": bool(run.dispatched_at)})
                )
            else:
                self.stdout.write(str(run.pk))
                if run.dispatched_at is None and run.status == EvalRun.Status.QUEUED:
                    self.stderr.write(
                        f"run {run.pk} is saved; the queue is unreachable, it starts when the queue is back"
                    )
            return

        if run.status == EvalRun.Status.QUEUED:
            if not opts["json"]:
                self.stderr.write(
                    f"run {run.pk}: evaluating {model.repo_id} on {run.suite} ({', '.join(run.benchmarks)})"
                )
            from config.logging import log_context

            with log_context(run_id=f"eval:{run.pk}"):
                services.eval_run_execute(run_id=run.pk)
        run = EvalRun.objects.select_related("model").get(pk=run.pk)
        if run.status != EvalRun.Status.SUCCEEDED:
            raise CommandError(f"run {run.pk} {run.status}: {run.error or 'see the worker logs'}")
        summary = run_summary(run)
        if opts["json"]:
            self.stdout.write(json.dumps(summary))
            return
        how = {r.benchmark: r for r in run.results.all()}
        for bench, entry in summary["results"].items():
            metrics = ", ".join(f"{k}={v:.4f}" for k, v in entry.items() if k not in ("stderr", "n") and v is not None)
            stderr = f" ± {entry['stderr']:.4f}" if entry.get("stderr") is not None else ""
            result = how[bench]
            asked = f" [{result.method} {result.variant}, unparsed {result.unparsed}/{result.n}]"
            self.stdout.write(f"{bench:16s} {metrics}{stderr} (n={entry['n']}){asked}")
        if summary["average"] is not None:
            self.stdout.write(f"{'average':16s} {summary['average']:.4f}")
        if run.prompt_tokens is not None:
            self.stdout.write(f"tokens: {run.prompt_tokens} prompt + {run.completion_tokens or 0} completion")
        if run.flagged:
            self.stdout.write(f"flagged as degenerate (not ranked until staff accept it): {run.flag_reasons}")
        self.stdout.write(f"run {run.pk} stored (sha {run.revision_sha or '-'}, engine {run.engine_version})")
