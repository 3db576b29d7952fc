"""Structured logs: one JSON object per line, carrying the id of the run being worked on.

The run id lives in a context variable. Celery's task_prerun signal sets it from the task's
`run_id` / `sync_run_id` argument (keyword or first positional) and task_postrun clears it, so every
line a task logs, including lines from libraries it calls, says which evaluation or sync it belongs
to. Code outside a task (a management command running an evaluation in-process) uses
`log_context(run_id=...)`.

Wired in settings.LOGGING: the `run_context` filter puts `run_id` on every record and `JsonFormatter`
renders it. Importing this module (which dictConfig does in web and worker processes) connects the
Celery signals.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery.signals import task_postrun, task_prerun

run_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("ladder_run_id", default=None)

# Which task argument names identify the row a task works on, and the prefix the logs give it.
_RUN_ARGUMENTS = (("run_id", "eval"), ("sync_run_id", "sync"))

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged too.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) | {
    "message",
    "asctime",
    "run_id",
    "task_id",
    "task_name",
}


@contextmanager
def log_context(*, run_id: str | int | None) -> Iterator[None]:
    """Tag every log line inside the block with run_id (e.g. "eval:12" or a plain id)."""
    token = run_id_var.set(None if run_id is None else str(run_id))
    try:
        yield
    finally:
        run_id_var.reset(token)


def run_id_from_task_arguments(args: tuple[Any, ...] | list[Any] | None, kwargs: dict[str, Any] | None) -> str | None:
    """The run id named by a task's arguments: "eval:<run_id>", "sync:<sync_run_id>" or None."""
    kwargs = kwargs or {}
    for name, prefix in _RUN_ARGUMENTS:
        value = kwargs.get(name)
        if value is not None:
            return f"{prefix}:{value}"
    # Tasks take ids: a task called positionally with one integer id is an evaluation run.
    if args and isinstance(args[0], int) and not isinstance(args[0], bool):
        return f"eval:{args[0]}"
    return None


_task_tokens: dict[str, contextvars.Token[str | None]] = {}
_task_meta: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("ladder_task", default=None)


@task_prerun.connect(weak=False)
def _task_started(task_id: str | None = None, task: Any = None, args: Any = None, kwargs: Any = None, **_: Any) -> None:
    if task_id is None:
        return
    _task_tokens[task_id] = run_id_var.set(run_id_from_task_arguments(args, kwargs))
    _task_meta.set((task_id, getattr(task, "name", "") or ""))


@task_postrun.connect(weak=False)
def _task_finished(task_id: str | None = None, **_: Any) -> None:
    token = _task_tokens.pop(task_id, None) if task_id else None
    if token is not None:
        try:
            run_id_var.reset(token)
        except ValueError:  # set in another context (thread pools): clear instead
            run_id_var.set(None)
    _task_meta.set(None)


class RunContextFilter(logging.Filter):
    """Adds `run_id` (and the Celery task id/name inside a task) to every record; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "run_id"):
            record.run_id = run_id_var.get()
        meta = _task_meta.get()
        if meta is not None:
            record.task_id, record.task_name = meta
        return True


class QuietPollFilter(logging.Filter):
    """Drops runserver's access lines of the queue/run pages' progress polls (`?format=json`, every 2 s)
    that succeeded: 600 lines in 20 minutes buried the events. Failed polls are still logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 400 and "format=json" in record.getMessage():
            return False
        return True


# transformers warns about its `past_key_values` argument on every forward pass of the KV-cache scoring
# (a FutureWarning about its own API, nothing the operator can act on): it drowned the workers' logs.
warnings.filterwarnings("ignore", message=r".*past_key_values.*", category=FutureWarning)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, run_id, extras, exc."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        run_id = getattr(record, "run_id", None)
        if run_id is not None:
            payload["run_id"] = run_id
        for key in ("task_id", "task_name"):
            if getattr(record, key, None):
                payload[key] = getattr(record, key)
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        return json.dumps(payload, ensure_ascii=False, default=str)
