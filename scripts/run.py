"""`make run`: migrate, load the catalog, then serve web + two Celery workers + beat until Ctrl-C.

Uses whatever the environment says (DATABASE_URL, CELERY_BROKER_URL); with nothing set that is the
embedded default: SQLite under var/, and Redis on 127.0.0.1:6379 (database LADDER_REDIS_DB, 3) if it
answers, else kombu's filesystem transport under var/.

Two workers, as docker-compose has: one for the default queue (dispatcher, reaper, Hub syncs), one for
`evals`. With a single worker for both, periodic tasks would pile up behind an evaluation that runs for an
hour. The web server listens on LADDER_HOST (127.0.0.1:8000).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def process_commands(host: str) -> list[list[str]]:
    """The long-running processes of `make run`: web, a worker per queue, beat."""
    celery = [PY, "-m", "celery", "-A", "config"]
    worker = [*celery, "worker", "-l", "INFO"]
    return [
        [PY, "manage.py", "runserver", host, "--noreload"],
        # Short tasks (dispatcher, reaper, syncs): never behind an evaluation.
        [*worker, "-Q", "celery", "--pool", "threads", "--concurrency", "2", "-n", "default@%h"],
        # Evaluations, one at a time (a model is loaded once per worker process and kept warm).
        [*worker, "-Q", "evals", "--pool", "solo", "--prefetch-multiplier", "1", "-n", "evals@%h"],
        [*celery, "beat", "-l", "INFO", "-s", str(ROOT / "var" / "celerybeat-schedule")],
    ]


def main() -> int:
    os.chdir(ROOT)
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    env.setdefault("DEBUG", "1")
    env.setdefault("LADDER_DATA_DIR", str(ROOT.parent / "shared" / "benchmarks"))
    (ROOT / "var").mkdir(exist_ok=True)
    subprocess.run([PY, "manage.py", "migrate", "--noinput"], check=True, env=env)
    subprocess.run([PY, "manage.py", "load_catalog"], check=True, env=env)
    subprocess.run([PY, "manage.py", "rebuild_leaderboard", "--if-stale"], check=True, env=env)
    host = env.get("LADDER_HOST", "127.0.0.1:8000")
    # One environment for every process here: the web process can tell which key variables the
    # workers have, and refuse at submit time a closed model no worker could run.
    prefix = env.get("LADDER_ENDPOINT_KEY_PREFIX", "LADDER_KEY_") or "LADDER_KEY_"
    env.setdefault("LADDER_WORKER_KEYS", ",".join(sorted(k for k, v in env.items() if k.startswith(prefix) and v)))
    procs = [subprocess.Popen(command, env=env) for command in process_commands(host)]
    print(f"LLM Ladder: http://{host}/  (Ctrl-C stops web, workers and beat)", flush=True)

    def stop(*_: object) -> None:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(proc.poll() is None for proc in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    stop()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    return max((proc.returncode or 0) for proc in procs)


if __name__ == "__main__":
    sys.exit(main())
