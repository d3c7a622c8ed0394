"""Job records: every run of anything leaves one (status, rows per table, timings, log)."""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import KeboolaError
from ..store.secrets import redact
from ..store.sqlite import LocalDb

if TYPE_CHECKING:
    import sqlite3

    import pandas as pd

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    component_id TEXT NOT NULL,
    config_id TEXT NOT NULL,
    config_name TEXT NOT NULL,
    status TEXT NOT NULL,
    actor TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    tables TEXT NOT NULL DEFAULT '[]',
    log TEXT NOT NULL DEFAULT '',
    error TEXT
);
"""
# Added later, so projects made before get them on first use: a flow's task jobs name the flow's job (parent_id);
# a job names the process running it (runner: host, pid, start), so one whose process died does not stay
# "processing" forever.
_ADDED = {"parent_id": "INTEGER", "runner": "TEXT"}
_COLUMNS = ("id", "component_id", "config_id", "config_name", "status", "actor", "started", "finished", "tables",
            "log", "error", "parent_id", "runner")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM jobs"
INTERRUPTED = ("interrupted: the process running it ({runner}) ended before the job finished (killed, or its kernel "
               "or server stopped); what it loads commits only at its end, so storage and state were left as they "
               "were")


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Job:
    id: int
    component_id: str
    config_id: str
    config_name: str
    status: str  # processing | success | error
    actor: str
    started: datetime
    finished: datetime | None = None
    tables: list[dict[str, Any]] = field(default_factory=list)  # per table: id, rows, seconds, ...
    log: list[str] = field(default_factory=list)
    error: str | None = None
    parent_id: int | None = None  # the flow's job, for a job run as one of its tasks
    runner: str | None = None  # the process running it: "host:pid:start"

    @property
    def duration(self) -> float | None:
        return (self.finished - self.started).total_seconds() if self.finished else None

    @property
    def rows(self) -> dict[str, int]:
        return {t["table_id"]: t["rows"] for t in self.tables}

    def note(self, line: str) -> None:
        stamp = _now().strftime("%H:%M:%S")
        self.log.append(redact(f"{stamp} {line}"))

    def __repr__(self) -> str:
        took = f" in {self.duration:.2f} s" if self.duration is not None else ""
        lines = [f"Job {self.id} {self.config_name}: {self.status}{took}"]
        lines += [f"  {t['table_id']}: {t['rows']:,} rows ({t['seconds']:.2f} s)" for t in self.tables]
        if self.error:
            lines.append(f"  error: {self.error}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from html import escape

        color = {"success": "#1a7f37", "error": "#cf222e"}.get(self.status, "#9a6700")
        took = f" in {self.duration:.2f} s" if self.duration is not None else ""
        rows = "".join(
            f"<tr><td>{escape(t['table_id'])}</td><td style='text-align:right'>{t['rows']:,}</td>"
            f"<td style='text-align:right'>{t['seconds']:.2f} s</td><td>{'incremental' if t.get('incremental') else 'full'}</td></tr>"
            for t in self.tables
        )
        table = f"<table><tr><th>table</th><th>rows</th><th>time</th><th>load</th></tr>{rows}</table>" if rows else ""
        error = f"<div style='color:{color}'>{escape(self.error)}</div>" if self.error else ""
        log = escape("\n".join(self.log))
        return (
            f"<div><b>Job {self.id}</b> {escape(self.config_name)}: <b style='color:{color}'>{self.status}</b>{took}"
            f"{table}{error}<details><summary>log</summary><pre>{log}</pre></details></div>"
        )


class JobStore:
    """Jobs in SQLite (WAL), safe for several kernels on one project."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = LocalDb(path, _SCHEMA)
        self._migrated = False

    def close(self) -> None:
        """Close the job database's connections (e.g. before its folder goes)."""
        self._db.close()

    def _connection(self) -> "sqlite3.Connection":
        db = self._db()
        if not self._migrated:
            have = {r[1] for r in db.execute("PRAGMA table_info(jobs)")}
            for column, kind in _ADDED.items():
                if column not in have:
                    with db:
                        db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")
            self._migrated = True
        return db

    def start(self, component_id: str, config_id: str, config_name: str, actor: str = "user",
              parent_id: int | None = None) -> Job:
        started, runner = _now(), _runner()
        with self._connection() as db:
            cur = db.execute(
                "INSERT INTO jobs (component_id, config_id, config_name, status, actor, started, parent_id, runner) "
                "VALUES (?,?,?,?,?,?,?,?)",
                (component_id, config_id, config_name, "processing", actor, started.isoformat(), parent_id, runner),
            )
        return Job(int(cur.lastrowid), component_id, config_id, config_name, "processing", actor, started,  # type: ignore[arg-type]
                   parent_id=parent_id, runner=runner)

    def finish(self, job: Job, status: str, error: str | None = None) -> Job:
        job.status = status
        job.error = redact(error) if error else None
        job.finished = _now()
        with self._connection() as db:
            db.execute(
                "UPDATE jobs SET status=?, finished=?, tables=?, log=?, error=? WHERE id=?",
                (job.status, job.finished.isoformat(), json.dumps(job.tables), "\n".join(job.log), job.error, job.id),
            )
        return job

    def get(self, job_id: int) -> Job:
        row = self._connection().execute(f"{_SELECT} WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise KeboolaError(f"there is no job {job_id}", fix="list jobs with %keboola jobs")
        return self._checked([_job(row)])[0]

    def recent(self, limit: int = 20) -> list[Job]:
        rows = self._connection().execute(f"{_SELECT} ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return self._checked([_job(r) for r in rows])

    def last(self, config_id: str) -> Job | None:
        """The configuration's newest job run on its own (not as a task of a flow); None: never run so."""
        row = self._connection().execute(
            f"{_SELECT} WHERE config_id = ? AND parent_id IS NULL ORDER BY id DESC LIMIT 1", (config_id,)).fetchone()
        return self._checked([_job(row)])[0] if row is not None else None

    def children(self, job_id: int) -> list[Job]:
        """The jobs run as tasks of a flow's job, in the order they started."""
        rows = self._connection().execute(f"{_SELECT} WHERE parent_id = ? ORDER BY id", (job_id,)).fetchall()
        return self._checked([_job(r) for r in rows])

    def _checked(self, jobs: list[Job]) -> list[Job]:
        """The jobs, each "processing" one whose process on this machine is gone finished as interrupted. Only a
        row still processing is changed: its process may have finished it since it was read."""
        for job in jobs:
            if job.status != "processing" or not job.runner or not _gone(job.runner):
                continue
            error, finished = INTERRUPTED.format(runner=job.runner.rsplit(":", 1)[0]), _now()
            with self._connection() as db:
                db.execute("UPDATE jobs SET status = 'error', finished = ?, error = ? "
                           "WHERE id = ? AND status = 'processing' AND runner = ?",
                           (finished.isoformat(), error, job.id, job.runner))
            row = self._connection().execute(f"{_SELECT} WHERE id = ?", (job.id,)).fetchone()
            jobs[jobs.index(job)] = _job(row)
        return jobs

    def list(self, limit: int = 20) -> "pd.DataFrame":
        import pandas as pd

        records = [
            {
                "id": j.id,
                "config": j.config_name,
                "component": j.component_id,
                "status": j.status,
                "started": j.started,
                "seconds": round(j.duration, 2) if j.duration is not None else None,
                "rows": sum(j.rows.values()),
                "actor": j.actor,
                "error": j.error or "",
            }
            for j in self.recent(limit)
        ]
        columns = ["id", "config", "component", "status", "started", "seconds", "rows", "actor", "error"]
        return pd.DataFrame(records, columns=columns)


def _runner() -> str:
    """This process as "host:pid:start": the start time tells a reused pid from the process itself."""
    return f"{socket.gethostname()}:{os.getpid()}:{_started(os.getpid()) or ''}"


def _started(pid: int) -> str | None:
    """When process `pid` started, in clock ticks since boot (Linux); None where that cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22; the name before ")" may hold spaces


def _gone(runner: str) -> bool:
    """Whether the process `runner` names was on this machine and has ended (elsewhere: not known, so no)."""
    host, pid, started = (runner.split(":") + ["", ""])[:3]
    if host != socket.gethostname() or not pid.isdigit() or os.name != "posix":
        return False  # (on Windows, signal 0 would not just probe the process)
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, another user's
    now = _started(int(pid))
    return bool(started and now and now != started)  # the pid is another process's now


def _job(row: tuple) -> Job:
    (id_, component_id, config_id, config_name, status, actor, started, finished, tables, log, error, parent_id,
     runner) = row
    return Job(
        id=id_,
        component_id=component_id,
        config_id=config_id,
        config_name=config_name,
        status=status,
        actor=actor,
        started=datetime.fromisoformat(started),
        finished=datetime.fromisoformat(finished) if finished else None,
        tables=json.loads(tables),
        log=log.splitlines(),
        error=error,
        parent_id=parent_id,
        runner=runner,
    )
