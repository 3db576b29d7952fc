"""Importing results files through the admin: staff upload lm-eval `results_*.json` (+ `samples_*.jsonl`) and
they go through the same importer as `import_results` and `POST /api/v1/imports/`, with the same errors
shown as admin messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from evals.models import EvalRun, ImportJob, ItemResult, ResultImport
from tests.exchange.conftest import FIXTURES, SMOLLM2, lm_eval_results

pytestmark = pytest.mark.django_db

UPLOAD = reverse("admin:evals_resultimport_upload")


def _file(path: Path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type="application/octet-stream")


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_staff_upload_a_results_file_with_its_samples_and_get_a_run_with_items(client, sam_staff):
    results = lm_eval_results()
    samples = sorted(results.parent.glob("samples_*.jsonl"))
    client.force_login(sam_staff)

    # The harness ran from a local path, so the form names the model (as `import_results --model` does).
    response = client.post(UPLOAD, {"files": [_file(results), *map(_file, samples)], "model": SMOLLM2}, follow=True)

    assert response.status_code == 200
    record = ResultImport.objects.get()
    assert record.source == results.name and record.imported_by == sam_staff and record.samples_digest
    assert record.run.model.repo_id == SMOLLM2
    assert record.run.provenance == "imported" and ItemResult.objects.filter(run=record.run).exists()
    assert record.job.source == "admin upload" and record.job.status == "succeeded"
    (message,) = _messages(response)
    assert message.startswith(f"{results.name} imported as run #{record.run_id} (")


def test_a_file_the_command_imported_before_changes_nothing_when_uploaded(client, sam_staff, oll_file):
    call_command("import_results", str(oll_file))
    client.force_login(sam_staff)

    response = client.post(UPLOAD, {"files": [_file(oll_file)]}, follow=True)

    assert EvalRun.objects.count() == 1 and ResultImport.objects.count() == 1
    assert _messages(response) == ["1 file(s) were imported before: nothing changed."]
    assert ImportJob.objects.order_by("-pk").first().unchanged == 1


def test_a_bad_file_is_named_with_its_field_and_nothing_of_it_is_imported(client, sam_staff, oll_file):
    bad = SimpleUploadedFile("results_bad.json", b'{"results": {"arc_easy": {"acc,none": "high"}}, "config": {}}')
    client.force_login(sam_staff)

    response = client.post(UPLOAD, {"files": [bad, _file(oll_file)], "model": ""}, follow=True)

    messages = _messages(response)
    assert any(m.startswith("results_bad.json [results.arc_easy.acc,none]: ") for m in messages), messages
    # The good file of the batch is imported all the same, the bad one not at all.
    assert [r.source for r in ResultImport.objects.all()] == [oll_file.name]
    job = ImportJob.objects.get()
    assert (job.created, job.failed, job.status) == (1, 1, "partial")


def test_samples_without_their_results_file_and_other_files_are_refused_by_name(client, sam_staff):
    samples = next((FIXTURES / "lm_eval_0.4.13").glob("samples_arc_easy_*.jsonl"))
    client.force_login(sam_staff)

    response = client.post(UPLOAD, {"files": [_file(samples), SimpleUploadedFile("notes.txt", b"hello")]}, follow=True)

    messages = _messages(response)
    assert any(m.startswith(f"{samples.name}: no results_") for m in messages), messages
    assert any(m.startswith("notes.txt: not a results_") for m in messages), messages
    assert not ResultImport.objects.exists()


def test_a_file_over_the_import_limit_is_refused_like_the_command_refuses_it(client, sam_staff, oll_file, settings):
    settings.IMPORT_MAX_FILE_BYTES = 1000
    client.force_login(sam_staff)

    response = client.post(UPLOAD, {"files": [_file(oll_file)]}, follow=True)

    (message,) = _messages(response)
    assert message.startswith(f"{oll_file.name}: the file is ") and "LADDER_IMPORT_MAX_FILE_BYTES" in message
    assert not EvalRun.objects.exists()


def test_the_imports_list_links_to_the_upload_and_non_staff_cannot_use_it(client, sam_staff, alice, oll_file):
    client.force_login(alice)
    refused = client.post(UPLOAD, {"files": [_file(oll_file)]})
    assert refused.status_code == 302 and "/admin/login/" in refused["Location"]
    assert not EvalRun.objects.exists()

    client.force_login(sam_staff)
    changelist = client.get(reverse("admin:evals_resultimport_changelist")).content.decode()

    assert f'href="{UPLOAD}"' in changelist
