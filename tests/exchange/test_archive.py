"""Importing a Hub results archive (`<org>/<model>/results_<timestamp>.json`) through the fake Hub."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from evals.exchange import services
from evals.models import EvalRun, ImportJob
from evals.selectors.leaderboard import leaderboard_cache_bump

pytestmark = pytest.mark.django_db

REPO = "open-llm-leaderboard/results"


def _variant(data: dict, model: str, arc: float) -> bytes:
    copy = json.loads(json.dumps(data))
    copy["config_general"]["model_name"] = model
    copy["results"]["harness|arc:challenge|25"]["acc_norm"] = arc
    return json.dumps(copy, indent=4).encode()


@pytest.fixture
def archive(fake_hub, oll_file):
    data = json.loads(oll_file.read_bytes())
    files = {
        "acme/alpha-7b/results_2023-10-01T10-00-00.000000.json": _variant(data, "acme/alpha-7b", 0.41),
        "acme/alpha-7b/results_2024-01-02T10-00-00.000000.json": _variant(data, "acme/alpha-7b", 0.52),
        "beta-lab/beta-3b/results_2023-12-24T08-30-00.000000.json": _variant(data, "beta-lab/beta-3b", 0.33),
        "README.md": b"# results archive\n",
        "acme/alpha-7b/notes.txt": b"not a results file",
    }
    fake_hub.add_dataset(REPO, files)
    return fake_hub, files


def _run_job() -> ImportJob:
    job = services.import_job_create(source=REPO, revision="main")
    return services.import_job_run_archive(job_id=job.pk)


def test_archive_import_stores_every_file_and_the_latest_per_model_ranks(archive, api_client):
    job = _run_job()
    assert job.status == "succeeded"
    assert (job.files_total, job.files_done, job.created, job.failed) == (3, 3, 3, 0)
    assert EvalRun.objects.filter(model__repo_id="acme/alpha-7b", provenance="imported").count() == 2
    leaderboard_cache_bump()
    body = api_client.get("/api/v1/leaderboard/?suite=open-llm-v1").json()
    rows = {row["model"]["id"]: row for row in body["results"]}
    assert set(rows) == {"acme/alpha-7b", "beta-lab/beta-3b"}
    assert rows["acme/alpha-7b"]["scores"]["arc_challenge"]["value"] == pytest.approx(0.52)


def test_second_import_of_an_unchanged_archive_downloads_nothing(archive):
    hub, _files = archive
    _run_job()
    downloads_before = len(hub.requests_to("/datasets/"))
    job = _run_job()
    assert (job.created, job.unchanged, job.failed) == (0, 3, 0)
    assert len(hub.requests_to("/datasets/")) == downloads_before
    assert EvalRun.objects.count() == 3


def test_a_new_file_in_the_archive_is_the_only_one_downloaded(archive, oll_file):
    hub, files = archive
    _run_job()
    data = json.loads(oll_file.read_bytes())
    files = dict(files)
    files["beta-lab/beta-3b/results_2024-02-01T00-00-00.000000.json"] = _variant(data, "beta-lab/beta-3b", 0.61)
    hub.add_dataset(REPO, files)
    before = len(hub.requests_to("/datasets/"))
    job = _run_job()
    assert (job.created, job.unchanged) == (1, 3)
    assert len(hub.requests_to("/datasets/")) == before + 1


def test_command_imports_a_hub_dataset_and_reports_bad_files(archive, capsys):
    hub, files = archive
    files = dict(files)
    files["gamma/broken/results_2024-01-01T00-00-00.000000.json"] = b"{not json"
    hub.add_dataset(REPO, files)
    with pytest.raises(SystemExit):
        call_command("import_results", "--hub-dataset", REPO)
    out, err = capsys.readouterr()
    assert "3 imported, 0 unchanged, 1 failed" in out
    assert "gamma/broken/results_2024-01-01T00-00-00.000000.json" in err


def test_archive_that_does_not_exist_fails_the_job_with_the_hubs_reason(fake_hub):
    job = services.import_job_create(source="nobody/nothing", revision="main")
    job = services.import_job_run_archive(job_id=job.pk)
    assert job.status == "failed"
    assert "nobody/nothing" in job.errors[0]["file"]
