"""Results exchange: reading lm-evaluation-harness / Open LLM Leaderboard output files, writing our runs as them.

formats.py parses files into dataclasses (no Django); services.py stores them as imported runs and
exports runs; the archive import runs as a Celery task (evals.tasks.import_archive_task).
"""
