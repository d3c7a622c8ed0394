"""Building S3 extractor (`keboola.ex-aws-s3`) rows from `files:` entries, matching keys, and schema inference.

```
connection: exports
files:
  - key: exports/2024/*.csv        # trailing * = wildcard
    table: city_sales
    primary_key: [id]
```
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...connectors.s3 import file_format, key_matches
from ...errors import KeboolaError
from ...model.aws_login import login_parameters
from ...model.configuration import ConfigRow, Configuration, new_id
from ...storage.ids import safe_name
from .model import COMPONENT_ID, SHORTHAND_FILE_KEYS, S3Row, S3Table, check_rows, row_configuration

if TYPE_CHECKING:
    import pandas as pd

    from ...connections import Connection
    from ...connectors.s3 import S3Connector, S3File


def match_files(connector: S3Connector, row: S3Row) -> list[S3File]:
    """Keboola's Finder: an exact key, or `prefix*suffix` listed by prefix and filtered by suffix;
    without includeSubfolders the wildcard does not cross a '/'. Oldest first."""
    files = [f for f in connector.list_files(row.key.partition("*")[0])
             if key_matches(f.key, row.key, row.includeSubfolders)]
    return sorted(files, key=lambda f: (f.modified, f.key))


def csv_names(connector: S3Connector, table: S3Table, key: str) -> list[str] | None:
    """The column names of files without a header row: the manifest's `columns`, or for
    `columns_from: auto` Keboola's col_1, col_2, ... (as many as the first file has)."""
    if table.manifest.columns:
        return list(table.manifest.columns)
    if table.manifest.header or file_format(key) != "csv":
        return None
    return [f"col_{i}" for i in range(1, len(connector.describe(key, header=False)) + 1)]


def output_columns(connector: S3Connector, table: S3Table, key: str) -> list[str]:
    """The columns a row loads: the file's (or the given) names, then the added ones."""
    names = csv_names(connector, table, key) or list(connector.describe(key)["column"])
    return names + [column for _, column in table.added]


def file_name(row: S3Row, key: str) -> str:
    """The name Keboola gives a downloaded file (what add-filename-column writes): the key below the
    key's folder, subfolders flattened with '-'."""
    folder = row.key.split("*")[0].rpartition("/")[0]
    return (key[len(folder) + 1:] if folder else key).replace("/", "-")


def _column_name(value: Any, default: str) -> str | None:
    """`filename_column: true` takes Keboola's default name; a string names the column."""
    if value is None or value is False:
        return None
    return default if value is True else str(value)


def infer(connection: Connection, key: str) -> pd.DataFrame:
    """Columns and types DuckDB infers from the first file the key matches (header row = names)."""
    return connection.describe(key)


def build(name: str, connection: Connection, entries: list[Any], description: str = "") -> Configuration:
    """An S3 extractor configuration; each primary key is checked against the inferred columns."""
    node = connection.db
    rows = []
    for i, entry in enumerate(entries, 1):
        where = f"extractor {name!r}, file entry {i}"
        if not isinstance(entry, dict) or "key" not in entry:
            raise KeboolaError(f"{where}: needs at least 'key' (and usually 'table')")
        unknown = set(entry) - SHORTHAND_FILE_KEYS
        if unknown:
            raise KeboolaError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}",
                               fix=f"allowed keys: {', '.join(sorted(SHORTHAND_FILE_KEYS))}")
        key = str(entry["key"])
        table = safe_name(str(entry.get("table") or key.rsplit("/", 1)[-1].split(".")[0].replace("*", "") or "data"))
        primary_key = list(entry.get("primary_key") or [])
        configuration = row_configuration(
            entry.get("bucket") or node["bucket"], key, table,
            include_subfolders=bool(entry.get("include_subfolders", False)),
            new_files_only=bool(entry.get("new_files_only", False)), limit=int(entry.get("limit", 0)),
            incremental=bool(entry.get("incremental", bool(primary_key) or bool(entry.get("new_files_only")))),
            primary_key=primary_key, delimiter=entry.get("delimiter", ","), enclosure=entry.get("enclosure", '"'),
            header=bool(entry.get("header", True)), columns=list(entry.get("columns") or []),
            filename_column=_column_name(entry.get("filename_column"), "filename"),
            row_number_column=_column_name(entry.get("row_number_column"), "row_number"),
        )
        rows.append(ConfigRow(id=new_id(), name=table, configuration=configuration))
    if len({r.name for r in rows}) != len(rows):
        raise KeboolaError(f"extractor {name!r}: two entries write the same table", fix="give each a distinct 'table'")
    config = Configuration(
        component_id=COMPONENT_ID, id=new_id(), name=name, description=description,
        configuration={"parameters": login_parameters(node)},
        rows=rows,
    )
    for row_name, table in check_rows(config):  # Keboola's rules first, then the files themselves
        if not table.manifest.primary_key:
            continue
        connector = connection.connector()
        try:
            key = connector.first_match(table.params.key) if table.params.wildcard else table.params.key
            columns = output_columns(connector, table, key)
        except KeboolaError:
            continue  # no file yet: the key is checked when the files arrive
        missing = [c for c in table.manifest.primary_key if c not in columns]
        if missing:
            raise KeboolaError(f"extractor {name!r}, row {row_name!r}: primary key column(s) {', '.join(missing)} "
                               "are not in the file's header", fix=f"the columns are: {', '.join(columns)}")
    return config
