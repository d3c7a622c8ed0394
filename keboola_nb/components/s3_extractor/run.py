"""Running an S3 extractor: the files each row's key matches, read by DuckDB over s3://, into storage.

All rows load in one storage transaction; the newFilesOnly state {lastTimestamp, filesInLastTimestamp}
is written only after it commits, so a failed run loads the same files again next time.
"""

from __future__ import annotations

from typing import Any

from ...connectors.base import Scan, duck_literal
from ...connectors.s3 import S3Connector, S3File, file_format, read_sql
from ...engine.runner import Run
from ...errors import KeboolaError
from ...storage.storage import q
from .build import csv_names, file_name, match_files
from .model import S3Table

# DuckDB's CSV reader holds buffers of ~30 MB per file and thread: 16 files of 60 MB (1 GB) failed to load
# within the 128 MB that database loads use, and loaded within 256 MB; 512 MB leaves room for HTTP buffers.
FILE_LOAD_MEMORY_LIMIT = "512MB"


def new_files(files: list[S3File], state: dict[str, Any]) -> list[S3File]:
    """Files modified after the last run, or at its last timestamp but not loaded then."""
    last = state.get("lastTimestamp")
    if last is None:
        return files
    seen = set(state.get("filesInLastTimestamp", []))
    return [f for f in files if int(f.modified.timestamp()) > last
            or (int(f.modified.timestamp()) == last and f.key not in seen)]


def next_state(loaded: list[S3File], state: dict[str, Any]) -> dict[str, Any]:
    if not loaded:
        return state
    last = max(int(f.modified.timestamp()) for f in loaded)
    keys = sorted(f.key for f in loaded if int(f.modified.timestamp()) == last)
    if last == state.get("lastTimestamp"):
        keys = sorted(set(keys) | set(state.get("filesInLastTimestamp", [])))
    return {"lastTimestamp": last, "filesInLastTimestamp": keys}


def extract(run: Run, rows: list[tuple[str, str, S3Table]]) -> None:
    """Every row's files into storage in one storage transaction; newFilesOnly rows keep what they read as state."""
    with run.storage.transaction(FILE_LOAD_MEMORY_LIMIT) as loader:
        for index, (row_id, row_name, table) in enumerate(rows, 1):
            params = table.params
            connector = S3Connector(run.config.name, {**params.model_dump(by_alias=True), "prefix": ""})
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
            connector.attach(loader.con)
            run.load(loader, row_name, table_id, _scan(connector, files, table), incremental=table.manifest.incremental,
                     primary_key=table.manifest.primary_key, read=lambda: f" from {len(files)} file(s)", files=len(files))
            if params.newFilesOnly:
                run.save_state(row_id, next_state(files, state))


def _scan(connector: S3Connector, files: list[S3File], table: S3Table) -> Scan:
    formats = {file_format(f.key) for f in files}
    if len(formats) > 1:
        raise KeboolaError(f"row {table.table!r}: the key matches files of several formats ({', '.join(sorted(formats))})",
                           fix="narrow the key, e.g. with a suffix after the wildcard: exports/*.csv")
    fmt, manifest = formats.pop(), table.manifest
    names = csv_names(connector, table, files[0].key)
    if not table.added:
        urls = [connector.url(f.key) for f in files]
        return Scan(read_sql(urls, fmt, manifest.delimiter, manifest.enclosure, manifest.header, names))
    # Added columns are per file (its name, its row numbers): one read per file, stacked by column name.
    # row_number() OVER () numbers rows in the order the file holds them (DuckDB streams that window in order).
    added = {"keboola.processor-add-filename-column": lambda f: duck_literal(file_name(table.params, f.key)),
             "keboola.processor-add-row-number-column": lambda f: "row_number() OVER ()"}
    parts = []
    for f in files:
        columns = ", ".join(f"{added[processor](f)} AS {q(column)}" for processor, column in table.added)
        source = read_sql([connector.url(f.key)], fmt, manifest.delimiter, manifest.enclosure, manifest.header, names)
        parts.append(f"SELECT *, {columns} FROM ({source})")
    return Scan(" UNION ALL BY NAME ".join(f"({part})" for part in parts))
