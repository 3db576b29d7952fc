"""HTML pages of the evals app: leaderboard.py (board, compare, benchmarks) and runs.py (submit, queue, runs)."""
