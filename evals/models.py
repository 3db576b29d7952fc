"""Evaluation runs, their per-benchmark results and their per-item results.

Benchmarks and suites are data in code (evals/benchmarks/, evals/suites.py); rows refer to them by key.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Provenance(models.TextChoices):
    """Where a score comes from; the same words in models, API fields, query parameters, pages and CSV."""

    MEASURED = "measured", _("measured")  # run by this service's workers
    IMPORTED = "imported", _("imported")  # an lm-evaluation-harness run made elsewhere, read from its files
    REPORTED = "reported", _("reported")  # published by the makers, the Hub or a third party


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
    provenance = models.CharField(
        max_length=10,
        choices=[c for c in Provenance.choices if c[0] != Provenance.REPORTED],
        default=Provenance.MEASURED,
        db_index=True,
        help_text="measured here, or imported from an lm-eval run made elsewhere (see its ResultImport)",
    )

    class Method(models.TextChoices):
        """How multiple choice was scored (evals/generative.py); the boards never mix two methods."""

        LOGLIKELIHOOD = "loglikelihood", _("log-likelihood")
        GENERATIVE = "generative", _("generative")
        MIXED = "mixed", _("mixed")

    method = models.CharField(
        max_length=14,
        choices=Method.choices,
        default=Method.LOGLIKELIHOOD,
        db_index=True,
        help_text="loglikelihood: lm-eval's default tasks; generative: chat variants; mixed: both (never ranked)",
    )
    # Degenerate scores (evals/generative.py degenerate_reasons): set when the run finishes.
    flagged = models.BooleanField(default=False, db_index=True, help_text="unparsed or collapsed answers")
    flag_reasons = models.JSONField(default=list, blank=True, help_text="[{benchmark, rule, share, ...}]")
    flag_accepted_at = models.DateTimeField(null=True, blank=True, help_text="staff accepted the flagged scores")
    flag_accepted_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="accepted_flagged_runs"
    )
    # Tokens the endpoint reported for the run's items (None: not reported, e.g. local weights).
    prompt_tokens = models.PositiveBigIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveBigIntegerField(null=True, blank=True)

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
                condition=models.Q(
                    is_partial=False, status__in=["queued", "running", "succeeded"], provenance="measured"
                ),
                name="evalrun_unique_complete_run",
            ),
            models.CheckConstraint(
                condition=models.Q(provenance__in=["measured", "imported"]), name="evalrun_provenance_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(method__in=["loglikelihood", "generative", "mixed"]), name="evalrun_method_valid"
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
    variant = models.CharField(
        max_length=60, blank=True, help_text="the lm-eval task or chat variant asked (evals/generative.py)"
    )
    n_shot = models.PositiveSmallIntegerField(default=0)
    unparsed = models.PositiveIntegerField(default=0, help_text="items whose answer could not be read (scored wrong)")
    answer_stats = models.JSONField(default=dict, blank=True, help_text="{answer: count} of the parsed answers")
    prompt_tokens = models.PositiveBigIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveBigIntegerField(null=True, blank=True)
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
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True, help_text="as the endpoint reported them")
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run_id", "benchmark", "position"]
        constraints = [models.UniqueConstraint(fields=["run", "benchmark", "item_id"], name="itemresult_unique")]

    def __str__(self) -> str:
        return f"{self.benchmark}:{self.item_id} (run {self.run_id})"


class ResultImport(models.Model):
    """One imported results file (lm-eval 0.4 `results_*.json` or Open LLM Leaderboard v1): the run it became.

    Idempotent by the file's sha256 (`digest`): importing the same file twice changes nothing. What the
    file says about how it was made is kept as provenance.
    """

    class Format(models.TextChoices):
        LM_EVAL = "lm_eval", _("lm-evaluation-harness 0.4 results")
        OPEN_LLM_V1 = "open_llm_v1", _("Open LLM Leaderboard v1 results")

    digest = models.CharField(max_length=64, unique=True, help_text="sha256 of the results file")
    format = models.CharField(max_length=20, choices=Format.choices)
    run = models.OneToOneField(EvalRun, on_delete=models.CASCADE, related_name="import_record")
    source = models.CharField(max_length=500, blank=True, help_text="file name, or hub dataset repo@rev:path")
    source_file_sha = models.CharField(
        max_length=64, blank=True, db_index=True, help_text="the Hub's blob/LFS id of the file (skip unchanged)"
    )
    samples_digest = models.CharField(max_length=64, blank=True, help_text="sha256 of the samples files, if any")
    harness_version = models.CharField(max_length=100, blank=True)
    model_name = models.CharField(max_length=300, blank=True, help_text="the model as the file names it")
    model_args = models.TextField(blank=True)
    model_sha = models.CharField(max_length=64, blank=True)
    dtype = models.CharField(max_length=30, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True, help_text="when the harness ran, per the file")
    details = models.JSONField(default=dict, blank=True, help_text="tasks, shots, limits ... as read")
    imported_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL)
    job = models.ForeignKey("ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="imports")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"ResultImport #{self.pk} {self.source or self.digest[:12]}"


class ImportJob(models.Model):
    """One import of many files (a Hub dataset archive, or a command/API batch), with progress and counts."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        PARTIAL = "partial", _("finished with errors")
        FAILED = "failed", _("failed")

    source = models.CharField(max_length=300, help_text="hub dataset repo id, or 'files'")
    revision = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    files_total = models.PositiveIntegerField(default=0)
    files_done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="[{file, field, message}]")
    requested_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["queued", "running", "succeeded", "partial", "failed"]),
                name="importjob_status_valid",
            )
        ]

    def __str__(self) -> str:
        return f"ImportJob #{self.pk} {self.source} ({self.status})"


class ReportedScore(models.Model):
    """A published score: from the model's makers, the Hub (model-index, .eval_results) or a third party.

    Never averaged with or ranked against measured/imported runs: settings differ from source to source.
    `value` is a fraction (0..1) like every score here; `published_value` is the number as published.
    Rows are written by one origin each (the catalog, a Hub sync) and upserted by (model, origin, origin_key).
    """

    class SourceKind(models.TextChoices):
        PAPER = "paper", _("paper")
        TECH_REPORT = "tech_report", _("technical report")
        MODEL_CARD = "model_card", _("model card")
        LEADERBOARD = "leaderboard", _("leaderboard")
        HUB_MODEL_INDEX = "hub_model_index", _("Hub model-index")
        HUB_EVAL_RESULTS = "hub_eval_results", _("Hub .eval_results")
        SECONDARY = "secondary", _("secondary source")

    class ReportedBy(models.TextChoices):
        DEVELOPER = "developer", _("the model's developers")
        THIRD_PARTY = "third_party", _("a third party")
        COMMUNITY = "community", _("the community (an open pull request)")

    class Origin(models.TextChoices):
        CATALOG = "catalog", _("seed catalog")
        HUB = "hub", _("Hub sync")
        HUB_PR = "hub_pr", _("Hub sync (open pull requests)")
        ADMIN = "admin", _("admin")

    model = models.ForeignKey("registry.LanguageModel", on_delete=models.CASCADE, related_name="reported_scores")
    benchmark = models.CharField(max_length=100, db_index=True, help_text="our key, or the raw dataset id/task")
    benchmark_known = models.BooleanField(default=False, help_text="benchmark is one of ours")
    metric = models.CharField(max_length=50, blank=True)
    value = models.FloatField(help_text="0..1")
    published_value = models.FloatField(help_text="as published (often 0..100)")
    n_shot = models.PositiveSmallIntegerField(null=True, blank=True)
    setting = models.TextField(blank=True, help_text="what makes the figure (in)comparable")
    variant = models.CharField(max_length=200, blank=True, help_text="the exact model variant the figure is of")
    source_kind = models.CharField(max_length=20, choices=SourceKind.choices)
    source_name = models.CharField(max_length=300, blank=True)
    source_url = models.URLField(max_length=500, blank=True)
    reported_by = models.CharField(max_length=12, choices=ReportedBy.choices, default=ReportedBy.DEVELOPER)
    verified = models.BooleanField(default=False, help_text="the Hub verified it (verifyToken)")
    published = models.DateField(null=True, blank=True)
    origin = models.CharField(max_length=10, choices=Origin.choices)
    origin_key = models.CharField(max_length=300, help_text="stable id within the origin (evidence id, file:index)")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model_id", "benchmark", "-published"]
        constraints = [
            models.UniqueConstraint(fields=["model", "origin", "origin_key"], name="reportedscore_unique_origin"),
            models.CheckConstraint(condition=models.Q(value__gte=0, value__lte=1), name="reportedscore_value_0_1"),
        ]
        indexes = [models.Index(fields=["benchmark", "value"])]

    def __str__(self) -> str:
        return f"{self.benchmark}={self.published_value} ({self.model_id}, {self.source_kind})"


class HubPublication(models.Model):
    """One attempt to publish a run's scores to its model's Hub repo as a pull request of
    `.eval_results/<benchmark>.yaml` files (evals/exchange/publish.py).

    `pending` while the Hub is asked, then `published` (with the PR's number, URL and commit) or `failed`
    (with the error, and no PR fields: nothing half-done is recorded). At most one pending or published
    row per run, so publishing a run twice returns its PR instead of opening another.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        PUBLISHED = "published", _("published")
        FAILED = "failed", _("failed")

    run = models.ForeignKey(EvalRun, on_delete=models.CASCADE, related_name="hub_publications")
    repo_id = models.CharField(max_length=200, help_text="the model repo the pull request was opened on")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    files = models.JSONField(default=list, blank=True, help_text="paths of the files the pull request adds")
    pr_num = models.PositiveIntegerField(null=True, blank=True)
    pr_url = models.URLField(max_length=500, blank=True)
    commit_sha = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "published", "failed"]), name="hubpublication_status_valid"
            ),
            models.UniqueConstraint(
                fields=["run"],
                condition=models.Q(status__in=["pending", "published"]),
                name="hubpublication_one_per_run",
            ),
            # A published row names its pull request; a failed one never does.
            models.CheckConstraint(
                condition=~models.Q(status="published") | (models.Q(pr_num__isnull=False) & ~models.Q(pr_url="")),
                name="hubpublication_published_has_pr",
            ),
        ]

    def __str__(self) -> str:
        return f"HubPublication #{self.pk} run {self.run_id} -> {self.repo_id} ({self.status})"


class BoardEntry(models.Model):
    """One model's line on one board: the maintained leaderboard (evals/selectors/leaderboard/maintain.py).

    One row per (model, suite, board, provenance, method): the run that counts (the latest complete run,
    else the latest partial or incomplete one), its per-benchmark results aligned with the board's
    benchmarks, the averages with their SE and interval bounds, and copies of the model's filter columns.
    Written in the same transaction as the run or model change that alters it; `rebuild_leaderboard`
    recomputes every row from the runs.
    """

    class Kind(models.TextChoices):
        COMPLETE = "complete", _("complete")  # ranked unless scored on other items than the board's
        PARTIAL = "partial", _("partial")
        INCOMPLETE = "incomplete", _("incomplete")

    model = models.ForeignKey("registry.LanguageModel", on_delete=models.CASCADE, related_name="board_entries")
    suite = models.CharField(max_length=40)
    board = models.CharField(max_length=10, help_text="overall | en | zh")
    provenance = models.CharField(max_length=10, help_text="all (measured and imported) | measured | imported")
    method = models.CharField(max_length=20)
    run = models.ForeignKey(EvalRun, on_delete=models.CASCADE, related_name="board_entries")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    run_provenance = models.CharField(max_length=10, help_text="measured | imported")
    flagged = models.BooleanField(default=False, help_text="degenerate answers, flag accepted by staff")
    finished_at = models.DateTimeField(null=True, blank=True)
    values = models.JSONField(default=list, help_text="raw 0..1 per board benchmark, null where missing")
    stderrs = models.JSONField(default=list)
    ns = models.JSONField(default=list)
    metrics = models.JSONField(default=list)
    average = models.FloatField(null=True, blank=True)
    average_se = models.FloatField(null=True, blank=True)
    average_normalized = models.FloatField(null=True, blank=True)
    average_normalized_se = models.FloatField(null=True, blank=True)
    lo = models.FloatField(null=True, blank=True, help_text="95% interval of the average (a point without SE)")
    hi = models.FloatField(null=True, blank=True)
    lo_normalized = models.FloatField(null=True, blank=True)
    hi_normalized = models.FloatField(null=True, blank=True)
    # The model's filter columns (registry.selectors.models.model_filter's keys), copied here.
    repo_id = models.CharField(max_length=200)
    name = models.CharField(max_length=200)
    weights = models.CharField(max_length=6)
    parameters = models.BigIntegerField(null=True, blank=True)
    languages = models.JSONField(default=list, help_text="ISO 639-1 codes")
    license_key = models.CharField(max_length=100, blank=True)
    commercial_use = models.CharField(max_length=12, blank=True)
    organization_slug = models.CharField(max_length=100)
    modality = models.CharField(max_length=16)
    base_repo_id = models.CharField(max_length=200, blank=True)
    base_model_ref = models.CharField(max_length=200, blank=True)
    on_hub = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model", "suite", "board", "provenance", "method"], name="boardentry_one_per_board"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=["complete", "partial", "incomplete"]), name="boardentry_kind_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["suite", "board", "provenance", "method", "kind", "-average"], name="boardentry_rank"),
            models.Index(fields=["suite", "board", "provenance", "method", "parameters"], name="boardentry_size"),
        ]

    def __str__(self) -> str:
        return f"{self.repo_id} on {self.suite}/{self.board}/{self.provenance}/{self.method} (run {self.run_id})"


class BoardMeta(models.Model):
    """The maintained board's single bookkeeping row: a generation bumped in every transaction that changes
    board rows (readers refresh what they derived from the table when it moves) and the last full rebuild."""

    generation = models.BigIntegerField(default=0)
    version = models.PositiveIntegerField(default=0, help_text="the build rules the rows were written with")
    rebuilt_at = models.DateTimeField(null=True, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"board generation {self.generation}"


class BoardChange(models.Model):
    """Which models' board rows a generation rewrote: readers patch their columnar copy with the rows of the
    models changed since the generation they hold instead of reloading the board (the last
    BOARD_CHANGES_KEPT generations are kept; a reader further behind reloads)."""

    generation = models.BigIntegerField(db_index=True)
    model_id = models.BigIntegerField(help_text="the model, which may be gone (its rows deleted)")

    def __str__(self) -> str:
        return f"model {self.model_id} at board generation {self.generation}"
