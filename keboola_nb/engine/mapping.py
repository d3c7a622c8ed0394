"""A transformation's storage mapping on the embedded storage: the SELECT each input reads (its columns, where
filter and changed_since window), and the loads its outputs make, shared by the SQL and Python transformations."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..connectors.base import Scan, duck_literal
from ..errors import KeboolaError
from ..storage.ids import TableId
from ..storage.storage import TIMESTAMP_COLUMN, DeleteWhere, q, qualified, text_in

if TYPE_CHECKING:
    import duckdb

    from ..model.transformation import TransformationInput, TransformationOutput
    from ..storage.storage import Loader
    from .runner import Run

ADAPTIVE = "adaptive"
STATE_KEY = "lastImportRead"  # per input table: the newest import time a run has read (changed_since: adaptive)
_INTERVAL = re.compile(r"^-\s*(\d+)\s+(minute|hour|day|week|month|year)s?$", re.I)


def columns_of(con: "duckdb.DuckDBPyConnection", table_id: str, catalog: str | None = None) -> dict[str, str]:
    """A storage table's columns and DuckDB types, without Keboola's import time; {} when it does not exist.
    (Read through the relation API: a query of DuckDB's catalog views costs ~1 ms a table, this a few µs.)"""
    import duckdb

    try:
        relation = con.table(_reference(TableId.parse(table_id), catalog))
    except duckdb.CatalogException:
        return {}
    return {c: str(t) for c, t in zip(relation.columns, relation.types) if c != TIMESTAMP_COLUMN}


def _reference(tid: TableId, catalog: str | None) -> str:
    """The storage table as SQL, qualified by `catalog` when storage is attached under that name."""
    return f"{q(catalog)}.{qualified(tid)}" if catalog else qualified(tid)


def input_select(con: "duckdb.DuckDBPyConnection", table: "TransformationInput", last_read: str | None,
                 where: str, catalog: str | None = None, types: dict[str, str] | None = None) -> tuple[str, str | None]:
    """The SELECT that reads what `table` maps from storage, and the newest import time it covers (for the
    adaptive state). `catalog` qualifies the storage table when storage is attached under another name; `types`
    are its columns when the caller has read them already."""
    tid = TableId.parse(table.source)
    types = columns_of(con, table.source, catalog) if types is None else types
    if not types:
        raise KeboolaError(f"{where}: storage has no table {tid}",
                           fix="run the extractor or transformation that makes it first "
                               "(%keboola storage lists tables)")
    wanted = table.columns or list(types)
    missing = [c for c in wanted if c not in types]
    if missing:
        raise KeboolaError(f"{where}: input {tid} has no column(s) {', '.join(missing)}",
                           fix=f"its columns are: {', '.join(types)}")
    source = _reference(tid, catalog)
    filters = []
    if table.where_column:
        if table.where_column not in types:
            raise KeboolaError(f"{where}: where_column {table.where_column!r} is not a column of {tid}",
                               fix=f"its columns are: {', '.join(types)}")
        filters.append(text_in(q(table.where_column), [duck_literal(str(v)) for v in table.where_values],
                               table.where_operator))
    newest = None
    since = table.since
    if since == ADAPTIVE:
        value = con.execute(f"SELECT max({TIMESTAMP_COLUMN}) FROM {source}").fetchone()[0]  # type: ignore[index]
        newest = value.isoformat() if value is not None else last_read
        if last_read:
            filters.append(f"{TIMESTAMP_COLUMN} > {duck_literal(last_read)}::TIMESTAMPTZ")
    elif since:
        filters.append(f"{TIMESTAMP_COLUMN} > {_since_expression(since, where)}")
    select = ", ".join(q(c) for c in wanted)
    return f"SELECT {select} FROM {source}" + (f" WHERE {' AND '.join(filters)}" if filters else ""), newest


def load_output(run: "Run", loader: "Loader", output: "TransformationOutput", scan: Scan, row_name: str) -> None:
    """Load one output into storage inside the run's transaction: full, incremental (upsert by primary key), and
    Keboola's delete_where_* before an incremental load."""
    delete = None
    if output.delete_where_column:
        delete = DeleteWhere(output.delete_where_column, [str(v) for v in output.delete_where_values],
                             output.delete_where_operator)
    run.load(loader, row_name, output.destination, scan, incremental=output.incremental,
             primary_key=list(output.primary_key), delete_where=delete, source_table=output.source)


def _since_expression(since: str, where: str) -> str:
    match = _INTERVAL.match(since.strip())
    if match:
        return f"now() - INTERVAL {int(match.group(1))} {match.group(2).upper()}"
    try:
        from datetime import datetime

        datetime.fromisoformat(since.strip())
    except ValueError:
        raise KeboolaError(f"{where}: changed_since {since!r} is not understood",
                           fix='use "adaptive", an interval like "-7 days", or a timestamp like 2024-01-31 12:00:00') \
            from None
    return f"{duck_literal(since.strip())}::TIMESTAMPTZ"


def adaptive_state(newest: dict[str, Any]) -> dict[str, Any]:
    """The row state an adaptive run saves: each input table's newest import time read."""
    return {STATE_KEY: {k: v for k, v in newest.items() if v is not None}}
