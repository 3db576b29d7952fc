"""Bulk inserts for PostgreSQL that skip Django's per-value preparation and psycopg's per-value quoting.

Writers that insert thousands of rows (the Hub sync's new models, `rebuild_leaderboard`'s board rows) send
them as one JSON array that json_populate_recordset turns into the table's own row type, so PostgreSQL casts
every value as the table declares it. Other databases (SQLite, the embedded default) keep bulk_create.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from django.db import connection


def insert_json(
    table: str,
    columns: Sequence[str],
    rows: Sequence[dict[str, Any]],
    *,
    returning: Sequence[str] = (),
    skip_conflicts: bool = True,
) -> list[tuple[Any, ...]]:
    """INSERT these rows (column -> value) into `table` in one statement; returns the `returning` columns of
    the rows inserted. With `skip_conflicts`, a row that conflicts with one already stored is left out
    (ON CONFLICT DO NOTHING); without, it raises IntegrityError as any insert would."""
    if not rows:
        return []
    quote = connection.ops.quote_name
    listed = ", ".join(quote(column) for column in columns)
    sql = (
        f"INSERT INTO {quote(table)} ({listed}) SELECT {listed} "  # names from the model's metadata
        f"FROM json_populate_recordset(NULL::{quote(table)}, %s::json)"
    )
    if skip_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    if returning:
        sql += " RETURNING " + ", ".join(quote(column) for column in returning)
    with connection.cursor() as cursor:
        cursor.execute(sql, [json.dumps(rows, default=_json_value, ensure_ascii=False, allow_nan=False)])
        return cursor.fetchall() if returning else []


def _json_value(value: Any) -> str:
    if isinstance(value, date):  # datetime too: ISO 8601, which PostgreSQL reads back with its offset
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
