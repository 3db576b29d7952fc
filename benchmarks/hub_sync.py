"""Benchmark: sync N synthetic models from the fake Hub into PostgreSQL.

    .venv/bin/python benchmarks/hub_sync.py [--models 10000] [--runs 3] [--changed 0.01] [--scratch-db NAME]

Creates a scratch database (--scratch-db, default ladder_bench_hub, on the server of DATABASE_URL, default
postgres://postgres@127.0.0.1:5432), starts the fake Hub in a child process with N synthetic models
(1000 per page, as the Hub), and measures, median over --runs:
  - the Hub alone: listing every page; listing + one config.json per model; and listing + config.json + the
    open pull requests per model (everything a first sync must fetch: community scores come from open PRs);
  - a first sync into an empty registry;
  - a re-sync with nothing changed, and one where --changed of the models got a new commit.
Reports models/s and SQL queries per model (counted with connection.execute_wrapper).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SCRATCH_DB = "ladder_bench_hub"


def _fake_hub_process(n: int, conn) -> None:
    from tests.hubfake import FakeHub, synthetic_models

    hub = FakeHub(synthetic_models(n), page_size=1000).start()
    conn.send(hub.url)
    while True:
        command, arg = conn.recv()
        if command == "push":
            ids = hub.model_ids()
            step = max(1, int(1 / arg)) if arg else 0
            changed = ids[::step] if step else []
            for repo_id in changed:
                hub.push_commit(repo_id, downloads=1)
            conn.send(len(changed))
        elif command == "requests":
            conn.send(len(hub.requests))
            hub.requests.clear()
        elif command == "stop":
            hub.stop()
            conn.send(True)
            return


def _scratch_database_url(name: str) -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ladder")
    parts = urlsplit(base)
    if not parts.scheme.startswith("postgres"):
        raise SystemExit("DATABASE_URL must point at PostgreSQL")
    import psycopg

    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return urlunsplit(parts._replace(path=f"/{name}"))


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--scratch-db", default=SCRATCH_DB, help="database to drop and create (a plain name)")
    args = parser.parse_args()
    if not args.scratch_db.isidentifier():
        parser.error("--scratch-db must be a plain name (letters, digits, underscores)")

    os.environ["DATABASE_URL"] = _scratch_database_url(args.scratch_db)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    import logging

    logging.getLogger("httpx2").setLevel(logging.WARNING)
    logging.getLogger("registry").setLevel(logging.ERROR)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from registry import hub
    from registry.models import LanguageModel, SyncRun
    from registry.services.hub_sync import sync_hub

    call_command("migrate", verbosity=0)
    parent, child = mp.Pipe()
    process = mp.get_context("spawn").Process(target=_fake_hub_process, args=(args.models, child), daemon=True)
    process.start()
    settings.HF_ENDPOINT = parent.recv()

    def timed(fn):
        counter = QueryCounter()
        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            result = fn()
        return time.perf_counter() - started, counter.count, result

    results: dict[str, list[tuple[float, int, int]]] = {}

    def record(name: str, seconds: float, queries: int, models: int) -> None:
        results.setdefault(name, []).append((seconds, queries, models))

    for run in range(args.runs):
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE registry_languagemodel_languages, registry_languagemodel, registry_syncrun, "
                "registry_organization, registry_license, registry_language RESTART IDENTITY CASCADE"
            )
        parent.send(("requests", None))
        parent.recv()

        seconds, _, listed = timed(lambda: sum(1 for _ in hub.hub_list_models()))
        record("Hub only: list every page", seconds, 0, listed)

        def list_and_configs() -> int:
            from concurrent.futures import ThreadPoolExecutor

            models = list(hub.hub_list_models())
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(lambda m: hub.hub_model_config(m.repo_id, revision=m.sha), models))
            return len(models)

        seconds, _, listed = timed(list_and_configs)
        record("Hub only: list + config.json each", seconds, 0, listed)

        def list_configs_and_pull_requests() -> int:
            from concurrent.futures import ThreadPoolExecutor

            def fetch(model) -> None:
                hub.hub_model_config(model.repo_id, revision=model.sha)
                hub.hub_model_pull_requests(model.repo_id)

            models = list(hub.hub_list_models())
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(fetch, models))
            return len(models)

        seconds, _, listed = timed(list_configs_and_pull_requests)
        record("Hub only: list + config.json + open PRs each", seconds, 0, listed)

        seconds, queries, first = timed(lambda: sync_hub(limit=None, search="synth-org", trigger="command"))
        assert first.status == SyncRun.Status.SUCCEEDED, first.errors[:3]
        assert LanguageModel.objects.count() == args.models
        record("first sync (empty registry)", seconds, queries, first.seen)

        seconds, queries, again = timed(lambda: sync_hub(search="synth-org", trigger="command"))
        assert again.unchanged == args.models, (again.unchanged, again.updated)
        record("re-sync, nothing changed", seconds, queries, again.seen)

        parent.send(("push", args.changed))
        changed = parent.recv()
        seconds, queries, resync = timed(lambda: sync_hub(search="synth-org", trigger="command"))
        assert resync.updated == changed and resync.unchanged == args.models - changed, (resync.updated, changed)
        record(f"re-sync, {changed} changed ({args.changed:.0%})", seconds, queries, resync.seen)
        seconds_this_run = ", ".join(f"{name}: {rows[-1][0]:.2f}s" for name, rows in results.items())
        print(f"run {run + 1}/{args.runs} done ({seconds_this_run})", file=sys.stderr, flush=True)

    parent.send(("stop", None))
    parent.recv()
    print(
        f"Hub sync benchmark: {args.models} synthetic models, fake Hub in its own process, PostgreSQL {args.scratch_db}"
    )
    print(f"median of {args.runs} runs\n")
    print(f"{'phase':42} {'seconds':>8} {'models/s':>9} {'queries':>8} {'queries/model':>14}")
    for name, rows in results.items():
        seconds = statistics.median(r[0] for r in rows)
        queries = int(statistics.median(r[1] for r in rows))
        models = rows[0][2]
        print(f"{name:42} {seconds:8.2f} {models / seconds:9.0f} {queries:8d} {queries / models:14.3f}")
    first = statistics.median(r[0] for r in results["first sync (empty registry)"])
    configs = statistics.median(r[0] for r in results["Hub only: list + config.json each"])
    everything = statistics.median(r[0] for r in results["Hub only: list + config.json + open PRs each"])
    print(
        f"\nfirst sync / Hub-only fetching of the same data: {first / everything:.2f}x (1.0 = limited by the Hub alone)"
    )
    print(f"first sync / Hub-only list + config.json: {first / configs:.2f}x (the PR listings left out)")


if __name__ == "__main__":
    main()
