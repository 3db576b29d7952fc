"""The leaderboard: one primary score per benchmark, intervals, averages and tie-aware ranks.

The package, by concern: boards.py (suites, boards, their benchmarks, names and limits), build.py
(computing a board from the runs), maintain.py (the maintained board table, BoardEntry), cache.py
(generation and memo), read.py (filter, rank, order, page, hydrate), summaries.py (model page,
compare), benchmark_info.py (benchmark and suite facts); the numbers themselves are evals/stats.py.

How a board is computed (per suite, per board = overall | en | zh):

* Only runs of a revision that may rank count at all (evals/selectors/revisions.py: the model's current
  Hub commit, a revision staff marked, or weights that are not the Hub's); runs of other revisions
  (pull requests, old commits) appear only in the model's history.
* Eligible runs: status succeeded, not partial, same suite, every benchmark of the board present with
  the board's usual item count (the suite's fixed sample, so every ranked model saw the same items).
  For each model the latest eligible run counts (by finished_at, then id). A model without one but
  with a partial, incomplete or non-comparable run is listed under "not ranked", marked as such.
* Score of a benchmark: BenchmarkResult.value of its primary metric (lm-eval's usual metric), 0..1.
  Normalized as the Open LLM Leaderboard v2 does: norm = max(0, (raw - b) / (1 - b)) * 100 with b the
  benchmark's random baseline.
* Standard error of a benchmark: BenchmarkResult.stderr (sample std / sqrt(n) over the items, stored
  when the run finishes); where it is missing, one aggregate SQL query over the ItemResult metrics of
  the primary metric (Avg / StdDev / Count). 95% interval: value +- 1.96 * SE.
* Average: the plain mean of the k benchmark scores (raw 0..1 and normalized 0..100). Benchmarks are
  independent samples, so the SE of the mean of means is sqrt(sum_b SE_b^2) / k; interval +- 1.96 SE.
* Rank (as Chatbot Arena): 1 + the number of models whose interval lies entirely above this one's
  (their lower bound > this upper bound), among the rows shown (after filters). Statistically tied
  models share a rank. `rank_worst` = the number of models whose interval is not entirely below this
  one (its upper bound >= this lower bound), self included: the rank range is rank..rank_worst.
  Both come from binary searches over the sorted bounds, O(n log n) (evals/stats.py).

The board is read with one aggregate query on PostgreSQL (per run: its results as arrays, the averages
and their SE computed in the database); on SQLite (the embedded default) through the ORM.

Caching: everything derived from the runs lives under a generation number kept in the Django cache;
`leaderboard_cache_bump()` (the evals services call it when a run finishes, is cancelled, retried or
deleted) makes every cached board stale at once. Cached: the board ("core": one compact tuple per
model) and each filtered ranked order (memoised per process, and also stored in the Django cache when
it is shared, e.g. Redis), the size chart per filter, the API JSON and the rendered page body per
query. `LADDER_LEADERBOARD_CACHE_TTL` (seconds, default 300; 0 = no caching) bounds staleness when a
bump cannot reach a process: with the default local-memory cache each web process has its own
generation, so a run finished by a worker shows after at most the TTL; set CACHE_URL to Redis to
share it. Tests that write runs directly must call leaderboard_cache_bump() (cache.clear() alone
keeps the per-process memo).
"""

from evals.selectors.leaderboard.benchmark_info import (
    benchmark_info,
    benchmark_infos,
    benchmark_item_count,
    suite_infos,
)
from evals.selectors.leaderboard.boards import (
    BOARDS,
    DEFAULT_METHOD,
    DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
    MODEL_FILTER_KEYS,
    ORDERING_FIELDS,
    RUN_METHODS,
    RUN_PROVENANCES,
    SCORE_MODES,
    Z95,
    LeaderboardError,
    benchmarks,
    board_benchmarks,
    interval,
    mean_stderr,
    normalize,
    random_baseline,
    suite_boards,
    suites,
)
from evals.selectors.leaderboard.build import (
    Averages,
    RunResults,
    _item_stderrs,
    _item_stderrs_python,
    _runs_orm,
    _runs_postgresql,
    _timestamp,
)
from evals.selectors.leaderboard.cache import (
    leaderboard_cache_bump,
    leaderboard_cache_generation,
    leaderboard_cache_peek,
    leaderboard_cache_put,
    leaderboard_cached,
)
from evals.selectors.leaderboard.read import (
    ChartPoint,
    LeaderboardPage,
    LeaderboardRow,
    RunInfo,
    Score,
    board_current,
    leaderboard_export,
    leaderboard_page,
    leaderboard_rows,
)
from evals.selectors.leaderboard.summaries import (
    CompareEntry,
    ModelEvaluationSummary,
    SuiteSummary,
    compare_models,
    model_choices,
    model_evaluation_summary,
    model_suite_summary,
)
from evals.stats import rank_intervals

__all__ = [
    "BOARDS",
    "DEFAULT_METHOD",
    "DEFAULT_PER_PAGE",
    "MAX_PER_PAGE",
    "MODEL_FILTER_KEYS",
    "ORDERING_FIELDS",
    "RUN_METHODS",
    "RUN_PROVENANCES",
    "SCORE_MODES",
    "Z95",
    "Averages",
    "ChartPoint",
    "CompareEntry",
    "LeaderboardError",
    "LeaderboardPage",
    "LeaderboardRow",
    "ModelEvaluationSummary",
    "RunInfo",
    "RunResults",
    "Score",
    "SuiteSummary",
    "_item_stderrs",
    "_item_stderrs_python",
    "_runs_orm",
    "_runs_postgresql",
    "_timestamp",
    "benchmark_info",
    "benchmark_infos",
    "benchmark_item_count",
    "benchmarks",
    "board_benchmarks",
    "board_current",
    "compare_models",
    "interval",
    "leaderboard_cache_bump",
    "leaderboard_cache_generation",
    "leaderboard_cache_peek",
    "leaderboard_cache_put",
    "leaderboard_cached",
    "leaderboard_export",
    "leaderboard_page",
    "leaderboard_rows",
    "mean_stderr",
    "model_choices",
    "model_evaluation_summary",
    "model_suite_summary",
    "normalize",
    "random_baseline",
    "rank_intervals",
    "suite_boards",
    "suite_infos",
    "suites",
]
