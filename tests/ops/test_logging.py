"""Structured logs: JSON lines that say which evaluation or sync a line belongs to, also inside tasks."""

from __future__ import annotations

import json
import logging

import pytest

from config.celery import app
from config.logging import JsonFormatter, RunContextFilter, log_context, run_id_from_task_arguments
from tests.helpers import wait_for


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict] = []
        self.addFilter(RunContextFilter())
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def collected():
    handler = _Collect()
    logger = logging.getLogger("ladder.test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)


@app.task(name="tests.ops_log_probe")
def ops_log_probe(run_id: int | None = None, sync_run_id: int | None = None) -> None:
    logging.getLogger("ladder.test").info("probe inside task", extra={"step": "probe"})


def test_a_log_line_is_one_json_object_with_time_level_logger_message_and_extras(collected):
    logging.getLogger("ladder.test").warning("weights for %s are 中文 ok", "qwen", extra={"bytes": 12})
    (line,) = collected.lines
    assert line["level"] == "WARNING" and line["logger"] == "ladder.test"
    assert line["message"] == "weights for qwen are 中文 ok"
    assert line["bytes"] == 12 and line["time"].endswith("+00:00")
    assert "run_id" not in line


def test_log_context_tags_every_line_with_the_run_id_and_restores_it(collected):
    logger = logging.getLogger("ladder.test")
    with log_context(run_id="eval:7"):
        logger.info("inside")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed")
    logger.info("after")
    inside, failed, after = collected.lines
    assert inside["run_id"] == "eval:7" and failed["run_id"] == "eval:7"
    assert "ValueError: boom" in failed["exc"]
    assert "run_id" not in after


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((), {"run_id": 42}, "eval:42"),
        ((), {"sync_run_id": 9, "trigger": "beat"}, "sync:9"),
        ((42,), {}, "eval:42"),
        ((), {"trigger": "beat"}, None),
        (("Qwen",), {}, None),
    ],
)
def test_the_run_id_comes_from_the_tasks_arguments(args, kwargs, expected):
    assert run_id_from_task_arguments(args, kwargs) == expected


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_tags_a_tasks_log_lines_with_its_run_id(celery_worker, collected):
    ops_log_probe.delay(run_id=42)
    ops_log_probe.delay(sync_run_id=7)
    wait_for(lambda: len(collected.lines) >= 2, timeout=20, interval=0.05, what="both tasks' log lines")
    probes = [line for line in collected.lines if line["message"] == "probe inside task"]
    assert sorted(line["run_id"] for line in probes) == ["eval:42", "sync:7"]
    assert all(line["task_name"] == "tests.ops_log_probe" and line["step"] == "probe" for line in probes)
