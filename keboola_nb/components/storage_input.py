"""A writer's table entry (the `%%keboola writer` shorthand) checked against storage.

Every kind of target starts the same way: which storage table, which of its columns, the primary key
and `changed_since`; what differs per target (types, file names, datasets) is built on top of this.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import KeboolaError
from ..storage.ids import TableId

if TYPE_CHECKING:
    from ..storage.storage import Storage

# The entry keys of writers into a database or warehouse table.
TABLE_ENTRY_KEYS = ("table", "db_name", "incremental", "primary_key", "changed_since", "columns")


@dataclass
class StorageInput:
    table: TableId
    types: dict[str, str]  # every storage column and its type
    named: list[str]  # the columns the entry chose (empty: it chose none)
    primary_key: list[str]
    incremental: bool
    changed_since: str | None

    @property
    def columns(self) -> list[str]:
        """The columns written: the chosen ones, else all."""
        return self.named or list(self.types)

    def mapping(self) -> dict[str, Any]:
        """Keboola's input mapping of a database or warehouse writer row (`storage.input.tables[0]`)."""
        mapping: dict[str, Any] = {"source": str(self.table), "destination": f"{self.table}.csv",
                                   "columns": self.columns}
        if self.changed_since:
            mapping["changed_since"] = self.changed_since
        return mapping


def storage_input(storage: "Storage", where: str, entry: Any, allowed_keys: Iterable[str],
                  keyed: bool = True) -> StorageInput:
    """Check an entry (a table id or a mapping) against storage; `keyed`: the target uses a primary key."""
    entry = {"table": entry} if isinstance(entry, str) else entry
    if not isinstance(entry, dict) or "table" not in entry:
        raise KeboolaError(f"{where}: say which storage table to write with 'table: in.c-bucket.table'")
    unknown = set(entry) - set(allowed_keys)
    if unknown:
        raise KeboolaError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}",
                           fix=f"allowed keys: {', '.join(allowed_keys)}")
    tid = TableId.parse(str(entry["table"]))
    meta = storage.metadata(str(tid))  # a clear error, with suggestions, for unknown tables
    types: dict[str, str] = meta["columns"]
    named = list(entry.get("columns") or [])
    for column in named:
        if column not in types:
            close = difflib.get_close_matches(column, list(types), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise KeboolaError(f"{where}: storage table {tid} has no column {column!r}",
                               fix=f"{hint}its columns are: {', '.join(types)}")
    given = entry.get("primary_key")
    pk = list(given) if given is not None else list(meta.get("primary_key") or [])
    outside = [c for c in pk if c not in (named or types)]
    if keyed and outside:
        raise KeboolaError(f"{where}: primary key column(s) {', '.join(outside)} are not among the columns written",
                           fix="add them to 'columns', or set 'primary_key'")
    incremental = entry.get("incremental", False)
    if not isinstance(incremental, bool):
        raise KeboolaError(f"{where}: 'incremental' must be true or false")
    changed_since = entry.get("changed_since")
    if changed_since not in (None, "adaptive"):
        raise KeboolaError(f"{where}: changed_since {changed_since!r} is not supported",
                           fix="use 'changed_since: adaptive' (only rows imported since the last write) or leave it out")
    return StorageInput(tid, types, named, pk, incremental, changed_since)
