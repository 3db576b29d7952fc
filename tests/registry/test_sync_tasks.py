"""The sync from outside: the sync_hub command and the Celery task on a real worker and the real Redis."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from registry.models import LanguageModel, SyncRun
from registry.tasks import hub_sync_task
from tests.helpers import wait_for


@pytest.mark.django_db
def test_sync_hub_command_prints_the_run_summary(fake_hub):
    out = StringIO()
    call_command("sync_hub", "--author", "HuggingFaceTB", "--model", "Qwen/Qwen-7B", "--model", "no/such", stdout=out)
    text = out.getvalue()
    run = SyncRun.objects.get()
    assert f"SyncRun #{run.pk} partial" in text and "created 3" in text and "failed 1" in text
    assert "no/such: not_found" in text
    assert run.trigger == "command" and run.scope["models"] == ["Qwen/Qwen-7B", "no/such"]


@pytest.mark.django_db
def test_sync_hub_command_fails_loudly_when_the_hub_is_down(fake_hub, settings):
    settings.HUB_MAX_RETRIES = 1
    fake_hub.add_fault("server_error", path="/api/models", status=502)
    with pytest.raises(CommandError, match="failed"):
        call_command("sync_hub", "--author", "Qwen", stdout=StringIO())
    assert SyncRun.objects.get().status == "failed"


@pytest.mark.django_db
def test_sync_hub_command_needs_a_scope_when_nothing_is_configured(settings):
    settings.HUB_SYNC_AUTHORS = []
    with pytest.raises(CommandError, match="say what to sync"):
        call_command("sync_hub", stdout=StringIO())


@pytest.mark.django_db
def test_bare_sync_hub_command_syncs_the_configured_authors(fake_hub, settings):
    settings.HUB_SYNC_AUTHORS = ["THUDM"]
    out = StringIO()
    call_command("sync_hub", stdout=out)
    assert "created 1" in out.getvalue()
    assert SyncRun.objects.get().scope["authors"] == ["THUDM"]


@pytest.mark.django_db
def test_beat_task_syncs_the_configured_authors_with_the_configured_limit(fake_hub, settings):
    settings.HUB_SYNC_AUTHORS = ["HuggingFaceTB"]
    settings.HUB_SYNC_LIMIT = 1
    run = SyncRun.objects.get(pk=hub_sync_task.run(trigger="beat"))
    assert run.trigger == "beat" and run.scope == {"authors": ["HuggingFaceTB"], "search": "", "models": [], "limit": 1}
    assert run.created == 1


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_consumes_the_sync_task_from_redis_and_the_rows_appear(fake_hub, celery_worker):
    run = SyncRun.objects.create(trigger="api", scope={})
    hub_sync_task.delay(trigger="api", authors=["Qwen", "THUDM"], sync_run_id=run.pk)

    run = wait_for(
        lambda: SyncRun.objects.exclude(status=SyncRun.Status.RUNNING).filter(pk=run.pk).first(),
        timeout=60,
        interval=0.2,
        what="the sync to finish",
    )
    assert run.status == SyncRun.Status.SUCCEEDED and run.created == 2
    assert set(LanguageModel.objects.values_list("repo_id", flat=True)) == {"Qwen/Qwen-7B", "THUDM/chatglm-6b"}


@pytest.mark.django_db
def test_beat_without_configured_authors_refreshes_the_authors_already_in_the_registry(fake_hub, settings):
    from registry.services.hub_sync import hub_model_sync

    settings.HUB_SYNC_AUTHORS = []
    hub_model_sync(repo_id="Qwen/Qwen-7B")
    fake_hub.push_commit("Qwen/Qwen-7B", downloads=5)

    run = SyncRun.objects.get(pk=hub_sync_task.run(trigger="beat"))

    assert run.scope["authors"] == ["Qwen"] and run.updated == 1
    assert LanguageModel.objects.get(repo_id="Qwen/Qwen-7B").downloads == 5


def test_the_sync_task_takes_its_time_limits_from_settings_and_redis_outlasts_them(settings):
    assert hub_sync_task.soft_time_limit == settings.SYNC_SOFT_TIME_LIMIT
    assert hub_sync_task.time_limit == settings.SYNC_SOFT_TIME_LIMIT + 120
    # A shorter visibility timeout would hand a long sync to a second worker while it still runs.
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > hub_sync_task.time_limit


@pytest.mark.django_db
def test_a_sync_left_running_past_the_configured_limit_is_closed_as_lost(fake_hub, settings):
    from datetime import timedelta

    from django.utils import timezone

    started = timezone.now() - timedelta(minutes=30)
    recent = SyncRun.objects.create(trigger="beat")
    SyncRun.objects.filter(pk=recent.pk).update(started_at=started)
    call_command("sync_hub", "--model", "Qwen/Qwen-7B", stdout=StringIO())
    recent.refresh_from_db()
    assert recent.status == SyncRun.Status.RUNNING  # 30 minutes is within the default hour

    settings.SYNC_SOFT_TIME_LIMIT = 60  # a deployment with a one-minute limit: 30 minutes is long lost
    call_command("sync_hub", "--model", "Qwen/Qwen-7B", stdout=StringIO())
    recent.refresh_from_db()
    assert recent.status == SyncRun.Status.FAILED and recent.errors[0]["kind"] == "lost"
