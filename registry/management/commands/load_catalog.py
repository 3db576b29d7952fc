"""`python manage.py load_catalog`: idempotent import of the seed catalog (registry/catalog/)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from registry.services.catalog import catalog_load


class Command(BaseCommand):
    help = "Import the seed catalog of open and closed models (safe to run again: it changes nothing the second time)."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = catalog_load()
        self.stdout.write(
            self.style.SUCCESS(
                "Catalog loaded: {created} created, {updated} updated, {unchanged} unchanged models; "
                "{licenses} licenses, {languages} languages, {organizations} organizations added or completed; "
                "{linked} models linked to their base model ({relinked} newly linked); "
                "{reported} published scores of the seed systems added, changed or removed.".format(**counts)
            )
        )
