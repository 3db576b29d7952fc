"""Reads of imported results files and import jobs (the imports API and the admin)."""

from __future__ import annotations

from django.db.models import QuerySet

from evals.models import ImportJob, ResultImport


def result_import_list() -> QuerySet[ResultImport]:
    """Every imported file, newest first, with its run, model and importer loaded."""
    return ResultImport.objects.select_related("run__model", "imported_by", "job").order_by("-id")


def result_import_get(*, import_id: int) -> ResultImport:
    """One imported file; raises ResultImport.DoesNotExist."""
    return result_import_list().get(pk=import_id)


def import_job_get(*, job_id: int) -> ImportJob:
    """One import job with its requester; raises ImportJob.DoesNotExist."""
    return ImportJob.objects.select_related("requested_by").get(pk=job_id)
