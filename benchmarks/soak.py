"""Soak test: the whole service under load while workers are SIGKILLed; nothing may be lost or doubled.

Starts, against PostgreSQL and Redis on 127.0.0.1 (scratch database `ladder_soak`, Redis db 9):
gunicorn (web), a default-queue worker (syncs, dispatch, reaper), an `evals` worker, and beat, plus
two local fakes: tests/hubfake (the Hub) and tests/evals/fakeopenai (an OpenAI-compatible model).
For --duration seconds it
- submits partial evaluations through the REST API with a token (openai backend, one benchmark,
  a small --limit, so each run is a few batches of real HTTP scoring),
- asks for Hub syncs through the API as staff,
- reads pages and API endpoints like a browsing user,
- SIGKILLs one of the two workers (its whole process group) at random intervals and restarts it.
Then it stops the chaos and lets the queue drain (bounded by --drain), and prints:
requests served, error rate, submissions made vs runs finished, items lost (must be 0) and items
duplicated (must be 0), syncs requested vs finished. Exit status 1 when anything was lost, doubled
or left unfinished.

    .venv/bin/python benchmarks/soak.py                      # 3 minutes
    .venv/bin/python benchmarks/soak.py --duration 60 --json # shorter, machine-readable summary

Everything it sends goes to 127.0.0.1; every loop is bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable
BIN = Path(PY).parent

SOAK_MODELS = 4  # closed models behind the fake OpenAI endpoint, acme/soak-0 ... acme/soak-3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stats:
    requests: int = 0
    errors: int = 0
    by_status: Counter = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    submissions: list[int] = field(default_factory=list)
    submit_refused: Counter = field(default_factory=Counter)
    syncs: list[int] = field(default_factory=list)
    kills: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, status: int, what: str) -> None:
        with self.lock:
            self.requests += 1
            self.by_status[status] += 1
            if status == 0 or status >= 500:
                self.errors += 1
                if len(self.error_samples) < 10:
                    self.error_samples.append(f"{status} {what}")


class Http:
    """A tiny client for the web process; counts every request in Stats."""

    def __init__(self, base: str, stats: Stats) -> None:
        self.base = base
        self.stats = stats

    def call(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Token {token}")
        status, payload = 0, {}
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status = response.status
                raw = response.read()
        except urllib.error.HTTPError as exc:
            status = exc.code
            raw = exc.read()
        except OSError as exc:
            self.stats.record(0, f"{method} {path}: {exc}")
            return 0, {}
        self.stats.record(status, f"{method} {path}")
        if raw[:1] in (b"{", b"["):
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = {}
        return status, payload


class Stack:
    """The service's processes; workers can be killed and restarted by name."""

    def __init__(self, env: dict[str, str], port: int, logdir: Path) -> None:
        self.env = env
        self.port = port
        self.logdir = logdir
        self.procs: dict[str, subprocess.Popen] = {}
        self.commands = {
            "web": [str(BIN / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
            + ["--timeout", "60", "--access-logfile", "/dev/null"],
            "worker-default": [PY, "-m", "celery", "-A", "config", "worker", "-Q", "celery", "--concurrency=1"]
            + ["--hostname=soak-default@%h", "-l", "WARNING"],
            "worker-evals": [PY, "-m", "celery", "-A", "config", "worker", "-Q", "evals", "--concurrency=1"]
            + ["--prefetch-multiplier=1", "--hostname=soak-evals@%h", "-l", "WARNING"],
            "beat": [PY, "-m", "celery", "-A", "config", "beat", "-l", "WARNING", "-s", str(logdir / "beat-schedule")],
        }

    def start(self, name: str) -> None:
        log = open(self.logdir / f"{name}.log", "ab")  # closed with the process
        self.procs[name] = subprocess.Popen(
            self.commands[name], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def kill(self, name: str) -> None:
        """SIGKILL the process and its children (the prefork pool): what a lost host looks like."""
        proc = self.procs[name]
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # the main process: a warm shutdown of its pool
        deadline = time.monotonic() + 30
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)


def reset_stores(db_name: str, redis_db: int) -> None:
    import psycopg
    import redis

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db_name}"')
    redis.Redis(host="127.0.0.1", port=6379, db=redis_db).flushdb()


def prepare_database(env: dict[str, str], openai_url: str) -> tuple[str, str]:
    """Migrate, load the catalog, add the soak's closed models and two API users; their tokens."""
    subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([PY, "manage.py", "load_catalog"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    script = f"""
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from registry.models import LanguageModel, License, Organization
org, _ = Organization.objects.get_or_create(slug="acme", defaults={{"name": "Acme"}})
lic, _ = License.objects.get_or_create(key="proprietary", defaults={{"name": "Proprietary"}})
for i in range({SOAK_MODELS}):
    LanguageModel.objects.update_or_create(repo_id=f"acme/soak-{{i}}", defaults=dict(
        name=f"soak-{{i}}", organization=org, weights="closed", license=lic, parameters=None,
        endpoint_base_url={openai_url!r}, endpoint_model_name=f"fake-chat-{{i}}", pipeline_tag="text-generation"))
user = User.objects.create_user("soak-user", password=None)
staff = User.objects.create_user("soak-staff", password=None, is_staff=True)
print(Token.objects.create(user=user).key, Token.objects.create(user=staff).key)
"""
    out = subprocess.run(
        [PY, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    user_token, staff_token = out.stdout.split()[-2:]
    return user_token, staff_token


def wait_ready(http: Http, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(http.base + "/readyz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("soak: the web process never became ready (see the logs)")


def account(env: dict[str, str], submissions: list[int], syncs: list[int]) -> dict:
    """Read the outcome from the database: runs by status, items lost and duplicated, syncs."""
    script = f"""
import json
from django.db.models import Count
from evals.models import EvalRun, ItemResult
from registry.models import SyncRun
ids = {submissions!r}
runs = {{r.pk: r for r in EvalRun.objects.filter(pk__in=ids)}}
status = {{}}
lost = duplicated = expected_total = stored_total = 0
for pk in ids:
    run = runs.get(pk)
    if run is None:
        status["missing"] = status.get("missing", 0) + 1
        continue
    status[run.status] = status.get(run.status, 0) + 1
    if run.status != "succeeded":
        continue
    rows = ItemResult.objects.filter(run=run)
    distinct = rows.values("benchmark", "position").distinct().count()
    expected = (run.limit or 0) * len(run.benchmarks)
    expected_total += expected
    stored_total += rows.count()
    lost += max(0, expected - distinct)
    duplicated += rows.count() - distinct
doubled_positions = (ItemResult.objects.filter(run_id__in=ids).values("run", "benchmark", "position")
                     .annotate(n=Count("id")).filter(n__gt=1).count())
sync_status = {{}}
for run in SyncRun.objects.filter(pk__in={syncs!r}):
    sync_status[run.status] = sync_status.get(run.status, 0) + 1
print(json.dumps({{"runs": status, "items_expected": expected_total, "items_stored": stored_total,
                  "items_lost": lost, "items_duplicated": duplicated + doubled_positions,
                  "attempts_max": max([r.attempts for r in runs.values()] or [0]),
                  "runs_resumed": sum(1 for r in runs.values() if r.attempts > 1),
                  "syncs": sync_status}}))
"""
    out = subprocess.run(
        [PY, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=180, help="seconds of load and chaos (default 180)")
    parser.add_argument("--drain", type=float, default=300, help="seconds at most to let the queue drain (300)")
    parser.add_argument("--limit", type=int, default=8, help="items per evaluation (default 8)")
    parser.add_argument("--submit-every", type=float, default=6.0, help="seconds between submissions (6)")
    parser.add_argument("--sync-every", type=float, default=30.0, help="seconds between sync requests (30)")
    parser.add_argument("--kill-every", type=float, nargs=2, default=(20.0, 40.0), help="kill interval range (s)")
    parser.add_argument("--readers", type=int, default=2, help="browsing threads (default 2)")
    parser.add_argument("--model-delay", type=float, default=0.08, help="seconds the fake model takes a request")
    parser.add_argument("--db", default="ladder_soak")
    parser.add_argument("--redis-db", type=int, default=9)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    from tests.evals.fakeopenai import FakeOpenAI
    from tests.hubfake import FakeHub, fixture_models, synthetic_models

    logdir = ROOT / "var" / "soak"
    logdir.mkdir(parents=True, exist_ok=True)
    for old in logdir.glob("*.log"):
        old.unlink()
    reset_stores(args.db, args.redis_db)
    stats = Stats()
    hub = FakeHub(fixture_models() + synthetic_models(300, orgs=6), page_size=50)
    model_server = FakeOpenAI(mode="good", delay=args.model_delay)
    hub.start()
    model_server.start()
    # A killed worker drops its connections mid-request: expected here, not worth a traceback.
    for server in (hub._server, model_server._server):
        if server is not None:
            server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))},
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.db}",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
        "CACHE_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "HF_ENDPOINT": hub.url,
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "LADDER_SUBMISSION_RATE": "100000/hour",
        "LADDER_ANON_RATE": "1000000/hour",
        # A killed evaluation is requeued by the reaper once its heartbeat is this old.
        "LADDER_EVAL_HEARTBEAT_TIMEOUT": "15",
        "LADDER_OPENAI_TIMEOUT": "10",
        "LADDER_OPENAI_BACKOFF": "0.1",
        # The fake model server listens on 127.0.0.1, an internal address the endpoint rules refuse by default.
        "LADDER_ENDPOINT_ALLOW_PRIVATE": "1",
        "LADDER_DATA_DIR": os.environ.get("LADDER_DATA_DIR", str(ROOT.parent / "shared" / "benchmarks")),
        "LADDER_HUB_BACKOFF": "0.1",
    }
    stack = Stack(env, port, logdir)
    http = Http(f"http://127.0.0.1:{port}", stats)
    stop = threading.Event()
    try:
        user_token, staff_token = prepare_database(env, model_server.base_url)
        for name in ("web", "worker-default", "worker-evals", "beat"):
            stack.start(name)
        wait_ready(http, 60)
        started = time.monotonic()
        print(f"soak: stack up on 127.0.0.1:{port}; {args.duration:.0f}s of load and worker kills", flush=True)

        def submitter() -> None:
            n = 0
            while not stop.wait(args.submit_every * rng.uniform(0.5, 1.5)):
                body = {
                    "model": f"acme/soak-{n % SOAK_MODELS}",
                    "suite": "quick",
                    "backend": "openai",
                    "benchmarks": ["arc_easy"],
                    "limit": args.limit,
                }
                n += 1
                status, payload = http.call("POST", "/api/v1/evaluations/", body, token=user_token)
                if status == 202 and "id" in payload:
                    with stats.lock:
                        stats.submissions.append(payload["id"])
                else:
                    with stats.lock:
                        stats.submit_refused[status] += 1

        def syncer() -> None:
            authors = [f"synth-org-{i:03d}" for i in range(6)] + ["Qwen", "meta-llama", "HuggingFaceTB"]
            i = 0
            while not stop.wait(args.sync_every):
                body = {"authors": [authors[i % len(authors)]], "limit": 100}
                i += 1
                status, payload = http.call("POST", "/api/v1/syncs/", body, token=staff_token)
                if status == 202 and "id" in payload:
                    with stats.lock:
                        stats.syncs.append(payload["id"])

        def reader() -> None:
            paths = ["/", "/models/", "/queue/", "/api/v1/models/?per_page=20", "/api/v1/leaderboard/?suite=quick"]
            paths += [
                "/api/v1/evaluations/",
                "/healthz",
                "/benchmarks/",
                "/models/HuggingFaceTB/SmolLM2-135M-Instruct/",
            ]
            local = random.Random(rng.random())
            while not stop.wait(local.uniform(0.2, 0.6)):
                path = local.choice(paths)
                with stats.lock:
                    mine = list(stats.submissions[-5:])
                if mine and local.random() < 0.3:
                    path = f"/api/v1/evaluations/{local.choice(mine)}/"
                http.call("GET", path)

        threads = [threading.Thread(target=submitter), threading.Thread(target=syncer)]
        threads += [threading.Thread(target=reader) for _ in range(args.readers)]
        for thread in threads:
            thread.start()
        end = started + args.duration
        next_kill = time.monotonic() + rng.uniform(*args.kill_every)
        while time.monotonic() < end:
            time.sleep(0.5)
            if time.monotonic() >= next_kill:
                victim = rng.choice(["worker-evals", "worker-evals", "worker-default"])
                stack.kill(victim)
                stats.kills.append(victim)
                print(f"soak: SIGKILL {victim} at {time.monotonic() - started:.0f}s; restarting it", flush=True)
                time.sleep(rng.uniform(1, 5))
                stack.start(victim)
                next_kill = time.monotonic() + rng.uniform(*args.kill_every)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        print(f"soak: load stopped; draining the queue (at most {args.drain:.0f}s)", flush=True)
        drain_end = time.monotonic() + args.drain
        outcome = account(env, stats.submissions, stats.syncs)
        while time.monotonic() < drain_end:
            active = outcome["runs"].get("queued", 0) + outcome["runs"].get("running", 0)
            syncing = outcome["syncs"].get("running", 0)
            if not active and not syncing:
                break
            time.sleep(5)
            outcome = account(env, stats.submissions, stats.syncs)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        stack.stop()
        hub.stop()
        model_server.stop()

    finished = outcome["runs"].get("succeeded", 0)
    unfinished = sum(v for k, v in outcome["runs"].items() if k != "succeeded")
    summary = {
        "seconds": round(elapsed, 1),
        "requests_served": stats.requests,
        "errors": stats.errors,
        "error_rate": round(stats.errors / stats.requests, 5) if stats.requests else 0.0,
        "status_counts": dict(sorted(stats.by_status.items())),
        "submissions_made": len(stats.submissions),
        "submissions_refused": dict(stats.submit_refused),
        "runs_finished": finished,
        "runs_by_status": outcome["runs"],
        "items_expected": outcome["items_expected"],
        "items_stored": outcome["items_stored"],
        "items_lost": outcome["items_lost"],
        "items_duplicated": outcome["items_duplicated"],
        "max_attempts_of_a_run": outcome["attempts_max"],
        "runs_resumed_after_a_kill": outcome["runs_resumed"],
        "syncs_requested": len(stats.syncs),
        "syncs_by_status": outcome["syncs"],
        "workers_killed": dict(Counter(stats.kills)),
        "error_samples": stats.error_samples,
        "logs": str(logdir),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"soak: {summary['seconds']}s, workers SIGKILLed: {summary['workers_killed']}")
        print(f"requests served: {stats.requests}, errors: {stats.errors}, error rate: {summary['error_rate']:.3%}")
        print(f"submissions made: {len(stats.submissions)}, runs finished: {finished} ({outcome['runs']})")
        print(
            f"items lost: {outcome['items_lost']}, items duplicated: {outcome['items_duplicated']} "
            f"(stored {outcome['items_stored']} of {outcome['items_expected']} expected; "
            f"runs resumed after a kill: {outcome['runs_resumed']}, most attempts: {outcome['attempts_max']})"
        )
        print(f"syncs requested: {len(stats.syncs)}, by status: {outcome['syncs']}")
        if stats.error_samples:
            print("error samples:", *stats.error_samples, sep="\n  ")
    ok = outcome["items_lost"] == 0 and outcome["items_duplicated"] == 0 and unfinished == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
