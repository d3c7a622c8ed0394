"""Job records: a job whose process died mid-run (a killed kernel, a stopped MCP server) is not "processing"
forever: it reads as interrupted, naming the process, once that process is gone."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import keboola_nb
from keboola_nb.engine.jobs import JobStore

SOURCE = str(Path(keboola_nb.__file__).resolve().parent.parent)


def test_a_job_whose_process_died_reads_as_interrupted(tmp_path):
    path = tmp_path / "jobs.sqlite"
    died = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {SOURCE!r})
        from pathlib import Path
        from keboola_nb.engine.jobs import JobStore
        job = JobStore(Path({str(path)!r})).start("keboola.ex-db-pgsql", "1", "orders")
        print(job.id, job.runner)
        os._exit(9)  # no finish: as a kill would leave it
    """)
    done = subprocess.run([sys.executable, "-c", died], capture_output=True, text=True, timeout=60)
    job_id, runner = done.stdout.split()
    jobs = JobStore(path)
    mine = jobs.start("keboola.ex-db-pgsql", "2", "customers")  # this process runs on: its job stays open

    dead = jobs.get(int(job_id))
    assert dead.status == "error" and dead.finished is not None
    assert dead.error.startswith(f"interrupted: the process running it ({runner}) ended before the job finished")
    assert jobs.get(mine.id).status == "processing"
    assert [j.status for j in jobs.recent()] == ["processing", "error"]


def test_a_job_store_made_before_runners_were_recorded_opens_and_keeps_its_jobs(tmp_path):
    path = tmp_path / "jobs.sqlite"
    with sqlite3.connect(path) as db:  # the table as the first versions made it
        db.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, component_id TEXT NOT NULL, "
                   "config_id TEXT NOT NULL, config_name TEXT NOT NULL, status TEXT NOT NULL, actor TEXT NOT NULL, "
                   "started TEXT NOT NULL, finished TEXT, tables TEXT NOT NULL DEFAULT '[]', "
                   "log TEXT NOT NULL DEFAULT '', error TEXT)")
        db.execute("INSERT INTO jobs (component_id, config_id, config_name, status, actor, started) "
                   "VALUES ('c', '1', 'old', 'processing', 'user', '2024-01-01T00:00:00+00:00')")
    jobs = JobStore(path)
    old = jobs.get(1)
    assert (old.config_name, old.status, old.runner, old.parent_id) == ("old", "processing", None, None)
    new = jobs.start("c", "2", "new", parent_id=1)
    assert jobs.get(new.id).runner == new.runner and jobs.children(1)[0].id == new.id
