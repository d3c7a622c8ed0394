"""Running a database extractor: every selected row (a table or a query) into storage.

All rows load in one storage transaction and the incremental state is saved only after it commits,
so a failed run leaves storage and state exactly as they were.
"""

from __future__ import annotations

from typing import Any

from ...connectors import ExtractSpec, open_connector
from ...connectors.base import DatabaseConnector
from ...engine.runner import Run, error_line, explain_error
from .model import DbRow

# How a source that died or cancelled us mid-read shows up in the postgres scanner's and connectorx's errors.
_LOST_SOURCE = ("server closed the connection", "terminating connection", "connection to server",
                "connection reset", "failed to execute query", "canceling statement",
                "lost connection", "gone away", "connection was killed", "broken pipe",
                "bytes remaining on stream", "server disconnected")


def extract(run: Run, rows: list[tuple[str, str, DbRow]], connection_kind: str) -> None:
    """Every row into storage in one storage transaction; the watermarks become the run's state."""
    db = rows[0][2].db.model_dump(by_alias=True, exclude_none=True)
    connector: DatabaseConnector = open_connector(connection_kind, run.config.name, db)  # type: ignore[assignment]
    try:
        with run.storage.transaction() as loader:
            for index, (row_id, row_name, params) in enumerate(rows, 1):
                run.where = f"extracting into {params.outputTable}"
                spec = _spec(params, run.row_state(row_id))
                what = f"{params.table.schema_}.{params.table.tableName}" if params.table else "query"
                since = f" from {params.incrementalFetchingColumn} >= {spec.since}" if spec.since is not None else ""
                run.note(f"{row_name}: reading {what}{since} into {params.outputTable}")
                run.progress.step(index, len(rows), f"{row_name} -> {params.outputTable}")
                result = run.load(loader, row_name, params.outputTable, connector.scan(loader.con, spec),
                                  incremental=params.incremental, primary_key=params.primaryKey,
                                  watermark_column=params.incrementalFetchingColumn)
                if params.incrementalFetchingColumn:
                    mark = result.watermark if result.watermark is not None else spec.since
                    if mark is not None:
                        run.save_state(row_id, {"lastFetchedRow": str(mark)})
                    if not params.primaryKey:
                        run.note(f"{row_name}: no primary key, so rows at the watermark may repeat")
    finally:
        connector.close()


def _spec(params: DbRow, state: dict[str, Any]) -> ExtractSpec:
    table = (params.table.schema_, params.table.tableName) if params.table else None
    return ExtractSpec(
        table=table,
        query=params.query,
        columns=list(params.columns),
        fetching_column=params.incrementalFetchingColumn,
        since=state.get("lastFetchedRow") if params.incrementalFetchingColumn else None,
        limit=params.incrementalFetchingLimit,
    )


def explain(error: Exception, where: str, untouched: str) -> str:
    """A source that died or cancelled the read is named as such: running again is the fix."""
    text = error_line(error)
    if "interrupted" not in text.lower() and any(marker in text.lower() for marker in _LOST_SOURCE):
        return (f"{where} failed: the source closed the connection or cancelled the query mid-extract ({text}). "
                f"{untouched} Run it again when the source is back.")
    return explain_error(error, where, untouched)
