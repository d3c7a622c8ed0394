"""Flows run end to end: phases in order, a phase's jobs in parallel as child jobs of the flow's job, a failure
stopping the flow unless a condition handles it, retries, variables, and notifications by email (a local SMTP
server) and webhook (a local HTTP server)."""

from __future__ import annotations

import pytest
from flow_fixtures import split_orders

from keboola_nb.errors import KeboolaError


@pytest.fixture
def shop(project):
    return split_orders(project)


def make_total(project):
    """A transformation reading what `big` makes: it can only succeed after it (saved unchecked: its input is not
    in storage yet)."""
    from keboola_nb import components

    config = components.get("keboola.duckdb-transformation").build_code(
        "total", "CREATE TABLE total AS SELECT sum(amount) AS total FROM big", ["out.c-x.big"], ["out.c-x.total"])
    project.configs.save(config)


def test_a_flow_runs_its_phases_in_order_and_its_tasks_as_child_jobs(shop):
    project = shop
    make_total(project)  # its input does not exist until the first phase has run
    project.flows.create("daily", "phases:\n  - split: [big, small]\n  - sum: [total]\n")
    job = project.run("daily")
    assert job.status == "success", job.error
    assert project.storage.preview("out.c-x.total")["total"].tolist()[0] == 40
    children = project.jobs.children(job.id)
    assert sorted(c.config_name for c in children[:2]) == ["big", "small"] and children[2].config_name == "total"
    assert all(c.status == "success" and c.parent_id == job.id for c in children)
    first, second = sorted(children[:2], key=lambda c: c.started)
    assert second.started < first.finished  # a phase's tasks start side by side, not one after the other
    assert children[2].started >= max(c.finished for c in children[:2])  # the next phase waits for both
    assert any("phase split: success" in line for line in job.log)


def test_a_failed_task_stops_the_flow_and_later_phases_do_not_run(shop):
    project = shop
    project.transformations.create_sql("broken", "CREATE TABLE broken AS SELECT CAST('x' AS INTEGER) AS n",
                                       inputs=[], outputs=["out.c-x.broken"])
    project.flows.create("failing", "phases:\n  - first: [broken]\n  - second: [big]\n")
    job = project.run("failing")
    assert job.status == "error"
    assert "phase 'first' failed (broken)" in job.error
    assert [c.config_name for c in project.jobs.children(job.id)] == ["broken"]
    assert "out.c-x.big" not in set(project.storage.tables()["id"])


def test_a_failure_handled_by_a_condition_notifies_a_webhook_and_the_flow_continues_there(shop, webhook):
    project = shop
    url, received = webhook
    project.transformations.create_sql("broken", "CREATE TABLE broken AS SELECT CAST('x' AS INTEGER) AS n",
                                       inputs=[], outputs=["out.c-x.broken"])
    project.flows.create("watched", f"phases:\n  - first: [broken]\n  - second: [big]\n"
                                    f"notify:\n  - when: failed\n    webhook: {url}\n")
    job = project.run("watched")
    assert job.status == "error" and "phase(s) first (broken) failed" in job.error  # handled, not a success
    assert len(received) == 1
    assert received[0]["flow"] == "watched" and received[0]["tasks"]["broken"] == "user_error"
    assert "sent webhook to " + url in "\n".join(job.log)
    assert "out.c-x.big" not in set(project.storage.tables()["id"])  # the failure went to the notification


def test_email_notifications_reach_an_smtp_server_and_an_unreachable_one_is_named(shop, smtp, monkeypatch):
    project = shop
    project.flows.create("mailed", "phases:\n  - first: [big]\n"
                                   "notify:\n  - when: succeeded\n    email: team@example.com\n")
    job = project.run("mailed")
    assert job.status == "success", job.error
    assert smtp and smtp[0][0] == ["team@example.com"] and "mailed" in smtp[0][1]
    monkeypatch.setenv("KEBOOLA_NB_SMTP_PORT", "1")  # nothing listens there
    job = project.run("mailed")
    assert job.status == "error"
    assert any("cannot email team@example.com through 127.0.0.1:1" in line for line in job.log)


def test_a_task_is_retried_as_configured(shop, tmp_path):
    project = shop
    marker = tmp_path / "tried"
    code = (f"import os\nif not os.path.exists({str(marker)!r}):\n    open({str(marker)!r}, 'w').close()\n"
            "    raise RuntimeError('flaky source')\nopen('out/tables/ok.csv', 'w').write('id\\n1\\n')\n")
    project.transformations.create_python("flaky", code, inputs=[], outputs=["out.c-x.ok"])
    config = project.flows.create("retrying", "phases:\n  - only: [flaky]\n")
    flow = config.configuration
    flow["tasks"][0]["task"]["retry"] = {"strategy": "linear", "strategyParams": {"maxRetries": 2, "delay": 0},
                                         "retryOn": [{"type": "errorMessageContains", "value": "flaky"}]}
    project.configs.save(config)
    job = project.run("retrying")
    assert job.status == "success", job.error
    assert [c.status for c in project.jobs.children(job.id)] == ["error", "success"]


def test_a_flow_with_a_missing_configuration_is_refused_when_it_is_made(shop):
    with pytest.raises(KeboolaError, match="nothing"):
        shop.flows.create("bad", "phases:\n  - first: [nothing]\n")
    assert shop.configs.find("bad") is None


def test_a_schedule_is_kept_as_the_flows_scheduler_configuration(shop):
    shop.flows.create("nightly", 'schedule: "0 1 * * *"\nphases:\n  - first: [big]\n')
    [schedule] = shop.flows.schedules("nightly")
    assert (schedule.cron, schedule.timezone) == ("0 1 * * *", "UTC")
    assert schedule.describe() == "every day at 01:00 UTC"
    folder = shop.layout.branch_dir / "other" / "keboola.flow" / "nightly" / "schedules"
    assert [p.name for p in folder.iterdir()] == ["nightly-schedule"]


def test_the_flow_magic_saves_shows_the_schedule_and_draws_the_graph(shop, ip, capsys):
    graph = ip.run_cell_magic("keboola", "flow daily", 'schedule: "30 6 * * 1-5"\ntimezone: Europe/Prague\n'
                                                       "phases:\n  - split: [big, small]\n")
    out = capsys.readouterr().out
    assert "saved keboola.flow 'daily'" in out
    assert "schedule: at 06:30 on Monday to Friday (Europe/Prague); next:" in out
    tasks = [e["data"]["id"] for e in graph.elements if e["data"].get("parent")]
    assert sorted(tasks) == ["task:big", "task:small"]
    assert ip.run_line_magic("keboola", "run daily").status == "success"


def test_a_condition_reads_a_task_jobs_result_from_a_real_run(shop):
    from keboola_nb.components.flow.model import from_flow_json

    project = shop
    config = project.flows.create("counted", "phases:\n  - split: [big]\n  - after: [small]\n")
    flow = config.configuration
    # go on to `after` only when big's job loaded exactly one table
    flow["phases"][0]["next"] = [{"id": "one-table", "goto": "after", "condition": {
        "type": "operator", "operator": "EQUALS", "operands": [
            {"type": "function", "function": "COUNT", "operands": [
                {"type": "task", "task": "big", "value": "job.result.output.tables"}]},
            {"type": "const", "value": 1}]}}, {"id": "end", "goto": None}]
    from_flow_json(flow)  # still a valid flow
    project.configs.save(config)
    job = project.run("counted")
    assert job.status == "success", job.error
    assert [c.config_name for c in project.jobs.children(job.id)] == ["big", "small"]
