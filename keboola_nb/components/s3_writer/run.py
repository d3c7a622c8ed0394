"""Running an S3 writer: each row's storage table as a plain CSV file (with a header) at
bucket/prefix + destination, overwriting what is there, as the component does.

Nothing is ever half-written at a final key. DuckDB streams each file (`COPY ... TO 's3://...'`
through httpfs, bounded memory) to a temporary key beside it; only when every file of the run is
complete are they copied over their final keys (S3 makes each copy visible at once, whole), and the
temporary objects are removed, on failure too (with any unfinished multipart upload). Writing to the
final key directly is not safe: when a COPY fails midway, DuckDB still completes the upload of what
it had written. The changed_since state is saved only after every file is in place, so a rerun after
a failure writes the same rows again, and each row ends up in the final file exactly once.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from ...connectors.base import duck_literal
from ...connectors.s3 import S3Connector
from ...engine.progress import watch_query
from ...engine.runner import Run
from ...engine.table_writer import STATE_KEY, storage_select
from ...model.aws_login import AwsLogin, local_login
from ...storage.storage import LOAD_MEMORY_LIMIT
from ...store.secrets import redact
from .model import S3WriterRow

if TYPE_CHECKING:
    import duckdb

    from ...engine.jobs import Job

UNTOUCHED = "The files in S3 and the writer's state were left as they were."
TEMPORARY = ".keboola-nb-{token}.tmp"  # appended to the final key: no `*.csv` wildcard matches it
# Upload parts of ~10 MB (the default is ~80 MB), at most 4 at a time: bounded memory for any file size
# up to the 100 GB this allows.
UPLOAD_SETTINGS = {"s3_uploader_max_filesize": "100GB", "s3_uploader_thread_limit": 4}


def write(run: Run, rows: list[tuple[str, str, S3WriterRow]]) -> None:
    """Every row's table to a temporary key, then all of them over their final keys; the temporary
    objects are removed whatever happens."""
    staged: list[tuple[str, str]] = []  # (temporary key, final key)
    first = rows[0][2]
    login, note = local_login(first.model_dump(by_alias=True, include=set(AwsLogin.model_fields)))
    if note:
        run.note(note)
    connector = S3Connector(run.config.name, {**login, "bucket": first.bucket, "prefix": ""})
    token = uuid.uuid4().hex[:12]
    run.note(f"writing {len(rows)} file(s) to s3://{first.bucket}")
    try:
        with run.storage.connect() as con:
            con.execute(f"SET memory_limit = '{LOAD_MEMORY_LIMIT}'")
            connector.attach(con)
            for name, value in UPLOAD_SETTINGS.items():
                con.execute(f"SET {name} = {duck_literal(str(value))}")
            for index, (row_id, row_name, p) in enumerate(rows, 1):
                target = connector.url(p.key)
                run.where = f"writing {p.input.source} to {target}"
                since = run.row_state(row_id).get(STATE_KEY) if p.adaptive else None
                sql, newest = _select(con, p, since)
                run.progress.step(index, len(rows), f"{p.input.source} -> {target}")
                temporary = p.key + TEMPORARY.format(token=token)
                staged.append((temporary, p.key))  # before the COPY: a failed one may leave an object behind
                started = time.perf_counter()
                with watch_query(con, run.progress):
                    written = con.execute(
                        f"COPY ({sql}) TO {duck_literal(connector.url(temporary))} "
                        "(FORMAT csv, HEADER true, COMPRESSION none)").fetchone()[0]  # type: ignore[index]
                seconds = time.perf_counter() - started
                window = f" (imported after {since})" if since else ""
                run.job.tables.append({"table_id": p.input.source, "target": target, "rows": int(written),
                                       "seconds": round(seconds, 3), "incremental": False})
                run.note(f"{row_name}: {p.input.source}{window} -> {target}, {int(written):,} rows in {seconds:.2f} s")
                if p.adaptive and newest is not None:
                    run.save_state(row_id, {STATE_KEY: newest})
        run.where = "replacing the files"
        client = connector.client()
        promoted: list[str] = []
        for temporary, final in staged:  # every file is complete: now swap them in
            _replace(client, first.bucket, temporary, final)
            promoted.append(final)
            run.untouched = _untouched(promoted)
    finally:
        _discard(connector, staged, run.job)


def _select(con: duckdb.DuckDBPyConnection, p: S3WriterRow, since: str | None) -> tuple[str, str | None]:
    """The SELECT over storage that a row writes, and the newest import time among its rows."""
    chosen = storage_select(con, p.input.source, list(p.input.columns), p.adaptive, since)
    return chosen.sql, chosen.newest


def _replace(client: Any, bucket: str, temporary: str, final: str) -> None:
    """Copy a finished temporary object over its final key (a multipart copy above 8 MB); S3 shows
    the new object only once the copy is complete."""
    client.copy({"Bucket": bucket, "Key": temporary}, bucket, final)


def _discard(connector: S3Connector, staged: list[tuple[str, str]], job: Job) -> None:
    """Remove the run's temporary objects and abort their unfinished uploads; a failure here is noted,
    never raised over the run's own outcome."""
    if not staged:
        return
    client, bucket = connector.client(), connector.bucket
    keys = [temporary for temporary, _ in staged]
    try:
        for key in keys:
            for upload in client.list_multipart_uploads(Bucket=bucket, Prefix=key).get("Uploads", []):
                client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})
    except Exception as e:
        job.note(f"could not remove the temporary object(s) {', '.join(keys)}: {redact(str(e)).splitlines()[0]}")


def _untouched(promoted: list[str]) -> str:
    if not promoted:
        return UNTOUCHED
    return (f"File(s) {', '.join(promoted)} were already replaced, the others were not; the writer's state was "
            "left as it was: run it again to write them all.")
