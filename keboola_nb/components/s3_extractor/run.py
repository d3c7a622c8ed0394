"""Running an S3 extractor: the files each row's key matches, read by DuckDB over s3:// as Keboola's processors
would turn them into the table, into storage.

All rows load in one storage transaction; the newFilesOnly state (Keboola's {lastDownloadedFileTimestamp,
processedFilesInLastTimestampSecond}) is written only after it commits, so a failed run loads the same files
again next time.
"""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Any

from ...connectors.base import Scan, duck_literal
from ...connectors.s3 import S3Connector, S3File, file_format
from ...engine.runner import Run
from ...errors import KeboolaError
from ...model.aws_login import local_login
from ...storage.storage import q
from .build import compression, csv_names, downloaded_name, file_name, match_files
from .model import DECOMPRESS, FILENAME, PARQUET, PARQUET_FILENAME, ROW_NUMBER, S3Table

# DuckDB's CSV reader holds buffers of ~30 MB per file and thread: 16 files of 60 MB (1 GB) failed to load
# within the 128 MB that database loads use, and loaded within 256 MB; 512 MB leaves room for HTTP buffers.
FILE_LOAD_MEMORY_LIMIT = "512MB"
LAST_TIMESTAMP = "lastDownloadedFileTimestamp"
LAST_FILES = "processedFilesInLastTimestampSecond"
# The keys keboola_nb's state had before it took Keboola's; read once, written over by the next run.
OLD_STATE = {"lastTimestamp": LAST_TIMESTAMP, "filesInLastTimestamp": LAST_FILES}


def _last(state: dict[str, Any]) -> tuple[int, set[str]]:
    """The state's last timestamp and the keys loaded at it (Keboola's defaults: 0 and none)."""
    if LAST_TIMESTAMP not in state:
        state = {new: state[old] for old, new in OLD_STATE.items() if old in state}
    return int(state.get(LAST_TIMESTAMP, 0)), set(state.get(LAST_FILES, []))


def new_files(files: list[S3File], state: dict[str, Any]) -> list[S3File]:
    """Files modified after the last run, or at its last timestamp but not loaded then."""
    last, seen = _last(state)
    return [f for f in files if int(f.modified.timestamp()) > last
            or (int(f.modified.timestamp()) == last and f.key not in seen)]


def next_state(loaded: list[S3File], state: dict[str, Any]) -> dict[str, Any]:
    """Keboola's state after loading `loaded`: the newest timestamp (a string) and the keys loaded at it."""
    if not loaded:
        return state
    previous, seen = _last(state)
    last = max(int(f.modified.timestamp()) for f in loaded)
    keys = {f.key for f in loaded if int(f.modified.timestamp()) == last} | (seen if last == previous else set())
    return {LAST_TIMESTAMP: str(last), LAST_FILES: sorted(keys)}


def extract(run: Run, rows: list[tuple[str, str, S3Table]]) -> None:
    """Every row's files into storage in one storage transaction; newFilesOnly rows keep what they read as state."""
    with run.storage.transaction(FILE_LOAD_MEMORY_LIMIT) as loader:
        for index, (row_id, row_name, table) in enumerate(rows, 1):
            params = table.params
            node, note = local_login({**params.model_dump(by_alias=True), "prefix": ""})
            if note and index == 1:  # one login for every row
                run.note(note)
            connector = S3Connector(run.config.name, node)
            table_id = run.config.default_table_id(table.table)
            run.where = f"extracting into {table_id}"
            state = run.row_state(row_id) if params.newFilesOnly else {}
            files = match_files(connector, params)
            if params.newFilesOnly:
                files = new_files(files, state)
            if params.limit:
                files = files[: params.limit]
            run.progress.step(index, len(rows), f"{row_name} -> {table_id}")
            if not files:
                if params.newFilesOnly and state:
                    run.note(f"{row_name}: no new files under s3://{params.bucket}/{params.key}")
                    continue
                raise KeboolaError(f"row {row_name!r}: no file in s3://{params.bucket} matches {params.key!r}",
                                   fix="check the key and the wildcard, or list the keys of the connection")
            chosen = _readable(row_name, table, files)
            connector.attach(loader.con)
            run.load(loader, row_name, table_id, _scan(connector, chosen, table), incremental=table.incremental,
                     primary_key=table.primary_key, read=lambda: f" from {len(chosen)} file(s)", files=len(chosen))
            if params.newFilesOnly:
                run.save_state(row_id, next_state(files, state))


def _readable(row_name: str, table: S3Table, files: list[S3File]) -> list[S3File]:
    """The files the row's processors turn into the table; any file they would fail on, or load as something
    else, is refused here."""
    where = f"row {row_name!r}"
    if table.parquet:
        odd = [f.key for f in files if file_format(f.key) != "parquet" or compression(f.key)]
        if odd:
            raise KeboolaError(f"{where}: {odd[0]} is not a plain Parquet file, which {PARQUET} reads",
                               fix="narrow the key to the Parquet files")
        read = [f for f in files if fnmatchcase(downloaded_name(table.params, f.key), table.parquet.file_mask)]
        if not read:
            raise KeboolaError(f"{where}: no file matches {PARQUET}'s file_mask {table.parquet.file_mask!r}",
                               fix="set file_mask to match the files' names, e.g. *.parquet")
        return read
    for f in files:
        fmt, packed = file_format(f.key), compression(f.key)
        if fmt != "csv":
            raise KeboolaError(f"{where}: {f.key} is a {fmt.upper()} file; the row's processors load CSV files",
                               fix="narrow the key to the CSV files" + (" (JSON files have no Keboola processor)"
                                                                        if fmt == "json" else ""))
        if table.decompress and table.decompress_auto and packed != "gzip":
            raise KeboolaError(f"{where}: {f.key} is not a gzip (.gz) file, and {DECOMPRESS} fails on it",
                               fix="narrow the key to the .gz files, or give plain files a row of their own")
        if not table.decompress and packed:
            raise KeboolaError(f"{where}: {f.key} is compressed; without {DECOMPRESS} Keboola would load its bytes",
                               fix=f"add {DECOMPRESS} (with flatten-folders) for gzip files, or narrow the key")
    return files


def _scan(connector: S3Connector, files: list[S3File], table: S3Table) -> Scan:
    names = None if table.parquet else csv_names(connector, table, files[0].key)
    added = _added(table)
    if not added:
        return Scan(_read([connector.url(f.key) for f in files], table, names))
    # Added columns are per file (its name, its row numbers): one read per file, stacked by column name.
    # row_number() OVER () numbers rows in the order the file holds them (DuckDB streams that window in order).
    parts = []
    for f in files:
        columns = ", ".join(f"{value(f)} AS {q(column)}" for column, value in added)
        parts.append(f"SELECT *, {columns} FROM ({_read([connector.url(f.key)], table, names)})")
    return Scan(" UNION ALL BY NAME ".join(f"({part})" for part in parts))


def _read(urls: list[str], table: S3Table, names: list[str] | None) -> str:
    """The DuckDB query that reads `urls` as the processors leave them: parquet2csv's read_parquet (by name
    only in its 'strict' mode), or the CSV files, gunzipped with decompress, first line dropped with
    skip-lines, named by the manifest."""
    files = "[" + ", ".join(duck_literal(u) for u in urls) + "]"
    if table.parquet:
        columns = ", ".join(q(c) for c in table.parquet.columns) or "*"
        by_name = ", union_by_name = true" if table.parquet.mode == "strict" else ""
        return f"SELECT {columns} FROM read_parquet({files}{by_name})"
    m = table.manifest
    named = f", names = [{', '.join(duck_literal(n) for n in names)}]" if names else ""
    return (f"SELECT * FROM read_csv({files}, header = {str(table.skip_header).lower()}, "
            f"delim = {duck_literal(m.delimiter)}, quote = {duck_literal(m.enclosure)}, "
            f"compression = '{'gzip' if table.decompress else 'none'}'{named}, union_by_name = true)")


def _added(table: S3Table) -> list[tuple[str, Callable[[S3File], str]]]:
    """(column, its SQL for a file) of the columns the processors append to each file's rows."""
    if table.parquet:  # parquet2csv: '/' + the file's name
        return ([(PARQUET_FILENAME, lambda f: duck_literal("/" + downloaded_name(table.params, f.key)))]
                if table.parquet.include_filename else [])
    sql: dict[str, Callable[[S3File], str]] = {FILENAME: lambda f: duck_literal(file_name(table, f.key)),
                                               ROW_NUMBER: lambda f: "row_number() OVER ()"}
    return [(column, sql[processor]) for processor, column in table.added]
