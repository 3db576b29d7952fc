"""The quick suite's sample size is an installation setting (LADDER_QUICK_SAMPLE_SIZE), read by every process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evals.suites import QUICK, quick_sample_size

ROOT = Path(__file__).resolve().parent.parent.parent


def test_quick_suite_samples_100_items_per_benchmark_by_default():
    assert quick_sample_size({}) == 100
    assert quick_sample_size({"LADDER_QUICK_SAMPLE_SIZE": " "}) == 100
    assert QUICK.sample_size == int(os.environ.get("LADDER_QUICK_SAMPLE_SIZE") or 100)


@pytest.mark.parametrize("raw", ["zero", "0", "-5", "2.5"])
def test_quick_sample_size_refuses_what_is_not_a_positive_item_count(raw):
    with pytest.raises(ValueError, match="LADDER_QUICK_SAMPLE_SIZE"):
        quick_sample_size({"LADDER_QUICK_SAMPLE_SIZE": raw})


def test_a_process_started_with_a_smaller_quick_sample_plans_that_many_items_and_says_so():
    """What `make run` and every worker of an installation see: the plan and the suite's description agree."""
    code = (
        "import json\n"
        "from evals.engine import run_plan\n"
        "from evals.suites import SUITES\n"
        "plans = run_plan(suite='quick', benchmarks=['arc_easy', 'mmlu', 'gsm8k'])\n"
        "print(json.dumps({'n': {p.benchmark: len(p.docs) for p in plans},"
        " 'size': SUITES['quick'].sample_size, 'description': SUITES['quick'].description}))\n"
    )
    env = {**os.environ, "LADDER_QUICK_SAMPLE_SIZE": "7"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["n"] == {"arc_easy": 7, "mmlu": 7, "gsm8k": 7}
    assert data["size"] == 7
    assert "at most 7 items" in data["description"]
