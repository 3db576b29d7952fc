"""Evaluation runs, their per-benchmark results and their per-item results.

Benchmarks and suites are data in code (evals/benchmarks/, evals/suites.py); rows refer to them by key.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class EvalRun(models.Model):
    """One evaluation: (model, pinned revision sha, suite, backend, dtype) plus its settings.

    State machine: queued -> running -> succeeded | failed | cancelled; a running run whose worker
    died goes back to queued (the reaper) and resumes from its stored items.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)
    FINISHED_STATUSES = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    model = models.ForeignKey("registry.LanguageModel", on_delete=models.PROTECT, related_name="eval_runs")
    revision = models.CharField(max_length=200, default="main", help_text="as requested")
    revision_sha = models.CharField(max_length=64, blank=True, help_text="resolved commit sha (or weights digest)")
    suite = models.CharField(max_length=40, db_index=True)
    benchmarks = models.JSONField(default=list, help_text="benchmark keys, in order")
    backend = models.CharField(max_length=20, default="transformers")
    dtype = models.CharField(max_length=12, default="auto")
    device = models.CharField(max_length=12, default="auto")
    batch_size = models.PositiveIntegerField(default=8)
    limit = models.PositiveIntegerField(null=True, blank=True, help_text="first N items per benchmark")
    is_partial = models.BooleanField(default=False, help_text="benchmark subset or limit: shown, never ranked")
    settings = models.JSONField(default=dict, blank=True, help_text="n-shot per benchmark, seed, sample size ...")
    engine_version = models.CharField(max_length=20, blank=True)

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    worker_host = models.CharField(max_length=200, blank=True)

    submitted_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="eval_runs"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    dispatched_at = models.DateTimeField(null=True, blank=True, help_text="last time a message was sent")
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["queued", "running", "succeeded", "failed", "cancelled"]),
                name="evalrun_status_valid",
            ),
            # A duplicate submission (same model sha, suite, backend, dtype) returns the existing run.
            models.UniqueConstraint(
                fields=["model", "revision_sha", "suite", "backend", "dtype"],
                condition=models.Q(is_partial=False, status__in=["queued", "running", "succeeded"]),
                name="evalrun_unique_complete_run",
            ),
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"]), models.Index(fields=["model", "suite", "status"])]

    def __str__(self) -> str:
        return f"EvalRun #{self.pk} {self.model_id} {self.suite} ({self.status})"

    @property
    def progress_percent(self) -> int:
        if not self.progress_total:
            return 0
        return min(100, int(100 * self.progress_done / self.progress_total))


class BenchmarkResult(models.Model):
    """The aggregate score of one benchmark within a run."""

    run = models.ForeignKey(EvalRun, on_delete=models.CASCADE, related_name="results")
    benchmark = models.CharField(max_length=40)
    metrics = models.JSONField(default=dict, help_text='{"acc": 0.61, "acc_norm": 0.55, ...}')
    primary_metric = models.CharField(max_length=30)
    value = models.FloatField(help_text="the primary metric, 0..1")
    stderr = models.FloatField(null=True, blank=True)
    n = models.PositiveIntegerField()
    method = models.CharField(max_length=20, default="loglikelihood", help_text="loglikelihood | generative")
    n_shot = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run_id", "benchmark"]
        constraints = [models.UniqueConstraint(fields=["run", "benchmark"], name="benchmarkresult_unique")]
        indexes = [models.Index(fields=["benchmark", "value"])]

    def __str__(self) -> str:
        return f"{self.benchmark}={self.value:.4f} (run {self.run_id})"


class ItemResult(models.Model):
    """One scored item, saved as soon as it is scored so a killed worker resumes where it stopped."""

    run = models.ForeignKey(EvalRun, on_delete=models.CASCADE, related_name="items")
    benchmark = models.CharField(max_length=40)
    item_id = models.CharField(max_length=200)
    position = models.PositiveIntegerField(help_text="index of the item in the run's order for this benchmark")
    subject = models.CharField(max_length=100, blank=True)
    prompt = models.TextField(blank=True)
    choices = models.JSONField(default=list, blank=True)
    loglikelihoods = models.JSONField(default=list, blank=True)
    generated = models.TextField(blank=True)
    target = models.JSONField(null=True, blank=True)
    prediction = models.JSONField(null=True, blank=True)
    metrics = models.JSONField(default=dict, help_text='per-item metric values {"acc": 1.0, ...}')
    correct = models.BooleanField(default=False, help_text="the primary metric is 1 (or the best choice is right)")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run_id", "benchmark", "position"]
        constraints = [models.UniqueConstraint(fields=["run", "benchmark", "item_id"], name="itemresult_unique")]

    def __str__(self) -> str:
        return f"{self.benchmark}:{self.item_id} (run {self.run_id})"
