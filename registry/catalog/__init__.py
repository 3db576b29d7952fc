"""Our seed catalog (facts with sources): models.py (models, organizations), licenses.py (licenses, languages)."""

from registry.catalog.licenses import LANGUAGES, LICENSES, LicenseFact
from registry.catalog.models import HUB_REPO_IDS, MODELS, ORGANIZATIONS

__all__ = ["HUB_REPO_IDS", "LANGUAGES", "LICENSES", "MODELS", "ORGANIZATIONS", "LicenseFact"]
