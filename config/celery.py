"""The Celery app. Workers: `celery -A config worker -Q celery` and `-Q evals` on evaluation hosts.

Every worker process also reaps evaluation runs whose heartbeat stopped (evals.tasks.eval_runs_reaper_start,
on `worker_ready`), so a dead worker's run resumes without waiting for beat, or with no beat at all.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import worker_ready

from config.env import embedded_broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("ladder")
app.config_from_object("django.conf:settings", namespace="CELERY")


def _embedded_broker() -> dict[str, Any]:
    from django.conf import settings

    return embedded_broker(settings.LONGEST_TASK_TIME_LIMIT)


# Read only when Celery first needs its configuration, and below settings: CELERY_BROKER_URL, when set, wins.
app.add_defaults(_embedded_broker)
app.autodiscover_tasks()


@worker_ready.connect
def _start_eval_runs_reaper(**kwargs: object) -> None:
    from evals.tasks import eval_runs_reaper_start

    eval_runs_reaper_start()
