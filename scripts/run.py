"""`make run`: migrate, load the catalog, then serve web + Celery worker + beat until Ctrl-C.

Uses whatever the environment says (DATABASE_URL, CELERY_BROKER_URL); with nothing set that is the
embedded default: SQLite under var/, and Redis on 127.0.0.1:6379 if it answers, else kombu's
filesystem transport under var/.
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


def main() -> int:
    os.chdir(ROOT)
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    env.setdefault("DEBUG", "1")
    env.setdefault("LADDER_DATA_DIR", str(ROOT.parent / "shared" / "benchmarks"))
    (ROOT / "var").mkdir(exist_ok=True)
    subprocess.run([PY, "manage.py", "migrate", "--noinput"], check=True, env=env)
    subprocess.run([PY, "manage.py", "load_catalog"], check=True, env=env)
    host = env.get("LADDER_HOST", "127.0.0.1:8000")
    procs = [
        subprocess.Popen([PY, "manage.py", "runserver", host, "--noreload"], env=env),
        subprocess.Popen(
            [PY, "-m", "celery", "-A", "config", "worker", "-Q", "celery,evals", "--pool", "solo", "-l", "INFO"],
            env=env,
        ),
        subprocess.Popen(
            [PY, "-m", "celery", "-A", "config", "beat", "-l", "INFO", "-s", str(ROOT / "var" / "celerybeat-schedule")],
            env=env,
        ),
    ]
    print(f"LLM Ladder: http://{host}/  (Ctrl-C stops web, worker and beat)", flush=True)

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
