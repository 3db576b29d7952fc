"""`python manage.py import_results PATH... | --hub-dataset REPO_ID [--revision REV]`: import lm-eval runs.

PATH: lm-evaluation-harness 0.4 `results_*.json` files or directories holding them (the
`samples_<task>_<date>.jsonl` beside a results file come with it), or Open LLM Leaderboard v1 results
files. `--hub-dataset` imports a Hub dataset archive laid out as `<org>/<model>/results_<timestamp>.json`,
here (default) or on the workers (`--enqueue`). Prints one line per file (or the job's counts) and
exits 1 when any file failed; the good files are imported all the same.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evals.exchange import services
from evals.models import ImportJob


class Command(BaseCommand):
    help = "Import lm-evaluation-harness 0.4 / Open LLM Leaderboard v1 results files, or a Hub results archive."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="*", help="results files or directories")
        parser.add_argument("--hub-dataset", dest="hub_dataset", help="a Hub dataset repo id (results archive)")
        parser.add_argument("--revision", default="main", help="the dataset's revision (with --hub-dataset)")
        parser.add_argument("--model", help="the registry/Hub model id, when the files name a local path")
        parser.add_argument("--enqueue", action="store_true", help="with --hub-dataset: run on the workers")
        parser.add_argument("--json", action="store_true", help="print the outcome as JSON")

    def handle(self, *args: object, **options: object) -> None:
        paths = list(options["paths"] or [])  # type: ignore[call-overload]
        hub_dataset = options.get("hub_dataset")
        if bool(paths) == bool(hub_dataset):
            raise CommandError("give results files/directories, or --hub-dataset REPO_ID (not both)")
        if hub_dataset:
            job = services.import_job_create(source=str(hub_dataset), revision=str(options["revision"]))
            if options["enqueue"]:
                from evals.tasks import import_archive_task

                import_archive_task.delay(job.pk)
                self.stdout.write(f"import job {job.pk} queued")
                return
            job = services.import_job_run_archive(job_id=job.pk) or job
            self._report_job(job, as_json=bool(options["json"]))
            return
        files, errors = services.result_files_collect(paths)
        if not files and not errors:
            raise CommandError("no results_*.json files found under " + ", ".join(paths))
        job = services.import_job_create(source="files", files_total=len(files))
        job = services.import_job_run_files(job, files, errors=errors, model=options.get("model"))  # type: ignore[arg-type]
        self._report_job(job, as_json=bool(options["json"]))

    def _report_job(self, job: ImportJob, *, as_json: bool) -> None:
        runs = list(job.imports.order_by("pk").values("source", "run_id", "details"))
        if as_json:
            payload = {
                "job": job.pk,
                "status": job.status,
                "files": job.files_total,
                "created": job.created,
                "unchanged": job.unchanged,
                "failed": job.failed,
                "errors": job.errors,
                "runs": [
                    {"source": r["source"], "run": r["run_id"], "ranked": r["details"].get("ranked")} for r in runs
                ],
            }
            self.stdout.write(json.dumps(payload, indent=2))
        else:
            for r in runs:
                where = f"ranked on {r['details'].get('suite')}" if r["details"].get("ranked") else "stored, not ranked"
                self.stdout.write(f"imported {r['source']} -> run {r['run_id']} ({where})")
                for note in r["details"].get("notes") or []:
                    self.stdout.write(f"  note: {note}")
            for error in job.errors or []:
                field = f" [{error['field']}]" if error.get("field") else ""
                self.stderr.write(f"FAILED {error['file']}{field}: {error['message']}")
            self.stdout.write(
                f"job {job.pk} {job.status}: {job.created} imported, {job.unchanged} unchanged, {job.failed} failed"
            )
        if job.failed:
            raise SystemExit(1)
