"""Leaderboard latency under concurrent load, at scale: 100,000 models, 1,000,000 benchmark results.

What it does (bounded in time and requests):
1. Creates a scratch PostgreSQL database (default `ladder_load`, dropped and re-created), migrates it,
   and fills it in SQL (INSERT ... SELECT generate_series): 1,000 organizations, 100,000 models
   (10% closed, sizes 100M..160B log-uniform, English for all and Chinese for a third), 99,500
   complete runs of the `quick` suite (10 benchmarks each) and 500 partial runs (limit 10), i.e.
   1,000,000 BenchmarkResult rows with values and standard errors.
2. Starts gunicorn on 127.0.0.1 (config.wsgi, DEBUG off, 2 sync workers: the machine has 2 cores)
   against the scratch database.
3. Loads the leaderboard page (/) and the API (/api/v1/leaderboard/) from a thread pool of
   keep-alive HTTP clients, and prints p50/p99 latency per scenario:
   - cached: a fixed set of boards and filters, after warm-up (the cached path);
   - varied: every request a different page or search (board cached, page body not);
   - no cache: LADDER_LEADERBOARD_CACHE_TTL=0, every request computes the board from the 1,000,000
     rows (a few requests only: each takes seconds).
The client runs on the same 2 cores as the server and PostgreSQL, so figures include its overhead.

Run:  .venv/bin/python benchmarks/leaderboard_load.py [--keep] [--duration 15] [--concurrency 8]
      (PostgreSQL at 127.0.0.1:5432 as user postgres; takes a few minutes, mostly the data load.)
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
BENCHES = [
    ("arc_easy", "acc", 0.25),
    ("arc_challenge", "acc_norm", 0.25),
    ("hellaswag", "acc_norm", 0.25),
    ("mmlu", "acc", 0.25),
    ("truthfulqa_mc1", "acc", 0.2275),
    ("truthfulqa_mc2", "acc", 0.2531),
    ("winogrande", "acc", 0.5),
    ("gsm8k", "exact_match", 0.0),
    ("ceval", "acc", 0.25),
    ("cmmlu", "acc", 0.25),
]
N_MODELS = 100_000
N_PARTIAL = 500


def scale(models: int) -> None:
    global N_MODELS, N_PARTIAL
    N_MODELS, N_PARTIAL = models, max(1, models // 200)


def admin_dsn() -> str:
    return "postgresql://postgres@127.0.0.1:5432/postgres"


def db_url(name: str) -> str:
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def create_database(name: str) -> None:
    with psycopg.connect(admin_dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": db_url(name), "DJANGO_SETTINGS_MODULE": "config.settings.base"}
    subprocess.run([PY, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)


def fill_defaults(conn: psycopg.Connection, table: str, given: dict[str, str]) -> tuple[str, str]:
    """Column list and SELECT expressions: `given` plus a neutral value for other NOT NULL columns."""
    rows = conn.execute(
        "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns "
        "WHERE table_name = %s ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    columns, values = [], []
    for name, data_type, nullable, default in rows:
        if name in given:
            columns.append(name)
            values.append(given[name])
        elif nullable == "NO" and default is None and name != "id":
            neutral = {
                "boolean": "false",
                "integer": "0",
                "bigint": "0",
                "smallint": "0",
                "double precision": "0",
                "jsonb": "'[]'::jsonb" if name in ("tags", "benchmarks", "errors") else "'{}'::jsonb",
                "timestamp with time zone": "now()",
                "date": "current_date",
            }.get(data_type, "''")
            columns.append(name)
            values.append(neutral)
    return ", ".join(f'"{c}"' for c in columns), ", ".join(values)


def load_data(name: str) -> None:
    started = time.monotonic()
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}") as conn:
        cols, vals = fill_defaults(
            conn, "registry_organization", {"slug": "'org' || g", "name": "'Org ' || g", "url": "''"}
        )
        conn.execute(f"INSERT INTO registry_organization ({cols}) SELECT {vals} FROM generate_series(0, 999) g")
        conn.execute(
            "INSERT INTO registry_license (key, name, family, osi_approved, commercial_use, url) VALUES "
            "('apache-2.0', 'Apache 2.0', 'apache', true, 'yes', ''), ('mit', 'MIT', 'mit', true, 'yes', ''), "
            "('llama2', 'Llama 2', 'llama', false, 'restricted', ''), "
            "('cc-by-nc-4.0', 'CC BY-NC 4.0', 'cc-by-nc', false, 'no', ''), "
            "('proprietary', 'Proprietary', 'proprietary', false, 'restricted', '')"
        )
        conn.execute("INSERT INTO registry_language (code, name) VALUES ('en', 'English'), ('zh', 'Chinese')")
        org0 = _scalar(conn, "SELECT min(id) FROM registry_organization")
        lic0 = _scalar(conn, "SELECT min(id) FROM registry_license")
        cols, vals = fill_defaults(
            conn,
            "registry_languagemodel",
            {
                "repo_id": "'org' || (g % 1000) || '/model-' || g",
                "name": "'model-' || g",
                "organization_id": f"{org0} + g % 1000",
                "weights": "CASE WHEN g % 10 = 0 THEN 'closed' ELSE 'open' END",
                "parameters": "(power(10, 8 + random() * 3.2))::bigint",
                "license_id": f"{lic0} + g % 5",
                "modality": "'text'",
                "tags": "'[]'::jsonb",
                "sources": "'{}'::jsonb",
                "in_catalog": "false",
                "on_hub": "true",
            },
        )
        conn.execute(f"INSERT INTO registry_languagemodel ({cols}) SELECT {vals} FROM generate_series(1, {N_MODELS}) g")
        conn.execute(
            "INSERT INTO registry_languagemodel_languages (languagemodel_id, language_id) "
            "SELECT id, 'en' FROM registry_languagemodel UNION ALL "
            "SELECT id, 'zh' FROM registry_languagemodel WHERE id % 3 = 0"
        )
        log(f"  models: {N_MODELS} ({time.monotonic() - started:.0f} s)")
        benches_json = "[" + ", ".join(f'"{b}"' for b, _m, _r in BENCHES) + "]"
        settings_json = '{"n_shot": {}, "seed": 1234, "sample_size": 100}'
        for partial in (False, True):
            where = f"m.id % {N_MODELS // N_PARTIAL} {'=' if partial else '<>'} 0"
            cols, vals = fill_defaults(
                conn,
                "evals_evalrun",
                {
                    "model_id": "m.id",
                    "revision": "'main'",
                    "revision_sha": "md5(m.id::text)",
                    "suite": "'quick'",
                    "benchmarks": f"'{benches_json}'::jsonb",
                    "backend": "'transformers'",
                    "dtype": "'auto'",
                    "device": "'cpu'",
                    "batch_size": "8",
                    "limit": "10" if partial else "NULL",
                    "is_partial": "true" if partial else "false",
                    "settings": f"'{settings_json}'::jsonb",
                    "engine_version": "'0.1.0'",
                    "status": "'succeeded'",
                    "method": "'loglikelihood'",
                    "provenance": "'measured'",
                    "progress_done": "1000",
                    "progress_total": "1000",
                    "attempts": "1",
                    "cancel_requested": "false",
                    "created_at": "now() - interval '2 days'",
                    "finished_at": "now() - random() * interval '1 day'",
                },
            )
            conn.execute(
                f"INSERT INTO evals_evalrun ({cols}) SELECT {vals} FROM registry_languagemodel m WHERE {where}"
            )
        values = ", ".join(f"('{b}', '{m}', {r})" for b, m, r in BENCHES)
        # A per-model skill in 0..1 growing with log(size), plus per-benchmark noise.
        value_sql = (
            "LEAST(0.99, GREATEST(0.0, b.r + (1 - b.r) * "
            "(0.15 + 0.12 * (ln(m.parameters::float) / ln(10) - 8) + 0.1 * random())))"
        )
        cols, vals = fill_defaults(
            conn,
            "evals_benchmarkresult",
            {
                "run_id": "s.id",
                "benchmark": "s.bench",
                "metrics": "jsonb_build_object(s.metric, s.v)",
                "primary_metric": "s.metric",
                "value": "s.v",
                "stderr": "sqrt(s.v * (1 - s.v) / (s.n - 1))",
                "n": "s.n",
                "method": "'loglikelihood'",
                "n_shot": "0",
                "created_at": "now()",
            },
        )
        conn.execute(
            f"INSERT INTO evals_benchmarkresult ({cols}) SELECT {vals} FROM ("
            f"  SELECT r.id, b.bench, b.metric, {value_sql} AS v, CASE WHEN r.is_partial THEN 10 ELSE 100 END AS n"
            f"  FROM evals_evalrun r JOIN registry_languagemodel m ON m.id = r.model_id"
            f"  CROSS JOIN (VALUES {values}) AS b(bench, metric, r)"
            f") s"
        )
        conn.commit()
        counts = (
            _scalar(conn, "SELECT count(*) FROM registry_languagemodel"),
            _scalar(conn, "SELECT count(*) FROM evals_benchmarkresult"),
        )
        conn.execute("ANALYZE")
        conn.commit()
    log(f"  loaded {counts[0]} models and {counts[1]} benchmark results in {time.monotonic() - started:.0f} s")


class Server:
    def __init__(
        self, name: str, port: int, *, cache_ttl: int, workers: int, snapshot_dir: str = "", row_memo: int | None = None
    ) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": db_url(name),
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "DEBUG": "false",
            "SECRET_KEY": "leaderboard-load-benchmark-not-a-secret-0123456789",
            "LADDER_LEADERBOARD_CACHE_TTL": str(cache_ttl),
            # One client address sends thousands of requests: lift the anonymous API throttle
            # (1000/hour by default) so the figures measure the leaderboard, not 429 answers.
            "LADDER_ANON_RATE": "1000000/second",
            "LOG_LEVEL": "WARNING",
            "DB_CONN_MAX_AGE": "60",
            "LADDER_LEADERBOARD_SNAPSHOT_DIR": snapshot_dir,
        }
        if row_memo is not None:
            env["LADDER_LEADERBOARD_ROW_MEMO"] = str(row_memo)
        self.port = port
        self.process = subprocess.Popen(
            [
                str(Path(PY).with_name("gunicorn")),
                "config.wsgi",
                "-b",
                f"127.0.0.1:{port}",
                "-w",
                str(workers),
                "--timeout",
                "300",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("gunicorn did not answer within 60 s")

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)


def _scalar(conn: Any, sql: str) -> Any:
    """The first column of the query's first row."""
    row = conn.execute(sql).fetchone()
    assert row is not None, sql
    return row[0]


def fetch(conn: http.client.HTTPConnection, path: str) -> tuple[int, float]:
    started = time.perf_counter()
    conn.request("GET", path, headers={"Accept-Language": "en"})
    response = conn.getresponse()
    response.read()
    return response.status, time.perf_counter() - started


def run_load(
    port: int, paths: list[str] | None, *, duration: float, concurrency: int, max_requests: int, varied: bool = False
) -> dict[str, list[float]]:
    """Requests from `concurrency` threads until `duration` s or `max_requests`; latencies by kind."""
    lock = threading.Lock()
    out: dict[str, list[float]] = {"page": [], "api": []}
    errors: list[str] = []
    sent = [0]
    deadline = time.monotonic() + duration
    rng = random.Random(time.time_ns())  # a new sequence per scenario: varied requests must miss the caches

    def next_path() -> str:
        if not varied:
            return rng.choice(paths or ["/"])
        kind = rng.random()
        if kind < 0.25:
            return f"/api/v1/leaderboard/?page={rng.randint(1, 995)}"
        if kind < 0.5:
            return f"/?page={rng.randint(1, 995)}"
        if kind < 0.75:
            return f"/api/v1/leaderboard/?search=model-{rng.randint(1, 99_999)}"
        return f"/?weights=open&min_params={rng.randint(1, 60)}B&max_params={rng.randint(61, 160)}B"

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        while time.monotonic() < deadline:
            with lock:
                if sent[0] >= max_requests:
                    return
                sent[0] += 1
                path = next_path()
            try:
                status, elapsed = fetch(conn, path)
            except (OSError, http.client.HTTPException) as exc:
                errors.append(f"{path}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
                continue
            if status != 200:
                errors.append(f"{path}: HTTP {status}")
            with lock:
                out["api" if path.startswith("/api/") else "page"].append(elapsed)

    with ThreadPoolExecutor(concurrency) as pool:
        for _ in range(concurrency):
            pool.submit(worker)
    if errors:
        log(f"  {len(errors)} errors, first: {errors[0]}")
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def report(title: str, latencies: dict[str, list[float]], seconds: float) -> None:
    total = sum(len(v) for v in latencies.values())
    print(f"\n{title}: {total} requests in {seconds:.1f} s ({total / seconds:.1f} req/s)")
    for kind, values in latencies.items():
        if values:
            print(
                f"  {kind:4}  n={len(values):5}  p50={percentile(values, 50) * 1000:8.1f} ms  "
                f"p99={percentile(values, 99) * 1000:8.1f} ms  max={max(values) * 1000:8.1f} ms  "
                f"mean={statistics.mean(values) * 1000:8.1f} ms"
            )


CACHED_PATHS = [
    "/",
    "/?board=zh",
    "/?weights=open&size=consumer",
    "/?score=normalized&ordering=-mmlu",
    "/api/v1/leaderboard/",
    "/api/v1/leaderboard/?board=en&page=3",
    "/api/v1/leaderboard/?language=zh&weights=open",
    "/api/v1/leaderboard/?commercial=true&per_page=50",
]


def warm(port: int, paths: list[str], workers: int) -> None:
    """Hit every path until each worker answers it from cache (bounded to 5 minutes)."""
    deadline = time.monotonic() + 300
    for path in paths:
        fast = 0
        while fast < 3 * workers and time.monotonic() < deadline:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            _status, elapsed = fetch(conn, path)
            conn.close()
            fast = fast + 1 if elapsed < 0.25 else 0


ORDERINGS = ["rank", "-rank", "average", "-average", "name", "-name", "parameters", "-parameters", "-mmlu", "arc_easy"]


def varied_board_path(rng: random.Random) -> str:
    """A request nobody asked before: random filters, ordering, score, board and page."""
    query: dict[str, str] = {}
    if rng.random() < 0.5:
        query["weights"] = rng.choice(["open", "closed"])
    if rng.random() < 0.3:
        query["language"] = "zh"
    if rng.random() < 0.3:
        query["size"] = rng.choice(["edge", "consumer", "mid", "large"])
    elif rng.random() < 0.3:
        query["min_params"] = f"{rng.randint(1, 30)}B"
        query["max_params"] = f"{rng.randint(31, 160)}B"
    if rng.random() < 0.2:
        query["commercial"] = "true"
    if rng.random() < 0.15:
        query["organization"] = f"org{rng.randint(0, 999)}"
    if rng.random() < 0.15:
        query["search"] = f"model-{rng.randint(1, 9999)}"
    query["ordering"] = rng.choice(ORDERINGS)
    query["score"] = rng.choice(["raw", "normalized"])
    if rng.random() < 0.3 and query["ordering"].lstrip("-") not in ("mmlu", "arc_easy"):
        query["board"] = rng.choice(["en", "zh"])
    query["page"] = str(rng.randint(1, 20))
    query["per_page"] = "50"
    prefix = "/api/v1/leaderboard/" if rng.random() < 0.5 else "/"
    return prefix + "?" + "&".join(f"{k}={v}" for k, v in query.items())


def run_varied_board(port: int, *, duration: float, concurrency: int) -> dict[str, list[float]]:
    lock = threading.Lock()
    out: dict[str, list[float]] = {"page": [], "api": []}
    errors: list[str] = []
    deadline = time.monotonic() + duration
    rng = random.Random(time.time_ns())

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        while time.monotonic() < deadline:
            with lock:
                path = varied_board_path(rng)
            try:
                status, elapsed = fetch(conn, path)
            except (OSError, http.client.HTTPException) as exc:
                errors.append(f"{path}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
                continue
            if status != 200:
                errors.append(f"{path}: HTTP {status}")
            with lock:
                out["api" if path.startswith("/api/") else "page"].append(elapsed)

    with ThreadPoolExecutor(concurrency) as pool:
        for _ in range(concurrency):
            pool.submit(worker)
    if errors:
        log(f"  {len(errors)} errors, first: {errors[0]}")
    return out


def worker_rss_mib(server: Server) -> list[float]:
    """Resident memory of each gunicorn worker (children of the master), MiB."""
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    sizes = []
    for child in children:
        for line in Path(f"/proc/{child}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]) / 1024)
    return sizes


def cpu_seconds(server: Server, db: str) -> dict[str, float]:
    """CPU time (user + system) so far of the gunicorn workers, of the PostgreSQL backends serving `db`, and of
    this process (the load's clients), seconds: their differences around a scenario say where its CPU went."""
    tick = os.sysconf("SC_CLK_TCK")

    def of(pid: str) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone since listed
            return 0.0
        return (int(fields[11]) + int(fields[12])) / tick  # utime, stime

    pid = server.process.pid
    workers = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    postgres = [p.name for p in Path("/proc").iterdir() if p.name.isdigit() and f" {db} " in _cmdline(p)]
    return {
        "gunicorn": sum(of(w) for w in workers),
        "postgres": sum(of(p) for p in postgres),
        "client": time.process_time(),
    }


def _cmdline(proc: Path) -> str:
    """A process's command line; a PostgreSQL backend's names its database ("postgres: 15/main: user db ...")."""
    try:
        return (proc / "cmdline").read_text().replace("\x00", " ")
    except OSError:
        return ""


def cpu_report(before: dict[str, float], after: dict[str, float], requests: int, seconds: float) -> None:
    spent = {name: after[name] - before[name] for name in before}
    per_request = ", ".join(f"{name} {spent[name] / max(1, requests) * 1000:.1f} ms" for name in spent)
    busy = sum(spent.values()) / seconds
    log(f"  CPU per request: {per_request}; {busy:.2f} of the machine's {os.cpu_count()} cores busy with these")


def manage(name: str, *args: str) -> float:
    env = {**os.environ, "DATABASE_URL": db_url(name), "DJANGO_SETTINGS_MODULE": "config.settings.base"}
    started = time.monotonic()
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True)
    return time.monotonic() - started


def visible_after_commit(name: str, port: int, tries: int = 5) -> list[float]:
    """A run finishes (its rows written in its transaction, by the evals hook); ms until the API lists it."""
    os.environ["DATABASE_URL"] = db_url(name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import transaction

    from evals.models import BenchmarkResult, EvalRun
    from evals.selectors.leaderboard.maintain import board_runs_changed
    from registry.models import LanguageModel, Organization

    org = Organization.objects.first()
    template = EvalRun.objects.filter(status="succeeded", is_partial=False).first()
    assert org is not None and template is not None, "the scratch board has models and complete runs"
    results = list(BenchmarkResult.objects.filter(run=template))
    out = []
    for attempt in range(tries):
        repo_id = f"fresh/visible-{time.time_ns()}-{attempt}"
        with transaction.atomic():
            model = LanguageModel.objects.create(repo_id=repo_id, name=repo_id, organization=org, parameters=10**9)
            run = EvalRun.objects.create(
                model=model,
                suite="quick",
                benchmarks=template.benchmarks,
                revision_sha="",
                status="succeeded",
                settings=template.settings,
                engine_version=template.engine_version,
                finished_at=template.finished_at,
            )
            BenchmarkResult.objects.bulk_create(
                [
                    BenchmarkResult(
                        run=run,
                        benchmark=r.benchmark,
                        metrics=r.metrics,
                        primary_metric=r.primary_metric,
                        value=0.99,
                        stderr=0.001,
                        n=r.n,
                        method=r.method,
                        n_shot=r.n_shot,
                    )
                    for r in results
                ]
            )
            board_runs_changed([run.pk])
        committed = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        while time.perf_counter() - committed < 60:
            conn.request("GET", f"/api/v1/leaderboard/?search={repo_id}")
            body = conn.getresponse().read()
            if repo_id.encode() in body:
                break
        out.append((time.perf_counter() - committed) * 1000)
    return out


def board_main(args: argparse.Namespace) -> None:
    """The maintained board: every request a different filter/sort/page, no response cache."""
    if not args.reuse:
        log(f"creating scratch database {args.db}")
        create_database(args.db)
        load_data(args.db)
    # A reused database keeps its rows (rebuilt only when stale); the table read side needs them current.
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{args.db}", autocommit=True) as conn:
        conn.execute("UPDATE evals_boardmeta SET rebuilt_at = now() WHERE version > 0 AND rebuilt_at IS NULL")
    rebuild = ("rebuild_leaderboard", "--if-stale") if args.reuse else ("rebuild_leaderboard",)
    log(f"{' '.join(rebuild)}: {manage(args.db, *rebuild):.0f} s")
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{args.db}", autocommit=True) as conn:
        conn.execute("ANALYZE evals_boardentry")
    snapshots = tempfile.mkdtemp(prefix="ladder-board-")

    def first_requests(label: str) -> None:
        first = {}
        for path in ("/api/v1/leaderboard/", "/"):
            client = http.client.HTTPConnection("127.0.0.1", args.port, timeout=600)
            first[path] = fetch(client, path)[1] * 1000
        log(
            f"  first requests after a restart, {label}: API {first['/api/v1/leaderboard/']:.0f} ms, page {first['/']:.0f} ms"
        )

    log(f"gunicorn: {args.workers} workers, response cache off")
    # Restarted with no saved copy of the board (after a rebuild elsewhere), then restarted again with the
    # copy the first start saved (a deploy or a worker recycled).
    server = Server(args.db, args.port, cache_ttl=0, workers=args.workers, snapshot_dir=snapshots)
    try:
        first_requests("no saved board (reads the table)")
    finally:
        server.stop()
    # The varied load twice: with the row memo off (every shown row read back and rendered), then with it at
    # its default size. Each after a warm-up of the same mix, long enough for every worker to derive each
    # board's orderings (what a process does once per generation).
    for memo, label in ((0, "row memo off"), (None, "row memo on (default size)")):
        server = Server(args.db, args.port, cache_ttl=0, workers=args.workers, snapshot_dir=snapshots, row_memo=memo)
        try:
            first_requests(f"from the saved board, {label}")
            warm_up = run_varied_board(args.port, duration=args.warm_up, concurrency=args.concurrency)
            log(f"  warm-up: {sum(len(v) for v in warm_up.values())} requests in {args.warm_up:.0f} s")
            started, cpu = time.monotonic(), cpu_seconds(server, args.db)
            varied = run_varied_board(args.port, duration=args.duration, concurrency=args.concurrency)
            seconds = time.monotonic() - started
            report(
                f"table read side, {label}, every request a different filter/sort/page, no response cache, "
                f"concurrency {args.concurrency}",
                varied,
                seconds,
            )
            cpu_report(cpu, cpu_seconds(server, args.db), sum(len(v) for v in varied.values()), seconds)
            log(f"  RSS per web worker: {', '.join(f'{m:.0f} MiB' for m in worker_rss_mib(server))}")
            if memo is None:
                visible = visible_after_commit(args.db, args.port)
                log(f"  finished run visible after commit: {', '.join(f'{v:.0f}' for v in visible)} ms")
                log(f"  RSS per web worker after: {', '.join(f'{m:.0f} MiB' for m in worker_rss_mib(server))}")
        finally:
            server.stop()
    shutil.rmtree(snapshots, ignore_errors=True)
    if not args.keep:
        with psycopg.connect(admin_dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
        log(f"dropped {args.db}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="ladder_load")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per loaded scenario")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--warm-up", type=float, default=15.0, help="seconds of load before each --board scenario")
    parser.add_argument("--models", type=int, default=100_000, help="scale (a smaller number for a dry run)")
    parser.add_argument("--reuse", action="store_true", help="reuse the scratch database if already filled")
    parser.add_argument(
        "--skip-nocache", action="store_true", help="skip the (slow) no-cache scenario (not used with --board)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    parser.add_argument(
        "--board", action="store_true", help="the maintained board: varied requests, no response cache (see board_main)"
    )
    args = parser.parse_args()
    scale(args.models)
    if args.board:
        board_main(args)
        return

    if not args.reuse:
        log(f"creating scratch database {args.db}")
        create_database(args.db)
        load_data(args.db)

    log(f"gunicorn: {args.workers} workers, cache on")
    server = Server(args.db, args.port, cache_ttl=600, workers=args.workers)
    try:
        started = time.monotonic()
        warm(args.port, CACHED_PATHS, args.workers)
        log(f"  warm-up (each worker computes the boards once) took {time.monotonic() - started:.0f} s")
        started = time.monotonic()
        single = run_load(args.port, CACHED_PATHS, duration=min(args.duration, 8.0), concurrency=1, max_requests=2000)
        report("cached, one client at a time (service time, no queueing)", single, time.monotonic() - started)
        started = time.monotonic()
        cached = run_load(
            args.port, CACHED_PATHS, duration=args.duration, concurrency=args.concurrency, max_requests=100_000
        )
        report(f"cached (fixed boards/filters, concurrency {args.concurrency})", cached, time.monotonic() - started)
        started = time.monotonic()
        varied_one = run_load(
            args.port, None, duration=min(args.duration, 10.0), concurrency=1, max_requests=2000, varied=True
        )
        report(
            "varied, one client at a time (service time of an uncached page/search)",
            varied_one,
            time.monotonic() - started,
        )
        started = time.monotonic()
        varied = run_load(
            args.port, None, duration=args.duration, concurrency=args.concurrency, max_requests=20_000, varied=True
        )
        report(
            f"varied (board cached; each request a new page/search/size range, concurrency {args.concurrency})",
            varied,
            time.monotonic() - started,
        )
    finally:
        server.stop()

    if not args.skip_nocache:
        log("gunicorn: cache off (LADDER_LEADERBOARD_CACHE_TTL=0)")
        server = Server(args.db, args.port, cache_ttl=0, workers=args.workers)
        try:
            started = time.monotonic()
            nocache = run_load(
                args.port,
                ["/", "/api/v1/leaderboard/"],
                duration=max(args.duration, 60.0),
                concurrency=2,
                max_requests=12,
            )
            report(
                "no cache (every request computes the board from 1,000,000 results, concurrency 2)",
                nocache,
                time.monotonic() - started,
            )
        finally:
            server.stop()
    if not args.keep:
        with psycopg.connect(admin_dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
        log(f"dropped {args.db}")


if __name__ == "__main__":
    main()
