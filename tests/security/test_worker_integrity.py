"""Issue #8, worker side: workers load what they should, and notice death promptly (holes 2, 3 and 11).

Hub models come from tests/hubfake, which serves a tiny real Llama (random weights, a byte-level tokenizer)
built here with transformers; the real huggingface_hub client downloads it over HTTP into a per-test cache.
What must hold afterwards:
- hole 2: a worker fetches only safetensors weights and config/tokenizer files at the pinned commit, checks
  their size before downloading, refuses `.bin`-only repos, and never runs a repository's code, even when
  someone at the worker's terminal would answer "y";
- hole 3: a Hub id only ever means the Hub, never a same-named directory in the worker's working directory;
- hole 11: a busy worker heartbeats through a slow download (the reaper leaves it alone), and a SIGKILLed
  worker's run is resumed by another worker within seconds of its heartbeat timeout, with no beat running.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from evals import services
from evals.models import BenchmarkResult, EvalRun, ItemResult
from tests.evals.fakeopenai import FakeOpenAI
from tests.evals.runfixtures import make_endpoint_model, make_model, openai_env  # noqa: F401 - a fixture
from tests.evals.test_workers import _start_worker, _stop, _worker_env, finished, purge_queues, run_status
from tests.helpers import wait_for
from tests.hubfake import FakeHub, model_record

TINY = "acme/tiny-llama"


def _build_tiny_model(directory: Path) -> dict[str, bytes]:
    """A real, tiny causal LM as a Hub repo holds it: config, tokenizer and safetensors files."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {"<s>": 0, "</s>": 1}
    for char in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab[char] = len(vocab)
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>").save_pretrained(directory)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        bos_token_id=0,
        eos_token_id=1,
    )
    LlamaForCausalLM(config).save_pretrained(directory)
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory) -> dict[str, bytes]:
    return _build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


def _repo(repo_id: str, files: dict[str, bytes]) -> dict:
    """A fake Hub record whose files (all of them, weights included) are served as they are."""
    config = json.loads(files["config.json"]) if "config.json" in files else None
    record = model_record(repo_id, config_file=config, extra_files=tuple(n for n in files if n != "config.json"))
    record["_files"] = dict(files)
    return record


@pytest.fixture
def hub(settings, monkeypatch, tmp_path):
    """An empty fake Hub, the settings pointing at it, and a Hugging Face cache of this test's own."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    with FakeHub() as fake:
        settings.HF_ENDPOINT = fake.url
        settings.HUB_TIMEOUT = 5.0
        settings.HUB_BACKOFF_BASE = 0.01
        settings.HUB_MAX_RETRIES = 1
        yield fake


@pytest.fixture(autouse=True)
def _cold_models():
    """Every test loads its model anew (a model kept warm by an earlier test would hide the loading)."""
    from evals.backends.transformers import clear_warm_models

    clear_warm_models()
    yield
    clear_warm_models()


def _hub_run(repo_id: str, sha: str, *, dispatch: bool = False) -> EvalRun:
    model = make_model(repo_id, pipeline_tag="text-generation")
    return services.eval_run_create(
        model=model,
        suite="quick",
        benchmarks=["arc_easy"],
        limit=4,
        backend="transformers",
        device="cpu",
        batch_size=4,
        revision=sha,
        revision_sha=sha,
        dispatch=dispatch,
    )


def _fetched(hub: FakeHub, repo_id: str) -> set[str]:
    """Names of the repo's files the worker asked the Hub for (HEAD or GET)."""
    return {r.path.rsplit("/", 1)[-1] for r in hub.requests_to(f"/{repo_id}/resolve/")}


# -- hole 2: what a worker downloads and runs ----------------------------------------------------------
@pytest.mark.django_db
def test_a_hub_model_is_fetched_at_its_pinned_commit_as_safetensors_only_and_evaluated(hub, tiny_files):
    """The run scores the Hub's weights at the pinned sha; pickled weights and Python files are never fetched."""
    files = {**tiny_files, "pytorch_model.bin": b"\x80\x02pickled", "modeling_tiny.py": b"raise SystemExit(1)\n"}
    hub.add_model(_repo(TINY, files))
    sha = hub.model(TINY)["sha"]

    run = _hub_run(TINY, sha)
    services.eval_run_execute(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == EvalRun.Status.SUCCEEDED, run.error
    assert run.revision_sha == sha and run.progress_done == 4
    assert BenchmarkResult.objects.get(run=run, benchmark="arc_easy").n == 4
    fetched = _fetched(hub, TINY)
    assert "model.safetensors" in fetched and "config.json" in fetched and "tokenizer.json" in fetched
    assert not {"pytorch_model.bin", "modeling_tiny.py", "README.md", ".gitattributes"} & fetched
    # Every file came from the pinned commit, not from a branch that may have moved since.
    assert all(f"/resolve/{sha}/" in r.path for r in hub.requests_to(f"/{TINY}/resolve/"))


@pytest.mark.django_db
def test_a_download_over_the_size_limit_is_refused_before_any_file_is_fetched(hub, tiny_files, settings):
    settings.EVAL_MAX_DOWNLOAD_BYTES = 20_000  # the tiny model's weights alone are ~45 kB
    hub.add_model(_repo(TINY, tiny_files))
    sha = hub.model(TINY)["sha"]

    run = _hub_run(TINY, sha)
    services.eval_run_execute(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == EvalRun.Status.FAILED
    assert "too large to download" in run.error and "LADDER_EVAL_MAX_DOWNLOAD_BYTES" in run.error
    assert _fetched(hub, TINY) == set()  # sizes come from the listing: nothing was downloaded


@pytest.mark.django_db
def test_a_repo_with_only_pickled_bin_weights_is_refused_without_downloading_them(hub, tiny_files):
    files = {n: c for n, c in tiny_files.items() if n != "model.safetensors"}
    hub.add_model(_repo(TINY, {**files, "pytorch_model.bin": b"\x80\x02pickled"}))
    sha = hub.model(TINY)["sha"]

    run = _hub_run(TINY, sha)
    services.eval_run_execute(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == EvalRun.Status.FAILED
    assert "no safetensors weights" in run.error and "pytorch_model.bin" in run.error
    assert "pytorch_model.bin" not in _fetched(hub, TINY)


@pytest.mark.django_db
def test_repo_code_never_runs_even_when_someone_at_the_workers_terminal_answers_yes(
    hub, tiny_files, tmp_path, monkeypatch
):
    """A repo whose config asks for its own modeling code fails with the reason; the code is never fetched."""
    marker = tmp_path / "repo-code-ran"
    code = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n".encode()
    config = json.loads(tiny_files["config.json"])
    config.update(
        model_type="tinyevil",
        architectures=["TinyEvilForCausalLM"],
        auto_map={
            "AutoConfig": "modeling_tinyevil.TinyEvilConfig",
            "AutoModelForCausalLM": "modeling_tinyevil.TinyEvilForCausalLM",
        },
    )
    files = {**tiny_files, "config.json": json.dumps(config).encode(), "modeling_tinyevil.py": code}
    hub.add_model(_repo("acme/tiny-evil", files))
    sha = hub.model("acme/tiny-evil")["sha"]
    asked: list[str] = []

    def someone_types_yes(prompt: str = "") -> str:
        asked.append(prompt)
        return "y"

    monkeypatch.setattr("builtins.input", someone_types_yes)

    run = _hub_run("acme/tiny-evil", sha)
    services.eval_run_execute(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == EvalRun.Status.FAILED
    assert "own Python code" in run.error
    assert not marker.exists(), "the repository's code ran on the worker"
    assert asked == []  # nobody was asked: trust_remote_code is False, not unset
    assert "modeling_tinyevil.py" not in _fetched(hub, "acme/tiny-evil")


# -- hole 3: a Hub id is never a local path ---------------------------------------------------------------
@pytest.mark.django_db
def test_a_hub_id_never_loads_a_same_named_directory_in_the_workers_working_directory(
    hub, tiny_files, tmp_path, monkeypatch
):
    """`probes/evilmodel` exists as a loadable directory where the worker runs; the worker asks the Hub only."""
    planted = tmp_path / "probes" / "evilmodel"
    planted.mkdir(parents=True)
    for name, content in tiny_files.items():
        (planted / name).write_bytes(content)
    monkeypatch.chdir(tmp_path)
    model = make_model("probes/evilmodel", pipeline_tag="text-generation")
    run = services.eval_run_create(
        model=model, suite="quick", benchmarks=["arc_easy"], limit=4, backend="transformers", dispatch=False
    )

    services.eval_run_execute(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == EvalRun.Status.FAILED, "the planted directory was loaded as the model"
    assert "probes/evilmodel was not found on the Hub" in run.error
    assert hub.requests_to("/api/models/probes/evilmodel")  # the Hub was asked, not the disk
    assert not ItemResult.objects.filter(run=run).exists()


# -- hole 11: heartbeats and dead workers ---------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_a_busy_worker_heartbeats_through_a_slow_download_and_the_reaper_leaves_its_run_alone(
    hub, tiny_files, settings, celery_worker
):
    """The weights take ~6 s to arrive, three times the heartbeat timeout: one attempt, one download."""
    settings.EVAL_HEARTBEAT_INTERVAL = 0.3
    settings.EVAL_HEARTBEAT_TIMEOUT = 2
    hub.add_model(_repo(TINY, tiny_files))
    sha = hub.model(TINY)["sha"]
    hub.add_fault("slow", path=f"/{TINY}/resolve/{sha}/model.safetensors", hang_seconds=6.0)

    run = _hub_run(TINY, sha, dispatch=True)
    started = time.monotonic()
    reaped: list[dict[str, int]] = []
    beats: set = set()
    while time.monotonic() - started < 120:
        current = run_status(run.pk)
        if current.status in EvalRun.FINISHED_STATUSES:
            break
        if current.status == EvalRun.Status.RUNNING:
            beats.add(current.heartbeat_at)
        reaped.append(services.eval_runs_reap())  # what beat would do, far more often than it does
        time.sleep(0.4)
    elapsed = time.monotonic() - started

    run.refresh_from_db()
    assert run.status == EvalRun.Status.SUCCEEDED, run.error
    assert elapsed >= 5.5  # the download really was slow
    assert all(r == {"requeued": 0, "failed": 0} for r in reaped), reaped
    assert run.attempts == 1
    assert len(beats) >= 5  # the heartbeat kept moving while the weights downloaded
    weight_gets = [r for r in hub.requests_to(f"/{TINY}/resolve/") if r.method == "GET" and "safetensors" in r.path]
    assert len(weight_gets) == 1  # no second worker downloaded it again


def test_by_default_a_dead_workers_run_is_noticed_within_two_minutes(settings):
    """Heartbeat timeout plus the reaper's interval bound how long a dead worker's run sits "running"."""
    assert settings.EVAL_HEARTBEAT_TIMEOUT + settings.EVAL_REAP_INTERVAL <= 120
    assert 0 < settings.EVAL_REAP_INTERVAL
    # Several beats fit in a timeout, so one late beat on a busy machine does not look like death.
    assert settings.EVAL_HEARTBEAT_INTERVAL * 3 <= settings.EVAL_HEARTBEAT_TIMEOUT


@pytest.mark.slow
@pytest.mark.usefixtures("openai_env")
@pytest.mark.django_db(transaction=True)
def test_a_sigkilled_worker_process_group_is_noticed_and_another_worker_resumes_its_run_without_beat(tmp_path):
    """Two real worker processes, no beat: the one running the run is SIGKILLed with its whole process group;
    the other notices from the stale heartbeat within seconds and finishes the run, each item stored once."""
    total = 40
    purge_queues()
    log = tmp_path / "workers.log"
    env = _worker_env()
    env.update(
        {
            "LADDER_EVAL_HEARTBEAT_INTERVAL": "0.5",
            "LADDER_EVAL_HEARTBEAT_TIMEOUT": "4",
            "LADDER_EVAL_REAP_INTERVAL": "1",
        }
    )
    workers = {name: _start_worker(name, env, log, own_group=True) for name in ("first", "second")}
    try:
        with FakeOpenAI(delay=0.03) as server:
            model = make_endpoint_model(server.base_url)
            run = services.eval_run_create(
                model=model, suite="quick", benchmarks=["arc_easy"], limit=total, backend="openai", batch_size=4
            )
            busy = wait_for(
                lambda: run_status(run.pk).progress_done >= 8 and run_status(run.pk),
                timeout=120,
                what=f"progress (log: {log.read_text()})",
            )
            holder = busy.worker_host.split("@", 1)[0]
            survivor = "second" if holder == "first" else "first"
            os.killpg(workers[holder].pid, signal.SIGKILL)
            workers[holder].wait(timeout=10)
            killed_at = time.monotonic()
            killed = run_status(run.pk)
            assert killed.status == EvalRun.Status.RUNNING and killed.progress_done < total

            resumed = wait_for(
                lambda: (r := run_status(run.pk)).attempts == 2 and r.worker_host.startswith(survivor) and r,
                timeout=60,
                what=f"the other worker to take the run over (log: {log.read_text()})",
            )
            noticed_after = time.monotonic() - killed_at
            done = wait_for(lambda: finished(run.pk), timeout=120, what=f"the resumed run (log: {log.read_text()})")
    finally:
        for proc in workers.values():
            _stop(proc)
        purge_queues()

    assert resumed.progress_done >= killed.progress_done  # resumed after the stored items, not from scratch
    assert noticed_after < 4 + 1 + 15  # heartbeat timeout + reaper interval, plus a loaded machine's slack
    assert done.status == EvalRun.Status.SUCCEEDED, done.error
    assert done.attempts == 2 and done.progress_done == done.progress_total == total
    items = ItemResult.objects.filter(run=done)
    assert items.count() == total and items.values("item_id").distinct().count() == total
