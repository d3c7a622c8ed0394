"""Run an S3 extractor: the files each row's key matches, read by DuckDB over s3://, into storage.

All rows load in one storage transaction; the newFilesOnly state {lastTimestamp, filesInLastTimestamp}
is written only after it commits, so a failed run loads the same files again next time.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..connectors.base import Scan, duck_literal
from ..connectors.s3 import S3Connector, S3File, file_format, read_sql
from ..errors import KeboolaError
from ..model.configuration import Configuration
from ..model.s3_extractor import S3Table, check_rows
from ..s3_extractors import csv_names, file_name, match_files
from ..storage.storage import q
from ..store.secrets import redact
from .extractor import UNTOUCHED
from .jobs import Job
from .progress import Progress
from .runs import begin, fail, select_rows, succeed

if TYPE_CHECKING:
    from ..project import Project


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


def run_s3_extractor(
    project: Project, config: Configuration, rows: list[str] | None = None,
    progress: Progress | None = None, actor: str = "user",
) -> Job:
    job, progress = begin(project, config, progress, actor)
    current = ""
    try:
        checked = check_rows(config)
        selected = select_rows(config, checked, rows, lambda table: True)
        job.note(f"extractor {config.name} ({config.component_id}): {len(selected)} row(s)")
        new_state: dict[str, dict[str, Any]] = {}
        with project.storage.transaction(FILE_LOAD_MEMORY_LIMIT) as loader:
            for index, (row_id, row_name, table) in enumerate(selected, 1):
                params = table.params
                node = {**params.model_dump(by_alias=True), "prefix": ""}
                connector = S3Connector(config.name, node)
                current = config.default_table_id(table.table)
                state = project.state.row(config.id, row_id) if params.newFilesOnly else {}
                files = match_files(connector, params)
                if params.newFilesOnly:
                    files = new_files(files, state)
                if params.limit:
                    files = files[: params.limit]
                progress.step(index, len(selected), f"{row_name} -> {current}")
                if not files:
                    if params.newFilesOnly and state:
                        job.note(f"{row_name}: no new files under s3://{params.bucket}/{params.key}")
                        continue
                    raise KeboolaError(f"row {row_name!r}: no file in s3://{params.bucket} matches {params.key!r}",
                                       fix="check the key and the wildcard, or list the keys of the connection")
                started = time.perf_counter()
                connector.attach(loader.con)
                result = loader.load(current, _scan(connector, files, table), incremental=table.manifest.incremental,
                                     primary_key=table.manifest.primary_key,
                                     source=f"{config.component_id}/{config.name}/{row_name}")
                seconds = time.perf_counter() - started
                job.tables.append({"table_id": result.table_id, "rows": result.rows, "seconds": round(seconds, 3),
                                   "total_rows": result.total_rows, "incremental": result.incremental,
                                   "files": len(files)})
                job.note(f"{row_name}: {len(files)} file(s), {result.rows:,} rows in {seconds:.2f} s; "
                         f"table has {result.total_rows:,}")
                if params.newFilesOnly:
                    new_state[row_id] = next_state(files, state)
        return succeed(project, job, config.id, new_state, progress)
    except KeboolaError as e:
        return fail(project, job, e, UNTOUCHED)
    except Exception as e:  # S3 or DuckDB: name the table, keep the message short
        job.tables.clear()
        text = redact(str(e)).strip().splitlines()[0]
        job.note(f"failed: {text}")
        where = f"extracting into {current}" if current else f"running {config.name!r}"
        return project.jobs.finish(job, "error", f"{where} failed: {text}. {UNTOUCHED}")


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
