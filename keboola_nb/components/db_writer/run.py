"""Running a database writer: the target of the writer's database, fed by the shared table writer."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ...engine.table_writer import write_tables
from ...store.secrets import redact

if TYPE_CHECKING:
    from ...engine.runner import Run

_LOST_TARGET = ("server closed the connection", "terminating connection", "consuming input failed",
                "connection to server", "connection reset", "sending query failed")


def write(run: "Run", rows: list[tuple[str, str, Any]], target_module: str) -> None:
    db = rows[0][2].db.model_dump(by_alias=True, exclude_none=True)
    target = importlib.import_module(f".{target_module}", __package__).target(run.config.name, db)
    write_tables(run, target, rows)


def explain(error: Exception, where: str, untouched: str) -> str:
    """A driver's error in one line; PostgreSQL's diagnostics name a value that does not fit, a duplicate key,
    a missing privilege."""
    diag = getattr(error, "diag", None)
    primary = getattr(diag, "message_primary", None)
    text = redact(primary or str(error)).strip().splitlines()[0] if (primary or str(error)).strip() else type(error).__name__
    context = redact(getattr(diag, "context", None) or "").strip().splitlines()
    detail = redact(getattr(diag, "message_detail", None) or "").strip()
    low = str(error).lower()
    if "interrupted" in low:
        return f"{where} was stopped by the user. {untouched}"
    if any(marker in low for marker in _LOST_TARGET):
        return (f"{where} failed: the target closed the connection mid-write ({text}). {untouched} "
                "Run it again when the target is back: no row will be written twice.")
    sqlstate = getattr(diag, "sqlstate", None) or ""
    extra = "".join(f" ({part})" for part in [detail, *context[:1]] if part)
    if sqlstate.startswith("22"):  # data exception: a value does not fit the column's type
        return (f"{where} failed: a value does not fit its column: {text}{extra}. {untouched}\n"
                "  How to fix: change that item's type in the writer, or fix the data in storage.")
    if sqlstate == "23505":
        return (f"{where} failed: the primary key is not unique in the data: {text}{extra}. {untouched}\n"
                "  How to fix: choose a primary key that is unique in the storage table.")
    if sqlstate == "42501":
        return (f"{where} failed: {text}. {untouched}\n"
                "  How to fix: ask the database admin for CREATE on the schema and rights on the table.")
    return f"{where} failed: {text}{extra}. {untouched}"
