"""Registry rows: models (open and closed), their organizations, licenses and languages, Hub syncs."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Organization(models.Model):
    """Who publishes a model: a Hub author/org, or a provider of closed models."""

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    url = models.URLField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name or self.slug


class License(models.Model):
    """A normalized license: Hub id (`apache-2.0`), SPDX `LicenseRef-*`, `proprietary` or `unknown`."""

    class Commercial(models.TextChoices):
        YES = "yes", _("allowed")
        RESTRICTED = "restricted", _("allowed with conditions")
        NO = "no", _("not allowed")
        UNKNOWN = "unknown", _("unknown")

    key = models.CharField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    family = models.CharField(max_length=50, blank=True, help_text="apache, mit, llama, cc-by-nc, proprietary ...")
    osi_approved = models.BooleanField(default=False)
    commercial_use = models.CharField(max_length=12, choices=Commercial.choices, default=Commercial.UNKNOWN)
    url = models.URLField(blank=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class Language(models.Model):
    """An ISO 639-1 language code (`en`, `zh`)."""

    code = models.CharField(max_length=8, primary_key=True)
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class LanguageModel(models.Model):
    """One model in the registry, open or closed. `repo_id` is the public id used everywhere."""

    class Weights(models.TextChoices):
        OPEN = "open", _("open weights")
        CLOSED = "closed", _("closed")

    class Gated(models.TextChoices):
        NO = "", _("not gated")
        AUTO = "auto", _("gated (automatic approval)")
        MANUAL = "manual", _("gated (manual approval)")

    class ParameterSource(models.TextChoices):
        UNKNOWN = "", _("unknown")
        SAFETENSORS = "safetensors", _("safetensors metadata")
        CONFIG = "config", _("config arithmetic")
        CARD = "card", _("model card")
        CATALOG = "catalog", _("catalog")
        ADMIN = "admin", _("admin")

    class Relation(models.TextChoices):
        NONE = "", _("none")
        FINETUNE = "finetune", _("fine-tune")
        ADAPTER = "adapter", _("adapter")
        QUANTIZED = "quantized", _("quantized")
        MERGE = "merge", _("merge")

    class Modality(models.TextChoices):
        TEXT = "text", _("text")
        VISION_LANGUAGE = "vision-language", _("vision-language")
        MULTIMODAL = "multimodal", _("multimodal")

    class DatePrecision(models.TextChoices):
        DAY = "day", _("day")
        MONTH = "month", _("month")
        YEAR = "year", _("year")

    repo_id = models.CharField(max_length=200, unique=True, help_text="HF repo id, or <org>/<slug> for closed models")
    name = models.CharField(max_length=200)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="models")
    weights = models.CharField(max_length=6, choices=Weights.choices, default=Weights.OPEN, db_index=True)
    gated = models.CharField(max_length=6, choices=Gated.choices, default=Gated.NO, blank=True)

    parameters = models.BigIntegerField(null=True, blank=True, db_index=True)
    parameters_source = models.CharField(max_length=12, choices=ParameterSource.choices, blank=True)
    active_parameters = models.BigIntegerField(null=True, blank=True, help_text="MoE: parameters used per token")
    architecture = models.CharField(max_length=100, blank=True)
    model_type = models.CharField(max_length=60, blank=True)
    context_length = models.IntegerField(null=True, blank=True)
    languages = models.ManyToManyField(Language, blank=True, related_name="models")
    license = models.ForeignKey(License, null=True, blank=True, on_delete=models.PROTECT, related_name="models")
    license_name = models.CharField(max_length=200, blank=True, help_text="raw license string from the card")

    base_model = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="derivatives")
    base_model_ref = models.CharField(max_length=200, blank=True, help_text="base model id as declared")
    base_relation = models.CharField(max_length=10, choices=Relation.choices, blank=True)
    modality = models.CharField(max_length=16, choices=Modality.choices, default=Modality.TEXT, db_index=True)
    pipeline_tag = models.CharField(max_length=60, blank=True)
    library_name = models.CharField(max_length=60, blank=True)
    tags = models.JSONField(default=list, blank=True)
    description = models.TextField(blank=True, help_text="untrusted text from the model card")
    description_zh = models.TextField(
        blank=True, help_text="the description in Simplified Chinese (catalog text; shown on pages in Chinese)"
    )

    hub_sha = models.CharField(max_length=40, blank=True)
    downloads = models.BigIntegerField(null=True, blank=True)
    likes = models.IntegerField(null=True, blank=True)
    hub_created_at = models.DateTimeField(null=True, blank=True)
    hub_last_modified = models.DateTimeField(null=True, blank=True)
    on_hub = models.BooleanField(default=False, help_text="seen on the Hub at the last sync")
    hub_missing_since = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    release_date = models.DateField(null=True, blank=True)
    release_date_precision = models.CharField(max_length=5, choices=DatePrecision.choices, blank=True)
    sources = models.JSONField(default=dict, blank=True, help_text="fact -> where it came from, where not the Hub")
    in_catalog = models.BooleanField(default=False)

    # Closed models: how to reach an OpenAI-compatible endpoint. The key itself is never stored,
    # only the NAME of the environment variable that holds it on the workers.
    provider = models.CharField(max_length=100, blank=True)
    endpoint_base_url = models.URLField(blank=True)
    endpoint_model_name = models.CharField(max_length=200, blank=True)
    endpoint_api_key_env = models.CharField(max_length=100, blank=True)
    # Local weights: a directory, a GGUF file, or `pkg:<package>/<file>` inside an installed package.
    local_weights = models.CharField(max_length=500, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["repo_id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(weights__in=["open", "closed"]), name="model_weights_valid"),
            models.CheckConstraint(
                condition=models.Q(parameters__isnull=True) | models.Q(parameters__gt=0),
                name="model_parameters_positive",
            ),
        ]
        indexes = [models.Index(fields=["organization", "weights"]), models.Index(fields=["-downloads"])]

    def __str__(self) -> str:
        return self.repo_id

    @property
    def org_part(self) -> str:
        return self.repo_id.split("/", 1)[0]

    @property
    def name_part(self) -> str:
        return self.repo_id.split("/", 1)[1] if "/" in self.repo_id else self.repo_id

    @property
    def is_gated(self) -> bool:
        return bool(self.gated)

    @property
    def parameters_display(self) -> str:
        from registry.formatting import parameters_display

        return parameters_display(self.parameters)

    @property
    def hub_url(self) -> str:
        from django.conf import settings

        if self.weights != self.Weights.OPEN or not self.on_hub and not self.hub_sha:
            return ""
        return f"{settings.HF_ENDPOINT.rstrip('/')}/{self.repo_id}"


class AllowedRevision(models.Model):
    """A revision of a Hub model, other than its main branch, that staff allow users to submit.

    By default a submission may only evaluate `main` (its current commit): a branch, tag or commit a
    user names could hold other weights than the ones the model's id stands for (anyone can open a pull
    request on a public Hub repo). Staff list the exceptions here, by branch or tag name or by full
    commit sha. `ranked` also lets runs of that revision rank on the leaderboard next to runs of the
    current main commit; otherwise they are shown in the model's history only.
    """

    model = models.ForeignKey(LanguageModel, on_delete=models.CASCADE, related_name="allowed_revisions")
    revision = models.CharField(
        max_length=200, help_text=_("a branch or tag name, or a full 40-character commit sha (never a pull request)")
    )
    ranked = models.BooleanField(
        default=False, help_text=_("runs of this revision rank on the leaderboard like runs of the current main")
    )
    note = models.CharField(max_length=200, blank=True, help_text=_("why it is allowed (shown to staff)"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model_id", "revision"]
        constraints = [
            models.UniqueConstraint(fields=["model", "revision"], name="allowedrevision_unique"),
            # Pull requests are never allowed and main needs no entry; a blank name would match nothing.
            models.CheckConstraint(
                condition=~models.Q(revision__startswith="refs/pr/") & ~models.Q(revision__in=["", "main"]),
                name="allowedrevision_not_pr_or_main",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model_id}@{self.revision}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        self.revision = (self.revision or "").strip()
        if self.revision in ("", "main") or self.revision.lower().startswith("refs/pr/"):
            raise ValidationError(
                {"revision": _("Name a branch, tag or commit other than main; pull requests cannot be allowed.")}
            )


class SyncRun(models.Model):
    """One Hub sync: its scope, what it did and what went wrong."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        PARTIAL = "partial", _("finished with errors")
        FAILED = "failed", _("failed")

    class Trigger(models.TextChoices):
        BEAT = "beat", _("schedule")
        COMMAND = "command", _("command")
        ADMIN = "admin", _("admin")
        API = "api", _("API")

    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.COMMAND)
    scope = models.JSONField(default=dict, blank=True, help_text="authors, search, models, limit")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING, db_index=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seen = models.IntegerField(default=0)
    created = models.IntegerField(default=0)
    updated = models.IntegerField(default=0)
    unchanged = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)
    missing = models.IntegerField(default=0, help_text="models marked as gone from the Hub")
    errors = models.JSONField(default=list, blank=True, help_text="[{repo_id, kind, message}]")
    requested_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["running", "succeeded", "partial", "failed"]),
                name="syncrun_status_valid",
            )
        ]

    def __str__(self) -> str:
        return f"SyncRun #{self.pk} ({self.status})"
