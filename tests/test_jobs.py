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
    host_pid = runner.rsplit(":", 1)[0]
    assert dead.error.startswith(f"interrupted: the process running it ({host_pid}) ended before the job finished")
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


def test_a_reused_pid_is_not_the_process_and_a_job_finished_meanwhile_keeps_its_status(tmp_path, monkeypatch):
    from keboola_nb.engine import jobs as jobs_module

    jobs = JobStore(tmp_path / "jobs.sqlite")
    reused = jobs.start("c", "1", "reused")
    with sqlite3.connect(tmp_path / "jobs.sqlite") as db:  # this pid, but a process that started at another time
        db.execute("UPDATE jobs SET runner = ? WHERE id = ?", (reused.runner.rsplit(":", 1)[0] + ":1", reused.id))
    assert jobs.get(reused.id).status == "error"

    finishing = jobs.start("c", "2", "finishing")

    def finished_just_now(runner: str) -> bool:  # its process finishes the job, then is gone
        jobs.finish(jobs_module.Job(finishing.id, "c", "2", "finishing", "processing", "user", finishing.started),
                    "success")
        return True

    monkeypatch.setattr(jobs_module, "_gone", finished_just_now)
    assert jobs.get(finishing.id).status == "success"


def test_connections_of_ended_threads_are_closed(tmp_path):
    import threading

    jobs = JobStore(tmp_path / "jobs.sqlite")
    for _ in range(20):  # as a server's worker threads come and go
        worker = threading.Thread(target=jobs.recent)
        worker.start()
        worker.join()
    jobs.recent()
    assert len(jobs._db._opened) == 1  # this thread's; the workers' were closed


def test_last_is_the_newest_job_run_on_its_own(tmp_path):
    jobs = JobStore(tmp_path / "jobs.sqlite")
    assert jobs.last("flow") is None
    first = jobs.start("keboola.flow", "flow", "daily")
    alone = jobs.start("c", "task", "big")
    jobs.start("c", "task", "big", parent_id=first.id)  # a task of the flow: not its own run
    second = jobs.start("keboola.flow", "flow", "daily")
    assert jobs.last("flow").id == second.id and jobs.last("task").id == alone.id
