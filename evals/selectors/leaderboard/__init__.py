"""The leaderboard: one primary score per benchmark, intervals, averages and tie-aware ranks.

The package, by concern: boards.py (suites, boards, their benchmarks, names and limits), build.py
(reading a board's runs from the database), maintain.py (the maintained board table, BoardEntry, written
with each change), columnar.py (its per-process numpy copy: filter masks, ranks, orderings), read.py (page,
rows, CSV export, hydrate), summaries.py (model page, compare), cache.py (response cache),
benchmark_info.py (benchmark and suite facts); the numbers themselves are evals/stats.py.

One read path: every surface (leaderboard page and API, CSV, model pages, compare) reads the maintained
table through its columnar copy. A table never built (a fresh install before migrate's
`rebuild_leaderboard --if-stale`) is built on first use.

What a board row holds (per suite, board = overall | en | zh, provenance and method; maintain.py):

* Only runs of a revision that may rank count at all (evals/selectors/revisions.py: the model's current
  Hub commit, a revision staff marked, or weights that are not the Hub's); runs of other revisions
  (pull requests, old commits) appear only in the model's history.
* Per model the latest complete run (succeeded, not partial, every benchmark of the board present), by
  finished_at then id; a model without one shows its latest partial or incomplete run, "not ranked".
* A complete row ranks when it was scored on the board's usual items (per benchmark the most common n
  among complete rows, ties: the larger); otherwise it is listed as "not comparable". A model whose
  latest complete run used other items is shown so even when an older run of it was comparable: the
  board shows the run that counts now, not an older one.
* Score of a benchmark: BenchmarkResult.value of its primary metric (lm-eval's usual metric), 0..1.
  Normalized as the Open LLM Leaderboard v2 does: norm = max(0, (raw - b) / (1 - b)) * 100 with b the
  benchmark's random baseline.
* Standard error of a benchmark: BenchmarkResult.stderr (sample std / sqrt(n) over the items), else one
  aggregate query over the ItemResult metrics. 95% interval: value +- 1.96 * SE.
* Average: the plain mean of the k benchmark scores; SE of the mean sqrt(sum_b SE_b^2) / k.
* Rank (as Chatbot Arena): 1 + the number of models whose interval lies entirely above this one's, among
  the rows shown (after filters); `rank_worst` = the number whose interval is not entirely below this one,
  self included. Both from searches over the sorted bounds (evals/stats.py rank_arrays).

Freshness: writers rewrite a model's rows and bump BoardMeta.generation in their transaction, logging
the model (BoardChange); each web process patches its columnar copy with the changed models' rows when
the generation moved. Rendered pages and API bodies are cached under cache.py's generation, which the
writers bump after commit; `LADDER_LEADERBOARD_CACHE_TTL` bounds their staleness.
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
from evals.selectors.leaderboard.columnar import BoardModel
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
    "BoardModel",
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
