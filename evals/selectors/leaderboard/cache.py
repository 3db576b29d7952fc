"""The leaderboard's response cache: rendered pages and API bodies under a generation number shared through
the Django cache.

`leaderboard_cache_bump()` makes every cached body stale at once (with a shared cache backend such as
Redis, in every process). The board itself is not cached here: the read side patches its columnar copy
by the table's own generation (columnar.py).
`LADDER_LEADERBOARD_CACHE_TTL` (seconds, default 300; 0 = no caching) bounds staleness when a bump
cannot reach a process.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache

_GENERATION_KEY = "leaderboard:generation"


def _ttl() -> int:
    """settings.LEADERBOARD_CACHE_TTL (env LADDER_LEADERBOARD_CACHE_TTL, default 300 s).

    0 turns every leaderboard cache off (each request computes the board: for measurements)."""
    return int(settings.LEADERBOARD_CACHE_TTL)


_last_generation: list[int] = []


def leaderboard_cache_generation() -> int:
    """The current generation (shared through the Django cache).

    If the key was evicted (a full local-memory cache culls entries), the last value this process saw
    is put back rather than a new one, so an eviction does not throw every computed board away; with
    no value seen yet it starts from the clock, so it never reuses keys of an older generation.
    """
    generation = cache.get(_GENERATION_KEY)
    if generation is None:
        cache.add(_GENERATION_KEY, _last_generation[-1] if _last_generation else time.time_ns(), timeout=None)
        generation = cache.get(_GENERATION_KEY) or 0
    if not _last_generation or _last_generation[-1] != generation:
        _last_generation[:] = [int(generation)]
    return int(generation)


def leaderboard_cache_bump() -> None:
    """Make every cached board stale (call after a run finishes, is cancelled, retried or deleted).

    Cheap and safe to call inside or outside a transaction; with a shared cache backend (Redis) it
    reaches every web process at once, otherwise the TTL bounds staleness.
    """
    try:
        cache.incr(_GENERATION_KEY)
    except ValueError:
        cache.add(_GENERATION_KEY, time.time_ns(), timeout=None)


def _cached(key: str, compute: Callable[[], Any]) -> Any:
    """compute() cached under key in the Django cache."""
    if _ttl() <= 0:
        return compute()
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, timeout=_ttl())
    return value


def leaderboard_cached(namespace: str, params: dict[str, Any], compute: Callable[[], Any]) -> Any:
    """`compute()` cached under the current generation for these params (rendered pages, API bodies)."""
    digest = hashlib.sha1(json.dumps(params, sort_keys=True, default=str).encode(), usedforsecurity=False).hexdigest()
    return _cached(f"leaderboard:{namespace}:{leaderboard_cache_generation()}:{digest}", compute)


def leaderboard_cache_peek(namespace: str, params: dict[str, Any]) -> Any:
    """A value stored by leaderboard_cache_put under the current generation, or None."""
    if _ttl() <= 0:
        return None
    return cache.get(_namespaced_key(namespace, params))


def leaderboard_cache_put(namespace: str, params: dict[str, Any], value: Any) -> None:
    if _ttl() > 0:
        cache.set(_namespaced_key(namespace, params), value, timeout=_ttl())


def _namespaced_key(namespace: str, params: dict[str, Any]) -> str:
    digest = hashlib.sha1(json.dumps(params, sort_keys=True, default=str).encode(), usedforsecurity=False).hexdigest()
    return f"leaderboard:{namespace}:{leaderboard_cache_generation()}:{digest}"
