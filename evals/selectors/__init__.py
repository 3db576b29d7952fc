"""Reads of the evals app: leaderboard.py (boards, ranks, intervals) and runs.py (queue, run details, items)."""
