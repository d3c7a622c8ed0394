"""Building S3 extractor (`keboola.ex-aws-s3`) rows from `files:` entries, matching keys as Keboola's Finder
does, naming files as Keboola's processors do, and schema inference.

```
connection: exports
files:
  - key: exports/2024/*            # trailing * = wildcard
    table: city_sales
    primary_key: [id]
```
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from ...connectors.s3 import file_format
from ...errors import KeboolaError
from ...model.aws_login import login_parameters
from ...model.configuration import ConfigRow, Configuration, new_id
from ...model.validation import validated
from ...storage.ids import safe_name
from .model import (
    COMPONENT_ID,
    PARQUET_FILENAME,
    SHORTHAND_FILE_KEYS,
    S3Row,
    S3Table,
    check_rows,
    csv_processors,
    parquet_processors,
    row_parameters,
)

if TYPE_CHECKING:
    import pandas as pd

    from ...connections import Connection
    from ...connectors.s3 import S3Connector, S3File

# Compressions that are not gzip: Keboola's decompress takes .zip and .snappy, this package reads gzip only.
OTHER_COMPRESSIONS = (".zip", ".snappy", ".gzip", ".bz2", ".zst", ".xz")
# Shorthand keys that describe CSV files only.
CSV_ONLY_KEYS = ("header", "columns", "delimiter", "enclosure", "row_number_column")


def matches(key: str, row: S3Row) -> bool:
    """Keboola's Finder: a key ending in '*' takes the keys longer than its prefix (no '/' after the prefix
    unless includeSubfolders); any other key is one object."""
    if not row.wildcard:
        return key == row.key
    prefix = row.key[:-1]
    return key.startswith(prefix) and len(key) > len(prefix) and (row.includeSubfolders or "/" not in key[len(prefix):])


def match_files(connector: S3Connector, row: S3Row) -> list[S3File]:
    """The files a row downloads, oldest first (then by key), as Keboola's Finder sorts them."""
    files = [f for f in connector.list_files(row.key.removesuffix("*")) if matches(f.key, row)]
    return sorted(files, key=lambda f: (f.modified, f.key))


def compression(key: str) -> str | None:
    """'gzip' for a .gz key, another archive suffix, or None for a plain file."""
    low = key.lower()
    if low.endswith(".gz"):
        return "gzip"
    return next((suffix for suffix in OTHER_COMPRESSIONS if low.endswith(suffix)), None)


def downloaded_name(row: S3Row, key: str) -> str:
    """The name Keboola's S3 extractor gives a downloaded file (Finder::getFileDestination): with
    includeSubfolders, the key below the search key's folder with '-' doubled, then '/' turned into '-';
    otherwise the key's base name."""
    if not row.includeSubfolders:
        return key.rpartition("/")[2]
    folder = row.key.strip("*").rpartition("/")[0]
    return key[len(folder):].lstrip("/").replace("-", "--").replace("/", "-")


def file_name(table: S3Table, key: str) -> str:
    """The name of the file a row of the table comes from once the processors are done (what
    add-filename-column writes): move-files appends '.csv' (addCsvSuffix); after decompress each file is
    a folder holding it without '.gz', which flatten-folders joins to it with '-' (doubling '-' in each)."""
    name = downloaded_name(table.params, key)
    moved = name + (".csv" if table.csv_suffix else "")
    if not table.decompress:
        return moved
    return "-".join(part.replace("-", "--") for part in (moved, name.removesuffix(".gz")))


def csv_names(connector: S3Connector, table: S3Table, key: str) -> list[str] | None:
    """The column names create-manifest gives a CSV table: None for the header's (columns_from header),
    Keboola's col_1, col_2, ... for columns_from auto (as many as the first file has), or the given columns."""
    manifest = table.manifest
    if manifest.columns_from == "header":
        return None
    if manifest.columns_from == "auto":
        return [f"col_{i}" for i in range(1, len(connector.describe(key, header=False)) + 1)]
    return list(manifest.columns)


def output_columns(connector: S3Connector, table: S3Table, key: str) -> list[str]:
    """The columns a row loads: the file's (or the given) names, then the added ones."""
    if table.parquet:
        names = table.parquet.columns or list(connector.describe(key)["column"])
        return names + ([PARQUET_FILENAME] if table.parquet.include_filename else [])
    names = csv_names(connector, table, key) or list(connector.describe(key)["column"])
    return names + [column for _, column in table.added]


def _column_name(value: Any, default: str) -> str | None:
    """`filename_column: true` takes Keboola's default name; a string names the column."""
    if value is None or value is False:
        return None
    return default if value is True else str(value)


def infer(connection: Connection, key: str) -> pd.DataFrame:
    """Columns and types DuckDB infers from the first file the key matches (header row = names)."""
    return connection.describe(key)


def _listed(connection: Connection, row: S3Row) -> list[str]:
    """The keys a row matches now; none when the bucket cannot be listed (they are checked again at run time)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return [f.key for f in match_files(cast("S3Connector", connection.connector()), row)]
    except (KeboolaError, BotoCoreError, ClientError):
        return []


def _kind(where: str, row: S3Row, keys: list[str]) -> tuple[str, bool]:
    """(format, gzip) of a row's files: from the files it matches, else from its key. Keboola's processors
    handle one kind of file per row, and have no first-party way to turn JSON into a table."""
    kinds = {(file_format(k), compression(k)) for k in keys or [row.key.removesuffix("*")]}
    if len(kinds) > 1:
        found = ", ".join(sorted(f"{fmt}{f' ({packed})' if packed else ''}" for fmt, packed in kinds))
        raise KeboolaError(f"{where}: the key {row.key!r} matches files of several kinds ({found}); Keboola's "
                           "processors turn one kind of file into a table", fix="narrow the key to one kind, e.g. a "
                                                                                "folder or name prefix per kind")
    fmt, packed = kinds.pop()
    if fmt == "json":
        raise KeboolaError(f"{where}: {row.key!r} holds JSON files, and Keboola has no processor of its own that "
                           "turns JSON files into a table, so this configuration would not load there",
                           fix="export the files as CSV or Parquet (then list them with a key for those files)")
    if packed not in (None, "gzip") or (fmt == "parquet" and packed):
        raise KeboolaError(f"{where}: {row.key!r} holds {packed}-compressed {fmt} files; only gzip CSV (.gz) files "
                           "are decompressed here", fix="store the files as plain or gzip CSV, or plain Parquet")
    return fmt, packed == "gzip"


def _row(where: str, entry: dict[str, Any], root: dict[str, Any], bucket: str,
         keys_of: Callable[[S3Row], list[str]]) -> tuple[str, dict[str, Any], list[str]]:
    """(table, row configuration, the keys it matches now) of one `files:` entry; `root` is the login."""
    key = str(entry["key"])
    table = safe_name(str(entry.get("table") or key.rsplit("/", 1)[-1].split(".")[0].replace("*", "") or "data"))
    primary_key = list(entry.get("primary_key") or [])
    new_files_only = bool(entry.get("new_files_only", False))
    incremental = bool(entry.get("incremental", bool(primary_key) or new_files_only))
    parameters = row_parameters(entry.get("bucket") or bucket, key, new_files_only=new_files_only,
                                include_subfolders=bool(entry.get("include_subfolders", False)),
                                limit=int(entry.get("limit", 0)))
    row = validated(S3Row, {**root, **parameters}, where)  # Keboola's key rules before the bucket is listed
    keys = keys_of(row)
    fmt, gzip = _kind(where, row, keys)
    if fmt == "parquet":
        extra = [k for k in CSV_ONLY_KEYS if k in entry]
        if extra:
            raise KeboolaError(f"{where}: {', '.join(extra)} describe CSV files; {key!r} holds Parquet files",
                               fix=f"leave {', '.join(extra)} out")
        filename = _column_name(entry.get("filename_column"), PARQUET_FILENAME)
        if filename not in (None, PARQUET_FILENAME):
            raise KeboolaError(f"{where}: Parquet files get their file name in the column {PARQUET_FILENAME} "
                               "(kds-team.processor-parquet2csv names it)", fix="use filename_column: true")
        processors = parquet_processors(table, incremental=incremental, primary_key=primary_key,
                                        include_filename=bool(filename))
    else:
        processors = csv_processors(
            table, gzip=gzip, incremental=incremental, primary_key=primary_key, delimiter=entry.get("delimiter", ","),
            enclosure=entry.get("enclosure", '"'), header=bool(entry.get("header", True)),
            columns=list(entry.get("columns") or []),
            row_number_column=_column_name(entry.get("row_number_column"), "row_number"),
            filename_column=_column_name(entry.get("filename_column"), "filename"))
    return table, {"parameters": parameters, "processors": {"after": processors}}, keys


def build(name: str, connection: Connection, entries: list[Any], description: str = "") -> Configuration:
    """An S3 extractor configuration; each primary key is checked against the columns of the first file."""
    node = connection.db
    root = login_parameters(node)
    rows: list[ConfigRow] = []
    first_keys: dict[str, str | None] = {}
    for i, entry in enumerate(entries, 1):
        where = f"extractor {name!r}, file entry {i}"
        if not isinstance(entry, dict) or "key" not in entry:
            raise KeboolaError(f"{where}: needs at least 'key' (and usually 'table')")
        unknown = set(entry) - SHORTHAND_FILE_KEYS
        if unknown:
            raise KeboolaError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}",
                               fix=f"allowed keys: {', '.join(sorted(SHORTHAND_FILE_KEYS))}")
        table_name, configuration, keys = _row(where, entry, root, node["bucket"], lambda row: _listed(connection, row))
        rows.append(ConfigRow(id=new_id(), name=table_name, configuration=configuration))
        first_keys[table_name] = keys[0] if keys else None
    if len({r.name for r in rows}) != len(rows):
        raise KeboolaError(f"extractor {name!r}: two entries write the same table", fix="give each a distinct 'table'")
    config = Configuration(
        component_id=COMPONENT_ID, id=new_id(), name=name, description=description,
        configuration={"parameters": root},
        rows=rows,
    )
    for row_name, table in check_rows(config):  # Keboola's rules first, then the files themselves
        key = first_keys[row_name]
        if not table.primary_key or key is None:
            continue  # no file yet: the key is checked when the files arrive
        try:
            columns = output_columns(cast("S3Connector", connection.connector()), table, key)
        except KeboolaError:
            continue
        missing = [c for c in table.primary_key if c not in columns]
        if missing:
            raise KeboolaError(f"extractor {name!r}, row {row_name!r}: primary key column(s) {', '.join(missing)} "
                               "are not in the file's header", fix=f"the columns are: {', '.join(columns)}")
    return config
