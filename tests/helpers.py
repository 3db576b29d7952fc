"""Helpers shared by tests (fixtures live in tests/conftest.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], *, timeout: float, interval: float = 0.1, what: str = "the condition") -> T:
    """Call `predicate` every `interval` seconds until it returns something truthy, and return that.

    For states another thread or process sets (a worker finishing a run, a server answering). Raises
    AssertionError naming `what` when `timeout` seconds pass first.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
