"""Registry rows for models that arrive through imported results before any Hub sync has seen them."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from registry.models import LanguageModel, Organization

IMPORT_SOURCE_NOTE = "created by a results import; not yet synced from the Hub"


def language_model_get_or_create_unsynced(*, repo_id: str) -> tuple[LanguageModel, bool]:
    """The registry model named `repo_id` (case-insensitive match), creating a minimal one if none exists.

    A created row is open weights, not on the Hub yet and never synced (`synced_at` empty, `on_hub`
    False, `sources["registry"]` says so): the next Hub sync of that id fills in its facts. Returns
    (model, created). Raises ValueError for an id that is not `org/name`.
    """
    org_slug, sep, name = repo_id.partition("/")
    if not sep or not org_slug or not name or "/" in name:
        raise ValueError(f"expected an org/name model id, got {repo_id!r}")
    existing = LanguageModel.objects.filter(repo_id__iexact=repo_id).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            organization = Organization.objects.filter(slug__iexact=org_slug).first()
            if organization is None:
                organization = Organization.objects.create(slug=org_slug[:100], name=org_slug[:200])
            model = LanguageModel.objects.create(
                repo_id=repo_id,
                name=name[:200],
                organization=organization,
                weights=LanguageModel.Weights.OPEN,
                on_hub=False,
                sources={"registry": IMPORT_SOURCE_NOTE},
            )
    except IntegrityError:  # created by a concurrent import between the lookup and the insert
        return LanguageModel.objects.get(repo_id__iexact=repo_id), False
    return model, True
