"""The maintained board (BoardEntry): written with each change, equal to a rebuild from the runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command

from evals import services, stats
from evals.exchange import services as exchange
from evals.models import BoardEntry, BoardMeta, EvalRun
from evals.selectors.leaderboard import board_benchmarks
from evals.selectors.leaderboard.maintain import (
    board_entries_snapshot,
    board_generation,
    board_is_stale,
    board_rebuild,
)
from evals.suites import SUITES
from registry.models import LanguageModel
from tests.evals.factories import complete_run, language, model
from tests.evals.runfixtures import endpoint_model, fake_openai, openai_env  # noqa: F401

pytestmark = pytest.mark.django_db
QUICK = list(SUITES["quick"].benchmarks)
OLL = next((Path(__file__).resolve().parent.parent / "exchange" / "fixtures" / "open_llm_v1").glob("results_*.json"))


def _import(repo_id: str, arc: float, when: str) -> int:
    data = json.loads(OLL.read_bytes())
    data["config_general"]["model_name"] = repo_id
    data["results"]["harness|arc:challenge|25"]["acc_norm"] = arc
    outcome = exchange.result_import_file(
        content=json.dumps(data).encode(), name=f"{repo_id}/results_{when}T10-00-00.000000.json"
    )
    assert outcome.status == "created"
    return outcome.run_id


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("staff", password="x", is_staff=True)


def test_rebuild_equals_the_rows_maintained_through_finishes_imports_cancels_deletes_and_edits(
    endpoint_model,  # noqa: F811
    staff,
    django_capture_on_commit_callbacks,
):
    # Imports: alpha twice (the later one counts), beta once.
    older_alpha = _import("acme/alpha-7b", 0.41, "2023-10-01")
    newer_alpha = _import("acme/alpha-7b", 0.52, "2024-01-02")
    _import("beta-lab/beta-3b", 0.33, "2023-12-24")
    # A measured run finishes (partial: listed, never ranked).
    finished = services.eval_run_create(
        model=endpoint_model, suite="quick", benchmarks=["arc_easy"], limit=4, backend="openai", dispatch=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.eval_run_execute(run_id=finished.pk)
    # A queued run is cancelled, retried, cancelled again.
    queued = services.eval_run_create(
        model=endpoint_model, suite="quick", benchmarks=["arc_easy"], limit=2, backend="openai", dispatch=False
    )
    services.eval_run_cancel(run_id=queued.pk, user=staff)
    services.eval_run_retry(run_id=queued.pk, user=staff)
    services.eval_run_cancel(run_id=queued.pk, user=staff)
    # A degenerate run ranks once staff accept its flag.
    gamma = model("gamma/g-1b", parameters=1_000_000_000)
    flagged = complete_run(gamma, 0.6, flagged=True)
    assert not BoardEntry.objects.filter(model=gamma).exists()
    services.eval_run_accept_flag(run_id=flagged.pk, user=staff)
    # The newer alpha import is deleted (admin); the older one counts again.
    EvalRun.objects.get(pk=newer_alpha).delete()
    # Metadata edits.
    beta = LanguageModel.objects.get(repo_id="beta-lab/beta-3b")
    beta.parameters = 3_000_000_000
    beta.save()
    gamma.languages.set([language("zh"), language("en")])

    maintained = board_entries_snapshot()
    generation = board_generation()
    board_rebuild()

    assert board_entries_snapshot() == maintained
    assert board_generation() > generation
    assert BoardEntry.objects.filter(repo_id="acme/alpha-7b").values_list("run_id", flat=True).distinct().get() == (
        older_alpha
    )
    assert set(BoardEntry.objects.filter(model=beta).values_list("parameters", flat=True)) == {3_000_000_000}
    assert set(BoardEntry.objects.filter(model=gamma).values_list("flagged", flat=True)) == {True}
    assert BoardEntry.objects.filter(model=gamma, suite="quick", board="overall", provenance="all").get().languages == [
        "en",
        "zh",
    ]
    partial = BoardEntry.objects.get(run_id=finished.pk, board="overall", provenance="all")
    assert partial.kind == "partial" and partial.average is None
    assert not BoardEntry.objects.filter(run_id=queued.pk).exists()


def test_the_maintained_rows_carry_the_runs_averages_and_intervals():
    a = complete_run(model("a/a"), 0.7)
    b = complete_run(model("b/b"), 0.4)
    board_rebuild()

    keys = board_benchmarks(suite="quick", board="overall")
    rows = {
        e.run_id: e
        for e in BoardEntry.objects.filter(suite="quick", board="overall", provenance="all", method="loglikelihood")
    }
    assert set(rows) == {a.pk, b.pk}
    for run in (a, b):
        results = {r.benchmark: r for r in run.results.all()}
        ses = [results[key].stderr for key in keys]
        average, average_se = stats.mean([results[key].value for key in keys]), stats.mean_stderr(ses)
        row = rows[run.pk]
        assert row.kind == "complete"
        assert row.average == pytest.approx(average)
        assert row.average_se == pytest.approx(average_se)
        assert (row.lo, row.hi) == (
            pytest.approx(average - 1.96 * average_se),
            pytest.approx(average + 1.96 * average_se),
        )
    assert rows[a.pk].weights == "open" and rows[a.pk].organization_slug == "a"


def test_rebuild_leaderboard_if_stale_builds_once_then_leaves_current_rows(capsys):
    complete_run(model("a/a"), 0.7)
    assert board_is_stale()

    call_command("rebuild_leaderboard", "--if-stale")
    assert "rebuilt" in capsys.readouterr().out
    assert BoardEntry.objects.filter(repo_id="a/a").exists()
    assert not board_is_stale()

    call_command("rebuild_leaderboard", "--if-stale")
    assert "nothing to do" in capsys.readouterr().out
    assert BoardMeta.objects.get().rebuilt_at is not None


CASES = [
    ({}, "raw", "rank"),
    ({}, "normalized", "-rank"),
    ({"weights": "closed"}, "raw", "rank"),
    ({"language": "zh"}, "raw", "average"),
    ({"license": "MIT"}, "raw", "-average_normalized"),
    ({"commercial": True}, "normalized", "name"),
    ({"organization": "acme"}, "raw", "-name"),
    ({"size": "consumer"}, "raw", "parameters"),
    ({"min_params": 2_000_000_000, "max_params": 40_000_000_000}, "raw", "-parameters"),
    ({"search": "B-"}, "raw", "arc_easy"),
    ({"base": "acme/base-7b"}, "raw", "-mmlu"),
    ({"modality": "text", "on_hub": False}, "raw", "rank"),
]


def _board_fixture() -> None:
    from tests.evals.factories import LicenseFactory

    mit = LicenseFactory(key="mit", commercial_use="yes")
    nc = LicenseFactory(key="cc-by-nc-4.0", commercial_use="no")
    base = model("acme/base-7b", parameters=7_000_000_000, languages=["en"])
    complete_run(base, 0.62)
    for i in range(24):
        m = model(
            f"{['acme', 'beta', 'gamma'][i % 3]}/m-{i:02d}",
            parameters=[None, 1_000_000_000, 5_000_000_000, 30_000_000_000][i % 4],
            weights="closed" if i % 5 == 0 else "open",
            license=[mit, nc][i % 2],
            languages=["en", "zh"] if i % 3 == 0 else ["en"],
            base_model=base if i % 4 == 1 else None,
        )
        # Ties on purpose (i // 3): equal scores share ranks.
        complete_run(m, {key: 0.3 + (i // 3) * 0.05 + j * 0.001 for j, key in enumerate(QUICK)})
    complete_run(model("acme/partial-1b", parameters=1_000_000_000), {"arc_easy": 0.9}, is_partial=True, limit=5)
    complete_run(model("beta/old-sample", parameters=5_000_000_000), 0.7, n=50)


def _shape(page):
    return {
        "count": page.count,
        "rows": [
            (r.model.repo_id, r.rank, r.rank_worst, r.status, r.run.id, r.on_frontier, r.average, r.average_normalized)
            for r in page.rows
        ],
        "not_ranked": [(r.model.repo_id, r.status, r.run.id) for r in page.not_ranked],
        "not_ranked_count": page.not_ranked_count,
        "chart": [tuple(p) for p in page.chart],
        "chart_total": page.chart_total,
        "benchmarks": page.benchmarks,
    }


def test_the_table_read_side_answers_like_the_board_computed_from_the_runs():
    from django.core.cache import cache

    from evals.selectors.leaderboard import leaderboard_cache_bump, leaderboard_page
    from evals.selectors.leaderboard.columnar import board_table_meta

    _board_fixture()
    cache.clear()
    leaderboard_cache_bump()
    assert not board_table_meta()[1]
    computed = {
        i: _shape(leaderboard_page(filters=f, score=s, ordering=o, per_page=7, page=2 if i % 2 else 1, chart=True))
        for i, (f, s, o) in enumerate(CASES)
    }
    board_rebuild()
    assert board_table_meta()[1]
    from_table = {
        i: _shape(leaderboard_page(filters=f, score=s, ordering=o, per_page=7, page=2 if i % 2 else 1, chart=True))
        for i, (f, s, o) in enumerate(CASES)
    }
    for i in computed:
        assert from_table[i] == computed[i], CASES[i]
    assert any(len(set(r[1] for r in shape["rows"])) < len(shape["rows"]) for shape in computed.values())  # ties


def test_a_finished_run_shows_on_the_table_read_side_at_once(endpoint_model, django_capture_on_commit_callbacks):  # noqa: F811
    from evals.selectors.leaderboard import leaderboard_page

    complete_run(model("a/a"), 0.7)
    board_rebuild()
    assert [r.model.repo_id for r in leaderboard_page().rows] == ["a/a"]

    run = services.eval_run_create(
        model=endpoint_model, suite="quick", benchmarks=["arc_easy"], limit=4, backend="openai", dispatch=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.eval_run_execute(run_id=run.pk)

    page = leaderboard_page()
    assert [(r.model.repo_id, r.status) for r in page.not_ranked] == [(endpoint_model.repo_id, "partial")]


def test_an_unknown_ordering_on_the_table_read_side_is_refused():
    from evals.selectors.leaderboard import LeaderboardError, leaderboard_page

    complete_run(model("a/a"), 0.7)
    board_rebuild()
    with pytest.raises(LeaderboardError):
        leaderboard_page(ordering="nonsense")
    with pytest.raises(LeaderboardError):
        leaderboard_page(provenance="nonsense")


@pytest.mark.parametrize("n_models", [10, 50])
def test_the_table_read_side_query_count_does_not_grow_with_models(
    api_client, django_assert_num_queries, settings, n_models
):
    settings.LEADERBOARD_CACHE_TTL = 0  # no response cache: every request reads the board
    for i in range(n_models):
        complete_run(model(f"org/m{i:03}", languages=["en", "zh"]), 0.2 + i / 100)
    board_rebuild()
    # First request of this process: the table's generation, the board's rows as columns, the page's rows
    # (with the model fields shown) joined with their runs.
    with django_assert_num_queries(3):
        assert api_client.get("/api/v1/leaderboard/", {"per_page": 5}).json()["count"] == n_models
    # Columns loaded: the generation, the page's rows with their runs; filters never query.
    query = {"weights": "open", "language": "zh", "ordering": "name", "per_page": 5}
    with django_assert_num_queries(2):
        assert api_client.get("/api/v1/leaderboard/", query).json()["count"] == n_models
    # Those rows again, ranked by another score: hydrated once per generation (RowMemo), only the generation.
    with django_assert_num_queries(1):
        assert api_client.get("/api/v1/leaderboard/", {**query, "score": "normalized"}).json()["count"] == n_models


def _columns(arrays):
    """A board copy's rows as plain values, comparable between a patched and a reloaded copy."""
    from evals.selectors.leaderboard.columnar import _ROW_ARRAYS, _ROW_CODES

    out = {name: getattr(arrays, name).tolist() for name in (*_ROW_ARRAYS, "status", "id_order")}
    for name in _ROW_CODES:
        codes = getattr(arrays, name)
        words = list(codes.words)
        out[name] = [words[code] for code in codes.codes.tolist()]
    out["languages"] = {code: mask.tolist() for code, mask in arrays.languages.items() if mask.any()}
    out["meta"] = (arrays.n_ranked, arrays.expected_n, arrays.generation)
    return out


def test_a_board_copy_patched_with_the_changed_models_equals_a_reloaded_one():
    from evals.selectors.leaderboard.columnar import board_arrays, board_arrays_load, board_table_meta
    from evals.selectors.leaderboard.maintain import board_models_metadata_refresh, board_models_refresh

    complete_run(model("a/a"), 0.7)
    gone = complete_run(model("b/b"), 0.4)
    renamed = complete_run(model("c/c", languages=["zh"]), 0.5)
    board_rebuild()
    board = {"suite": "quick", "board": "overall", "provenance": "all", "method": "loglikelihood"}
    held = board_arrays(**board, generation=board_table_meta()[0])
    assert held.n_ranked == 3

    newer = complete_run(model("d/d", weights="closed"), 0.9)
    board_models_refresh([newer.model_id])  # a run finished
    gone.delete()  # a run deleted: its model's rows leave the board
    LanguageModel.objects.filter(pk=renamed.model_id).update(weights="closed")  # a bulk metadata edit
    board_models_metadata_refresh([renamed.model_id])
    generation = board_table_meta()[0]

    patched = board_arrays(**board, generation=generation)
    assert patched is not held and patched.generation == generation
    assert _columns(patched) == _columns(board_arrays_load(**board, generation=generation))
    assert [str(repo_id) for repo_id in patched.repo_id] == ["d/d", "a/a", "c/c"]
    assert patched.weights.equals("closed").tolist() == [True, False, True]


BOARD = {"suite": "quick", "board": "overall", "provenance": "all", "method": "loglikelihood"}
BOARD_KEY = tuple(BOARD.values())


@pytest.fixture
def snapshot_dir(settings, tmp_path):
    from evals.selectors.leaderboard import columnar

    settings.LEADERBOARD_SNAPSHOT_DIR = str(tmp_path / "board")
    columnar._loaded.clear()  # a process that holds no copy yet (a restarted worker)
    yield tmp_path / "board"
    columnar._loaded.clear()


def _restarted_worker_reads():
    """What a process that holds no copy yet serves at the table's current generation."""
    from evals.selectors.leaderboard import columnar

    columnar._loaded.clear()
    return columnar.board_arrays(**BOARD, generation=columnar.board_table_meta()[0])


def test_a_restarted_worker_starts_from_the_saved_copy_and_patches_it_to_the_current_generation(
    snapshot_dir, django_assert_max_num_queries
):
    from evals.selectors.leaderboard.columnar import board_arrays, board_arrays_load, board_table_meta
    from evals.selectors.leaderboard.maintain import board_models_refresh
    from evals.selectors.leaderboard.snapshot import board_snapshot_load, snapshot_path

    complete_run(model("a/a", languages=["en", "zh"]), 0.7)
    complete_run(model("b/b", weights="closed"), 0.4)
    board_rebuild()
    generation, _ready = board_table_meta()
    first = board_arrays(**BOARD, generation=generation)  # a full read of the table saves the copy
    assert snapshot_path(BOARD_KEY).is_file()
    saved = board_snapshot_load(BOARD_KEY, rebuilt=generation[1])
    assert saved is not None and _columns(saved) == _columns(first)
    assert [str(r) for r in saved.repo_lower] == ["a/a", "b/b"] and saved.name_rank.tolist() == [0, 1]

    # Restarted at the same generation: the saved copy, no read of the board's rows.
    with django_assert_max_num_queries(1):  # the generation only
        again = _restarted_worker_reads()
    assert _columns(again) == _columns(first)

    # A run finished since the copy was saved: the restarted worker patches the saved copy forward.
    newer = complete_run(model("c/c"), 0.9)
    board_models_refresh([newer.model_id])
    generation = board_table_meta()[0]
    patched = _restarted_worker_reads()
    assert patched.generation == generation
    assert _columns(patched) == _columns(board_arrays_load(**BOARD, generation=generation))
    assert [str(r) for r in patched.repo_id] == ["c/c", "a/a", "b/b"]


def test_a_copy_saved_before_a_rebuild_or_unreadable_is_ignored(snapshot_dir, caplog):
    from evals.selectors.leaderboard.columnar import board_arrays, board_table_meta
    from evals.selectors.leaderboard.snapshot import board_snapshot_load, snapshot_path

    complete_run(model("a/a"), 0.7)
    board_rebuild()
    board_arrays(**BOARD, generation=board_table_meta()[0])
    path = snapshot_path(BOARD_KEY)
    saved_before = path.read_bytes()

    complete_run(model("b/b"), 0.8)
    board_rebuild()  # other rows, a new rebuild time: the saved copy no longer describes the table
    rebuilt = board_table_meta()[0][1]
    assert board_snapshot_load(BOARD_KEY, rebuilt=rebuilt) is None
    assert [str(r) for r in _restarted_worker_reads().repo_id] == ["b/b", "a/a"]  # read from the table

    path.write_bytes(saved_before[: len(saved_before) // 2])  # a truncated file (a full disk)
    assert board_snapshot_load(BOARD_KEY, rebuilt=rebuilt) is None
    assert "ignored" in caplog.text
    assert [str(r) for r in _restarted_worker_reads().repo_id] == ["b/b", "a/a"]
    assert board_snapshot_load(BOARD_KEY, rebuilt=rebuilt) is not None  # and saved again, whole


def test_no_copy_is_saved_when_snapshots_are_off(snapshot_dir, settings):
    settings.LEADERBOARD_SNAPSHOT_DIR = ""
    complete_run(model("a/a"), 0.7)
    board_rebuild()
    assert [str(r) for r in _restarted_worker_reads().repo_id] == ["a/a"]
    assert not snapshot_dir.exists()


def test_rebuild_leaderboard_saves_every_board_for_the_web_workers(snapshot_dir, django_assert_max_num_queries):
    from io import StringIO

    from evals.selectors.leaderboard.columnar import board_table_meta
    from evals.selectors.leaderboard.snapshot import board_snapshot_load

    complete_run(model("a/a", languages=["zh"]), 0.7)
    out = StringIO()
    call_command("rebuild_leaderboard", stdout=out)
    keys = set(BoardEntry.objects.values_list("suite", "board", "provenance", "method").distinct())
    assert ("quick", "zh", "measured", "loglikelihood") in keys
    assert f"saved {len(keys)} board copies" in out.getvalue()
    rebuilt = board_table_meta()[0][1]
    assert all(board_snapshot_load(key, rebuilt=rebuilt) is not None for key in keys)
    with django_assert_max_num_queries(1):
        assert [str(r) for r in _restarted_worker_reads().repo_id] == ["a/a"]


def test_every_ordering_and_rank_equals_a_plain_sort_of_the_filtered_rows():
    """The per-generation permutations and the one-sweep rank ordering give what sorting the filtered rows
    themselves gives, with ties (equal scores, sizes, names; overlapping intervals) broken the same way."""
    import random

    from evals.selectors.leaderboard.columnar import board_mask, columnar_order
    from evals.selectors.leaderboard.read import board_current

    rng = random.Random(7)
    for i in range(36):
        scores = {key: round(rng.choice([0.3, 0.4, 0.45, 0.5, 0.6, 0.7]) + rng.random() * 0.05, 2) for key in QUICK}
        complete_run(
            model(
                f"org{i % 3}/m{rng.randint(0, 20):02}-{i}",
                parameters=rng.choice([None, 10**9, 7 * 10**9, 13 * 10**9]),
                languages=rng.choice([["en"], ["en", "zh"]]),
                weights=rng.choice(["open", "closed"]),
            ),
            scores,
            n=rng.choice([20, 100]) if i % 9 else 100,
        )
    board_rebuild()
    arrays = board_current(suite="quick", board="overall")
    r = arrays.n_ranked
    assert 20 < r < 36  # some runs on other items: listed, not ranked

    def reference(filters, score, ordering):
        mask = board_mask(arrays, filters)
        keep = [p for p in range(r) if mask is None or mask[p]]
        normalized = score == "normalized"
        lo = arrays.lo_normalized if normalized else arrays.lo
        hi = arrays.hi_normalized if normalized else arrays.hi
        rank = {p: 1 + sum(lo[q] > hi[p] for q in keep) for p in keep}
        worst = {p: sum(hi[q] >= lo[p] for q in keep) for p in keep}
        value = arrays.average_normalized if normalized else arrays.average
        name = ordering.lstrip("-")
        sign = -1 if ordering.startswith("-") else 1
        if name == "rank":
            ordered = sorted(keep, key=lambda p: (rank[p], -value[p], int(arrays.id_order[p])))
            ordered = ordered[::-1] if sign < 0 else ordered
        elif name == "parameters":
            known = [p for p in keep if arrays.parameters[p] == arrays.parameters[p] and arrays.parameters[p]]
            ordered = sorted(known, key=lambda p: (sign * arrays.parameters[p], p)) + [
                p for p in keep if p not in known
            ]
        else:
            column = {
                "name": arrays.name_rank,
                "average": arrays.average,
                "average_normalized": arrays.average_normalized,
            }.get(name)
            if column is None:
                column = arrays.values[:, arrays.benchmarks.index(name)]
            ordered = sorted(keep, key=lambda p: (sign * column[p], p))
        return [(p, rank[p], worst[p]) for p in ordered]

    orderings = ["rank", "-rank", "average", "-average", "average_normalized", "name", "-name", "parameters"]
    orderings += ["-parameters", "-mmlu", "arc_easy"]
    for filters in ({}, {"weights": "open"}, {"language": "zh"}, {"size": "mid"}, {"organization": "org1"}):
        for score in ("raw", "normalized"):
            for ordering in orderings:
                order = columnar_order(arrays, filters=filters, score=score, ordering=ordering)
                got = [
                    (int(p), rank, worst)
                    for p, (rank, worst) in zip(order.indexes, order.rank_range(0, len(order)), strict=True)
                ]
                assert got == reference(filters, score, ordering), (filters, score, ordering)


@pytest.mark.parametrize("memo_rows", [0, 3, 2000])
def test_the_row_memo_off_small_or_large_gives_the_same_bodies_and_forgets_its_oldest_rows(
    api_client, settings, memo_rows
):
    """RowMemo keeps hydrated rows per board generation: whatever its size, every body is the one computed
    without it, and a full memo drops the rows it took first."""
    from evals.selectors.leaderboard.columnar import _loaded
    from evals.selectors.leaderboard.read import board_current, row_memo

    settings.LEADERBOARD_CACHE_TTL = 0
    for i in range(8):
        complete_run(model(f"org/m{i}", parameters=(i + 1) * 1_000_000_000, languages=["en"]), 0.3 + i / 20)
    board_rebuild()
    queries = [{"per_page": 3}, {"per_page": 3, "page": 2}, {"ordering": "name"}, {"min_params": "4B"}, {}]
    settings.LEADERBOARD_ROW_MEMO = 0
    _loaded.clear()
    expected = [api_client.get("/api/v1/leaderboard/", q).json() for q in queries]

    settings.LEADERBOARD_ROW_MEMO = memo_rows
    _loaded.clear()
    for _ in range(2):
        assert [api_client.get("/api/v1/leaderboard/", q).json() for q in queries] == expected
    memo = row_memo(board_current(suite="quick", board="overall"))
    assert len(memo.rows) == min(memo_rows, 8)
    if memo_rows == 3:  # the last request showed every row, best first: the memo holds the last three taken
        assert [row.model.repo_id for row in memo.rows.values()] == ["org/m2", "org/m1", "org/m0"]
    if memo_rows == 2000:
        assert memo.hits > 0


@pytest.mark.parametrize("jumps", [1, 2000])
def test_search_finds_the_rows_whose_id_or_name_holds_the_text_whatever_the_way_it_scans(monkeypatch, jumps):
    """SearchText jumps from hit to hit up to _SEARCH_JUMPS rows, then tests every row at once: both ways find
    the rows whose lower-cased id or name contains the text, never a match across the id/name boundary."""
    from evals.selectors.leaderboard import columnar
    from evals.selectors.leaderboard.read import board_current

    monkeypatch.setattr(columnar, "_SEARCH_JUMPS", jumps)
    for repo_id in ["Qwen/Qwen2.5-7B", "qwen/qwen-tiny", "meta-llama/Llama-3-8B", "org/ab", "cd-org/x"]:
        complete_run(model(repo_id), 0.5)
    board_rebuild()
    arrays = board_current(suite="quick", board="overall")

    def found(text: str) -> list[str]:
        mask = columnar.filter_search(arrays, text)
        assert mask is not None
        return sorted(arrays.repo_id[mask].tolist())

    assert found("QWEN") == ["Qwen/Qwen2.5-7B", "qwen/qwen-tiny"]
    assert found("llama-3") == ["meta-llama/Llama-3-8B"]
    assert found("ab") == ["org/ab"]  # "ab\x00ab": one row, not two hits
    assert found("abcd") == []  # not across one row's end and the next one's start
    assert found("/") == ["Qwen/Qwen2.5-7B", "cd-org/x", "meta-llama/Llama-3-8B", "org/ab", "qwen/qwen-tiny"]
    assert found("no\x00such") == []
    assert columnar.filter_search(arrays, "  ") is None
