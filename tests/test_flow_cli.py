"""Flows outside a notebook: `keboola-nb run` as cron runs it (exit codes, a line per task job), `keboola-nb
schedule` as crontab lines, resuming a failed flow from its first failed phase, and a FlowGraph following a run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from flow_fixtures import split_orders

from keboola_nb.errors import KeboolaError
from keboola_nb.ui.flow_graph import flow_graph


def keboola_nb(*args: str) -> subprocess.CompletedProcess[str]:
    script = shutil.which("keboola-nb", path=str(Path(sys.executable).parent))
    assert script, "pip did not install the keboola-nb script next to this Python"
    return subprocess.run([script, *args], capture_output=True, text=True, env=dict(os.environ))


@pytest.fixture
def shop(project, tmp_path):
    """Two SQL transformations on a loaded table, and `gated`, a Python one that fails until a marker file exists."""
    t = split_orders(project).transformations
    marker = tmp_path / "gate-open"
    code = (f"import os\nif not os.path.exists({str(marker)!r}):\n    raise RuntimeError('gate closed')\n"
            "open('out/tables/gated.csv', 'w').write('id\\n1\\n')\n")
    t.create_python("gated", code, inputs=[], outputs=["out.c-x.gated"])
    project.flows.create("daily", "phases:\n  - first: [big]\n  - second: [gated]\n  - third: [small]\n")
    return project, marker


# keboola-nb run -------------------------------------------------------------------------------------------
def test_the_cli_runs_a_flow_prints_its_task_jobs_and_resumes_it(shop):
    project, marker = shop
    root = str(project.root)
    failed = keboola_nb("run", "daily", "--project", root)
    assert failed.returncode == 1, failed.stderr
    [flow_job] = [j for j in project.jobs.recent(10) if j.config_name == "daily"]
    lines = failed.stdout.splitlines()
    assert lines[0].startswith(f"Job {flow_job.id} daily: error")
    children = project.jobs.children(flow_job.id)
    assert [c.config_name for c in children] == ["big", "gated"]
    assert f"  job {children[0].id} big: success in " in failed.stdout
    assert any(line.startswith(f"  job {children[1].id} gated: error in ") and "gate closed" in line
               for line in lines)

    marker.touch()
    resumed = keboola_nb("--json", "run", "daily", "--resume", str(flow_job.id), "--project", root)
    assert resumed.returncode == 0, resumed.stderr
    job = json.loads(resumed.stdout)
    assert job["status"] == "success"
    assert [(t["config"], t["status"]) for t in job["tasks"]] == [("gated", "success"), ("small", "success")]
    assert project.jobs.get(job["id"]).actor == "cli"


def test_cli_usage_errors_exit_with_2_before_a_job_starts(shop):
    project, _ = shop
    root = str(project.root)
    before = len(project.jobs.recent(100))
    unknown = keboola_nb("run", "nope", "--project", root)
    assert unknown.returncode == 2 and "nope" in unknown.stderr
    not_a_flow = keboola_nb("run", "big", "--resume", "1", "--project", root)
    assert not_a_flow.returncode == 2 and "only a flow can resume" in not_a_flow.stderr
    bad_option = keboola_nb("run", "daily", "--resume", "first", "--project", root)
    assert bad_option.returncode == 2 and "invalid int value" in bad_option.stderr
    assert len(project.jobs.recent(100)) == before


# keboola-nb schedule --------------------------------------------------------------------------------------
def test_schedule_prints_crontab_lines_that_run_the_flow(shop):
    project, _ = shop
    project.flows.create("nightly", 'schedule: "30 2 * * *"\ntimezone: Europe/Prague\nphases:\n  - first: [big]\n')
    done = keboola_nb("schedule", "nightly", "--project", str(project.root))
    assert done.returncode == 0, done.stderr
    comment, tz, line = done.stdout.splitlines()
    assert comment.startswith("# nightly: every day at 02:30 (Europe/Prague); next runs ")
    assert len(comment.split("; next runs ")[1].split(", ")) == 3 and "CE" in comment  # CET or CEST
    assert tz == "CRON_TZ=Europe/Prague"
    script = str(Path(shutil.which("keboola-nb", path=str(Path(sys.executable).parent))).resolve())
    assert line == f"30 2 * * * {script} run nightly --project {project.root.resolve()}"
    # the line runs as written (the command after the five time fields)
    ran = subprocess.run(line.split(" ", 5)[5], shell=True, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("Job ") and " nightly: success" in ran.stdout

    unscheduled = keboola_nb("schedule", "daily", "--project", str(project.root))
    assert unscheduled.returncode == 2 and "'daily' has no schedule" in unscheduled.stderr


def test_a_utc_schedule_has_no_cron_tz_line(shop):
    project, _ = shop
    project.flows.create("hourly", 'schedule: "0 * * * *"\nphases:\n  - first: [big]\n')
    done = keboola_nb("schedule", "hourly", "--project", str(project.root))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2 and lines[1].startswith("0 * * * * /") and "CRON_TZ" not in done.stdout
    first = datetime.strptime(lines[0].split("; next runs ")[1].split(", ")[0], "%Y-%m-%d %H:%M UTC")
    assert first.minute == 0


# resume -----------------------------------------------------------------------------------------------------
def test_resume_skips_the_phases_that_succeeded(shop):
    project, marker = shop
    failed = project.run("daily")
    assert failed.status == "error" and "phase 'second' failed (gated)" in failed.error
    [big, gated] = project.jobs.children(failed.id)
    assert (big.status, gated.status) == ("success", "error")

    marker.touch()
    resumed = project.run("daily", resume=failed.id)
    assert resumed.status == "success", resumed.error
    assert [(c.config_name, c.status) for c in project.jobs.children(resumed.id)] == [("gated", "success"),
                                                                                      ("small", "success")]
    assert any(f"phase first: skipped, its task job(s) {big.id} succeeded in job {failed.id}" in line
               for line in resumed.log)
    assert not any("phase second: skipped" in line for line in resumed.log)
    assert set(project.storage.tables()["id"]) >= {"out.c-x.big", "out.c-x.gated", "out.c-x.small"}
    with pytest.raises(KeboolaError, match=f"job {resumed.id} of 'daily' succeeded: there is nothing to resume"):
        project.run("daily", resume=resumed.id)


def test_resuming_a_resumed_run_keeps_what_both_runs_finished(shop, tmp_path):
    project, marker = shop
    project.transformations.create_python(
        "late", f"import os\nif not os.path.exists({str(tmp_path / 'late-open')!r}):\n    raise RuntimeError('x')\n"
                "open('out/tables/late.csv', 'w').write('id\\n1\\n')\n", inputs=[], outputs=["out.c-x.late"])
    project.flows.create("daily", "phases:\n  - first: [big]\n  - second: [gated]\n  - third: [late]\n",
                         replace=True)
    first = project.run("daily")
    marker.touch()
    second = project.run("daily", resume=first.id)
    assert second.status == "error"
    assert [(c.config_name, c.status) for c in project.jobs.children(second.id)] == [("gated", "success"),
                                                                                     ("late", "error")]
    (tmp_path / "late-open").touch()
    third = project.run("daily", resume=second.id)
    assert third.status == "success", third.error
    assert [c.config_name for c in project.jobs.children(third.id)] == ["late"]  # first and second: done before
    assert any("phase first: skipped" in line for line in third.log)
    assert any("phase second: skipped" in line for line in third.log)


def test_resume_refuses_another_configurations_job_and_a_missing_one(shop):
    project, _ = shop
    other = project.run("big")
    with pytest.raises(KeboolaError, match=f"job {other.id} ran 'big', not 'daily'"):
        project.run("daily", resume=other.id)
    with pytest.raises(KeboolaError, match="there is no job 9999"):
        project.run("daily", resume=9999)
    assert [j.config_name for j in project.jobs.recent(10)] == ["big"]  # no flow job was started


# live statuses ----------------------------------------------------------------------------------------------
def test_a_flow_run_recolours_its_graph_task_by_task(shop):
    from keboola_nb.ui.flow_progress import FlowProgress

    project, marker = shop
    graph = flow_graph(project.flows, "daily")
    seen: list[dict] = []
    graph.observe(lambda change: seen.append(dict(change["new"])), "statuses")
    progress = FlowProgress("run daily", graph)
    assert graph.statuses == {"big": "waiting", "gated": "waiting", "small": "waiting"}
    failed = project.run("daily", progress=progress)
    assert failed.status == "error"
    assert graph.statuses == {"big": "success", "gated": "failed", "small": "waiting"}
    assert {"big": "running", "gated": "waiting", "small": "waiting"} in seen  # it showed big while it ran

    marker.touch()
    progress = FlowProgress("resume daily", graph)
    assert project.run("daily", progress=progress, resume=failed.id).status == "success"
    assert graph.statuses == {"big": "skipped", "gated": "success", "small": "success"}
    node = next(n for n in graph.graph.nodes if n.data.get("task_id") == "gated")
    assert "status-success" in node.classes.split()
