"""The newcomer's first hour, timed: from `git clone` to SmolLM2-135M-Instruct ranked on the quick board.

Follows the README's quick start and nothing else:
1. clone   `git clone SOURCE` into a temporary directory (SOURCE: a path or URL; default this repository);
2. install `make install` (bootstraps .venv), or, with --venv PATH, that existing virtualenv is linked in
           as the clone's .venv and not reinstalled (installing takes minutes and needs PyPI; measure it on
           its own with --install);
3. serve   `make run` on its own port (LADDER_HOST) and Redis database (LADDER_REDIS_DB), on the embedded
           default (SQLite under the clone's var/; no DATABASE_URL or CELERY_BROKER_URL), until GET / answers;
4. sign in the README's non-interactive `createsuperuser`, then signing in on /accounts/login/ with it;
5. token   `manage.py drf_create_token admin`, as the README says;
6. submit  POST /api/v1/evaluations/ {"model": "HuggingFaceTB/SmolLM2-135M-Instruct", "suite": "quick"};
7. ranked  polls the run (noting when each benchmark's score appears: the per-benchmark timing of the quick
           suite) and then the quick board until the model's row is ranked;
then it stops `make run` (SIGTERM to its process group) and deletes the clone. It prints the time of each
phase and the total (text, or --json).

    LADDER_DATA_DIR=../shared/benchmarks .venv/bin/python benchmarks/newcomer.py --venv .venv \
        [--port 8765] [--redis-db 12] [--sample-size 20] [--keep] [--json]

--sample-size N sets LADDER_QUICK_SAMPLE_SIZE for the whole installation (web and workers): the quick suite's
items per benchmark (default 100). The figure is for that size; say so wherever it is quoted.
The clone is of the committed HEAD: uncommitted changes of SOURCE are not in it.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
_T = TypeVar("_T")
MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
USERNAME = "admin"


class Newcomer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.base = f"http://127.0.0.1:{args.port}"
        self.phases: dict[str, float] = {}
        self.benchmarks: dict[str, float] = {}
        self.notes: list[str] = []
        self.tmp = Path(tempfile.mkdtemp(prefix="ladder-newcomer-"))
        self.clone = self.tmp / "llm-ladder"
        self.server: subprocess.Popen[bytes] | None = None
        self.log = self.tmp / "make-run.log"
        self.env = self._environment()

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"}}
        env.pop("VIRTUAL_ENV", None)
        env.update(
            LADDER_HOST=f"127.0.0.1:{self.args.port}",
            LADDER_REDIS_DB=str(self.args.redis_db),
            HF_HUB_OFFLINE=env.get("HF_HUB_OFFLINE", "1"),
            PYTHONUNBUFFERED="1",
        )
        # The Makefile's default (../shared/benchmarks) is relative to the clone, which lives in /tmp.
        env["LADDER_DATA_DIR"] = str(
            Path(env.get("LADDER_DATA_DIR") or ROOT.parent / "shared" / "benchmarks").resolve()
        )
        if self.args.sample_size:
            env["LADDER_QUICK_SAMPLE_SIZE"] = str(self.args.sample_size)
        return env

    # ------------------------------------------------------------------------------------------ phases

    def phase(self, name: str, started: float) -> None:
        self.phases[name] = time.perf_counter() - started
        print(f"  {name:<8} {self.phases[name]:8.1f} s", flush=True)

    def run(self) -> dict[str, Any]:
        total = time.perf_counter()
        t = time.perf_counter()
        subprocess.run(["git", "clone", "-q", self.args.source, str(self.clone)], check=True)
        self.phase("clone", t)

        t = time.perf_counter()
        if self.args.venv:
            # The clone's pyproject.toml is newer than the venv's stamp: `make -o` keeps make from reinstalling.
            (self.clone / ".venv").symlink_to(Path(self.args.venv).resolve())
            self.make = ["make", "-o", ".venv/.installed"]
            self.notes.append(f"reused the virtualenv {Path(self.args.venv).resolve()} (install not measured)")
        else:
            subprocess.run(["make", "install"], cwd=self.clone, env=self.env, check=True)
            self.make = ["make"]
            self.phase("install", t)
        self.python = str(self.clone / ".venv" / "bin" / "python")

        t = time.perf_counter()
        with open(self.log, "wb") as log:
            self.server = subprocess.Popen(
                [*self.make, "run"], cwd=self.clone, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self._wait_for(lambda: self._get("/", raw=True) is not None, "the first page", timeout=self.args.timeout)
        self.phase("serve", t)

        t = time.perf_counter()
        self._manage(
            ["createsuperuser", "--noinput", "--username", USERNAME, "--email", "admin@example.com"],
            extra_env={"DJANGO_SUPERUSER_PASSWORD": self.args.password},
        )
        self._sign_in()
        self.phase("sign-in", t)

        t = time.perf_counter()
        out = self._manage(["drf_create_token", USERNAME])
        match = re.search(r"\b([0-9a-f]{40})\b", out)
        if not match:
            raise RuntimeError(f"no token in drf_create_token's output: {out!r}")
        self.token = match.group(1)
        self.phase("token", t)

        t = time.perf_counter()
        status, run = self._request(
            "POST", "/api/v1/evaluations/", {"model": MODEL, "revision": "main", "suite": "quick"}
        )  # fmt: skip
        if status not in (200, 202):
            raise RuntimeError(f"submit answered {status}: {run}")
        run_id = run["id"]
        self.phase("submit", t)

        t = time.perf_counter()
        run = self._watch_run(run_id, t)
        self.phase("evaluate", t)
        t2 = time.perf_counter()
        row = self._wait_for(lambda: self._ranked_row(), "the ranked row", timeout=self.args.timeout)
        self.phase("ranked", t2)
        self.phases["total"] = time.perf_counter() - total
        return {
            "source": self.args.source,
            "sample_size": self.args.sample_size or 100,
            "phases_s": {k: round(v, 1) for k, v in self.phases.items()},
            "benchmark_done_after_s": {k: round(v, 1) for k, v in self.benchmarks.items()},
            "run": {
                "id": run_id,
                "duration_s": (run.get("timings") or {}).get("duration_seconds"),
                "scores": {k: round(v["value"], 4) for k, v in (run.get("results") or {}).items()},
            },
            "rank": row.get("rank"),
            "average": row.get("average"),
            "notes": self.notes,
            "machine": {"cpus": os.cpu_count(), "load_average_at_end": os.getloadavg()},
        }

    def _watch_run(self, run_id: int, started: float) -> dict:
        last_percent = -1
        deadline = time.monotonic() + self.args.timeout
        while time.monotonic() < deadline:
            self._check_server()
            status, run = self._request("GET", f"/api/v1/evaluations/{run_id}/")
            if status == 200:
                for key in run.get("results") or {}:
                    self.benchmarks.setdefault(key, time.perf_counter() - started)
                percent = (run.get("progress") or {}).get("percent", 0)
                if percent // 10 != last_percent // 10:
                    print(
                        f"    {run['status']} {percent}% (benchmarks done: {len(run.get('results') or {})})", flush=True
                    )
                    last_percent = percent
                if run["status"] == "succeeded":
                    return run
                if run["status"] in ("failed", "cancelled"):
                    raise RuntimeError(f"run {run_id} {run['status']}: {run.get('error_code')} {run.get('error')}")
            time.sleep(self.args.poll)
        raise TimeoutError(f"run {run_id} not finished after {self.args.timeout} s")

    def _ranked_row(self) -> dict | None:
        status, board = self._request("GET", "/api/v1/leaderboard/?suite=quick&provenance=measured")
        if status != 200:
            return None
        for row in board.get("results", []):
            if row["model"]["id"] == MODEL and row.get("rank"):
                return row
        return None

    # ---------------------------------------------------------------------------------------- helpers

    def _manage(self, argv: list[str], extra_env: dict[str, str] | None = None) -> str:
        out = subprocess.run(
            [self.python, "manage.py", *argv], cwd=self.clone, env={**self.env, **(extra_env or {})},
            capture_output=True, text=True,
        )  # fmt: skip
        if out.returncode:
            raise RuntimeError(f"manage.py {argv[0]} failed: {out.stderr[-2000:]}")
        return out.stdout

    def _sign_in(self) -> None:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(f"{self.base}/accounts/login/", timeout=30).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if not token:
            raise RuntimeError("no CSRF token on the sign-in page")
        form = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token.group(1), "username": USERNAME, "password": self.args.password}
        ).encode()
        request = urllib.request.Request(f"{self.base}/accounts/login/", data=form, headers={"Referer": self.base})
        answer = opener.open(request, timeout=30)
        if "/accounts/login/" in answer.geturl() or "sessionid" not in {c.name for c in jar}:
            raise RuntimeError("signing in with the new superuser did not start a session")

    def _request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        headers = {"Accept": "application/json"}
        if getattr(self, "token", None):
            headers["Authorization"] = f"Token {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status, json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                return exc.code, json.loads(exc.read() or b"{}")
            except ValueError:
                return exc.code, {}
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return 0, {}

    def _get(self, path: str, raw: bool = False) -> bytes | None:
        try:
            with urllib.request.urlopen(self.base + path, timeout=10) as answer:
                return answer.read() if answer.status == 200 else None
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def _wait_for(self, probe: Callable[[], _T | None], what: str, *, timeout: float) -> _T:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_server()
            found = probe()
            if found:
                return found
            time.sleep(self.args.poll)
        raise TimeoutError(f"no {what} after {timeout} s")

    def _check_server(self) -> None:
        if self.server is not None and self.server.poll() is not None:
            raise RuntimeError(f"`make run` exited ({self.server.returncode}); its log:\n{self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def teardown(self) -> None:
        if self.server is not None and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGTERM)
            try:
                self.server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)
                self.server.wait()
        if self.args.keep:
            print(f"kept {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", nargs="?", default=str(ROOT), help="repository to clone (default: this one)")
    parser.add_argument("--venv", help="an existing virtualenv to use as the clone's .venv (no install)")
    parser.add_argument("--install", action="store_true", help="run `make install` (measured) even with --venv")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--redis-db", type=int, default=12, help="LADDER_REDIS_DB of the clone's `make run`")
    parser.add_argument("--sample-size", type=int, help="LADDER_QUICK_SAMPLE_SIZE (default: the suite's 100)")
    parser.add_argument("--password", default="newcomer-password-1")
    parser.add_argument("--poll", type=float, default=2.0, help="seconds between polls")
    parser.add_argument("--timeout", type=float, default=7200, help="seconds any one phase may take")
    parser.add_argument("--keep", action="store_true", help="keep the clone (and make run's log)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.install:
        args.venv = None

    # Stopped early (Ctrl-C, or SIGTERM/SIGINT when started in the background, where SIGINT is ignored):
    # unwind through teardown, which stops `make run` and deletes the clone.
    def interrupted(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    newcomer = Newcomer(args)
    print(f"newcomer: cloning {args.source} into {newcomer.clone}", flush=True)
    try:
        report = newcomer.run()
    except (RuntimeError, TimeoutError, subprocess.CalledProcessError) as exc:
        print(f"newcomer: FAILED: {exc}\n--- make run log (tail) ---\n{newcomer._log_tail()}", file=sys.stderr)
        return 1
    finally:
        newcomer.teardown()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"\nnewcomer: clone to ranked in {report['phases_s']['total']} s (quick suite, {report['sample_size']} items per benchmark)"
    )
    for name, seconds in report["phases_s"].items():
        print(f"  {name:<10} {seconds:8.1f} s")
    print("  each benchmark's score appeared (s since submit; s since the previous one, the first with loading):")
    previous = 0.0
    for key, seconds in report["benchmark_done_after_s"].items():
        print(f"    {key:<16} {seconds:8.1f} {seconds - previous:8.1f}")
        previous = seconds
    print(f"  rank {report['rank']}, average {report['average']}; " + "; ".join(report["notes"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
