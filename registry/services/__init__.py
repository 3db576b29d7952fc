"""Writes to the registry: hub_sync.py (Hub sync and upserts) and catalog.py (seed catalog import)."""
