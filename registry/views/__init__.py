"""HTML pages of the registry: models.py (list, detail) and syncs.py (staff page of Hub syncs)."""

from registry.views.models import model_detail, model_list
from registry.views.syncs import sync_list

__all__ = ["model_detail", "model_list", "sync_list"]
