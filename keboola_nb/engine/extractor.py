"""Run an extractor configuration: every enabled row (or the chosen ones) into storage, as one Job.

All rows load in one storage transaction and the incremental state is written only after it commits,
so a failed run leaves storage and state exactly as they were.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..connectors import ExtractSpec, open_connector
from ..errors import KeboolaError
from ..model.components import component
from ..model.configuration import Configuration
from ..model.db_extractor import DbRow, check_rows
from ..store.secrets import redact
from .jobs import Job
from .progress import Progress, watch_query
from .runs import begin, fail, select_rows, succeed

if TYPE_CHECKING:
    from ..project import Project

UNTOUCHED = "Storage and state were left as they were."
# How a source that died or cancelled us mid-read shows up in the postgres scanner's and connectorx's errors.
_LOST_SOURCE = ("server closed the connection", "terminating connection", "connection to server",
                "connection reset", "failed to execute query", "canceling statement",
                "lost connection", "gone away", "connection was killed", "broken pipe",
                "bytes remaining on stream", "server disconnected")


def run_extractor(
    project: "Project",
    config: Configuration,
    rows: list[str] | None = None,
    progress: Progress | None = None,
    actor: str = "user",
) -> Job:
    job, progress = begin(project, config, progress, actor)
    current = ""
    try:
        checked = check_rows(config)
        selected = select_rows(config, checked, rows, lambda p: p.enabled)
        job.note(f"extractor {config.name} ({config.component_id}): {len(selected)} table(s)")
        db = checked[0][1].db.model_dump(by_alias=True, exclude_none=True)
        connector = open_connector(component(config.component_id).kind, config.name, db)
        new_state: dict[str, dict[str, Any]] = {}
        try:
            with project.storage.transaction() as loader:
                for index, (row_id, row_name, params) in enumerate(selected, 1):
                    current = params.outputTable
                    spec = _spec(params, project.state.row(config.id, row_id))
                    what = f"{params.table.schema_}.{params.table.tableName}" if params.table else "query"
                    since = f" from {params.incrementalFetchingColumn} >= {spec.since}" if spec.since is not None else ""
                    job.note(f"{row_name}: reading {what}{since} into {params.outputTable}")
                    progress.step(index, len(selected), f"{row_name} -> {params.outputTable}")
                    started = time.perf_counter()
                    scan = connector.scan(loader.con, spec)
                    with watch_query(loader.con, progress):
                        result = loader.load(
                            params.outputTable,
                            scan,
                            incremental=params.incremental,
                            primary_key=params.primaryKey,
                            watermark_column=params.incrementalFetchingColumn,
                            source=f"{config.component_id}/{config.name}/{row_name}",
                        )
                    seconds = time.perf_counter() - started
                    job.tables.append(
                        {"table_id": result.table_id, "rows": result.rows, "seconds": round(seconds, 3),
                         "total_rows": result.total_rows, "incremental": result.incremental}
                    )
                    job.note(f"{row_name}: {result.rows:,} rows in {seconds:.2f} s; table has {result.total_rows:,}")
                    if params.incrementalFetchingColumn:
                        mark = result.watermark if result.watermark is not None else spec.since
                        if mark is not None:
                            new_state[row_id] = {"lastFetchedRow": str(mark)}
                        if not params.primaryKey:
                            job.note(f"{row_name}: no primary key, so rows at the watermark may repeat")
        finally:
            connector.close()
        return succeed(project, job, config.id, new_state, progress)
    except KeboolaError as e:
        return fail(project, job, e, UNTOUCHED)
    except Exception as e:  # a driver error: name the table and keep the message short
        job.tables.clear()
        message = _explain(e, current, config.name)
        job.note(f"failed: {redact(str(e))}")
        return project.jobs.finish(job, "error", message)


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


def _explain(error: Exception, table_id: str, config_name: str) -> str:
    text = redact(str(error)).strip().splitlines()[0]
    where = f"extracting into {table_id}" if table_id else f"running {config_name!r}"
    if "interrupted" in text.lower():
        return f"{where} was stopped by the user. {UNTOUCHED}"
    if any(marker in text.lower() for marker in _LOST_SOURCE):
        return (
            f"{where} failed: the source closed the connection or cancelled the query mid-extract ({text}). "
            f"{UNTOUCHED} Run it again when the source is back."
        )
    return f"{where} failed: {text}. {UNTOUCHED}"
