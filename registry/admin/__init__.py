"""Admin: models.py (models, organizations, licenses, closed-model endpoints) and syncs.py (SyncRun, sync actions)."""

from registry.admin import models, syncs  # noqa: F401
