"""Environment access for settings: every setting the service reads comes through here."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()


def redis_transport_options(longest_task_time_limit: int) -> dict[str, Any]:
    """Celery's transport options for a Redis broker.

    Redis redelivers an unacked message after visibility_timeout: keep it above the longest hard time
    limit or a long evaluation would be delivered twice while it still runs.
    https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/redis.html#visibility-timeout
    """
    return {"visibility_timeout": longest_task_time_limit + 600}


def embedded_broker(longest_task_time_limit: int) -> dict[str, Any]:
    """Celery's broker settings when CELERY_BROKER_URL is not set (`make run` with nothing configured).

    Redis on 127.0.0.1:6379 if it answers, in its own database number (LADDER_REDIS_DB, 3; not 0: the
    local Redis may serve other programs); else kombu's filesystem transport under var/broker/, whose
    folders are made here, so `make run` works with nothing installed.
    """
    if redis_answers():
        return {
            "broker_url": f"redis://127.0.0.1:6379/{env.int('LADDER_REDIS_DB', default=3)}",
            "broker_transport_options": redis_transport_options(longest_task_time_limit),
        }
    queue_dir = VAR_DIR / "broker"
    for sub in ("in", "processed"):
        (queue_dir / sub).mkdir(parents=True, exist_ok=True)
    return {
        "broker_url": "filesystem://",
        "broker_transport_options": {
            "data_folder_in": str(queue_dir / "in"),
            "data_folder_out": str(queue_dir / "in"),
            "processed_folder": str(queue_dir / "processed"),
            "store_processed": False,
        },
    }


def redis_answers(host: str = "127.0.0.1", port: int = 6379, timeout: float = 0.3) -> bool:
    """True when something accepts TCP connections on host:port and answers a Redis PING."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False
