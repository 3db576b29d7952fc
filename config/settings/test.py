"""Test settings: the real PostgreSQL and Redis on 127.0.0.1, never eager Celery."""

from __future__ import annotations

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ladder")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")

from config.settings.base import *  # noqa: F403
from config.settings.base import REST_FRAMEWORK

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = False
HUB_BACKOFF_BASE = 0.01
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]}}
# Every anonymous test request comes from 127.0.0.1: one session-wide bucket must never run dry.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["anon"] = "1000000/hour"
