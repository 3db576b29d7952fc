"""Reads of the registry: models.py (model lists and filters) and syncs.py (SyncRun lists)."""
