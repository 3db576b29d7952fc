"""Benchmark: import a results archive of N Open LLM Leaderboard v1 files from the fake Hub into PostgreSQL.

    .venv/bin/python benchmarks/import_archive.py [--files 10000] [--models 2500]

Creates a scratch database (ladder_bench_import on the server of DATABASE_URL), starts the fake Hub in a
child process serving a dataset laid out as `<org>/<model>/results_<timestamp>.json` (N files over
--models models, generated from the committed v1 fixture with varied numbers), and measures:
  - the Hub alone: listing + downloading every file;
  - a first import (every file becomes a run; unknown models are created);
  - a second import of the unchanged archive (nothing downloaded).
Reports files/s and SQL queries per file (counted with connection.execute_wrapper).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
REPO = "bench/results-archive"
FIXTURE = next((ROOT / "tests" / "exchange" / "fixtures" / "open_llm_v1").glob("results_*.json"))


def archive_files(n: int, models: int, seed: int = 0) -> dict[str, bytes]:
    base = json.loads(FIXTURE.read_bytes())
    rng = random.Random(seed)
    files = {}
    for i in range(n):
        org, name = f"org{i % models % 97}", f"model-{i % models}"
        doc = json.loads(json.dumps(base))
        doc["config_general"]["model_name"] = f"{org}/{name}"
        doc["config_general"]["model_sha"] = f"{rng.getrandbits(160):040x}"
        for entry in doc["results"].values():
            for key, value in entry.items():
                if not key.endswith("_stderr"):
                    entry[key] = min(1.0, max(0.0, value + rng.uniform(-0.05, 0.05)))
        stamp = f"2024-{1 + i // models % 12:02d}-{1 + i % 28:02d}T10-00-00.{i:06d}"
        files[f"{org}/{name}/results_{stamp}.json"] = json.dumps(doc, indent=4).encode()
    return files


def _fake_hub_process(n: int, models: int, conn) -> None:
    from tests.hubfake import FakeHub

    hub = FakeHub([]).start()
    hub.add_dataset(REPO, archive_files(n, models))
    conn.send(hub.url)
    conn.recv()
    hub.stop()


def main() -> None:
    from hub_sync import QueryCounter, _scratch_database_url  # the same scratch-database helpers

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--models", type=int, default=2_500)
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = _scratch_database_url("ladder_bench_import")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from evals.exchange import services
    from registry import hub

    call_command("migrate", verbosity=0)
    parent, child = mp.Pipe()
    process = mp.get_context("spawn").Process(target=_fake_hub_process, args=(args.files, args.models, child))
    process.start()
    settings.HF_ENDPOINT = parent.recv()

    def timed(fn):
        counter = QueryCounter()
        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            result = fn()
        return time.perf_counter() - started, counter.count, result

    def hub_only() -> int:
        files = hub.hub_dataset_files(REPO, revision="main")
        for f in files:
            hub.hub_dataset_file_bytes(REPO, f.path, revision="main", max_bytes=1 << 26)
        return len(files)

    def import_once():
        job = services.import_job_create(source=REPO, revision="main")
        return services.import_job_run_archive(job_id=job.pk)

    rows = []
    seconds, _q, count = timed(hub_only)
    rows.append(("Hub only: list + download every file", seconds, 0, count))
    seconds, queries, job = timed(import_once)
    rows.append((f"first import ({job.created} created, {job.failed} failed)", seconds, queries, job.files_total))
    seconds, queries, job = timed(import_once)
    rows.append((f"second import, unchanged ({job.unchanged} unchanged)", seconds, queries, job.files_total))
    parent.send("stop")
    process.join(10)

    print(f"import_archive: {args.files} files over {args.models} models")
    print(f"{'phase':<48} {'seconds':>8} {'files/s':>8} {'queries':>8} {'q/file':>7}")
    for name, seconds, queries, files in rows:
        print(f"{name:<48} {seconds:8.2f} {files / seconds:8.1f} {queries:8d} {queries / max(files, 1):7.2f}")


if __name__ == "__main__":
    main()
