"""A notification on a value in a transformation's data (the issue's `when: daily_revenue.revenue_drop > 0.1`) is
written with constructs Keboola has: a check transformation that fails when the comparison holds, in a phase after
the others, and a notification on the check's status. Run end to end against a local SMTP server."""

from __future__ import annotations

import email
import email.policy
import json

import pytest

import keboola_nb as kb
from keboola_nb.connectors.base import Scan

# Revenue per day and its drop against the day before.
DAILY = """CREATE TABLE daily_revenue AS
SELECT day, revenue, 1 - revenue / lag(revenue) OVER (ORDER BY day) AS revenue_drop
FROM (SELECT day, sum(amount) AS revenue FROM sales GROUP BY day)"""

FLOW = """schedule: "0 1 * * *"
phases:
  - transform: [daily_revenue]
  - load: [copy]
notify:
  - when: daily_revenue.revenue_drop > 0.1
    email: team@example.com
"""


def load_sales(project, last_day_amount: float) -> None:
    with project.storage.transaction() as loader:
        loader.load("in.c-shop.sales", Scan(sql=f"""SELECT * FROM (VALUES (DATE '2024-01-01', 100.0),
            (DATE '2024-01-02', 100.0), (DATE '2024-01-02', 0.0), (DATE '2024-01-03', {last_day_amount}))
            t(day, amount)"""))


@pytest.fixture
def revenue(project):
    load_sales(project, 95.0)
    project.transformations.create_sql("daily_revenue", DAILY, inputs=["in.c-shop.sales AS sales"],
                                       outputs=["daily_revenue AS out.c-revenue.daily_revenue"])
    project.transformations.create_sql("copy", "CREATE TABLE copied AS SELECT * FROM d",
                                       inputs=["out.c-revenue.daily_revenue AS d"], outputs=["copied AS out.c-x.copy"])
    return project


def test_a_value_in_the_data_becomes_a_check_transformation_and_a_condition_on_its_status(revenue):
    project = revenue
    flow = project.flows.create("daily-revenue", FLOW)
    check = project.configs.get("daily-revenue-check")
    assert check.component_id == "keboola.duckdb-transformation"
    assert check.configuration["storage"].get("output", {}).get("tables", []) == []  # it makes no table
    mapping = check.configuration["storage"]["input"]["tables"]
    assert [(t["source"], t["destination"]) for t in mapping] == [("out.c-revenue.daily_revenue", "checked")]
    script = "\n".join(c["script"][0] for b in check.configuration["parameters"]["blocks"] for c in b["codes"])
    assert 'WHERE "revenue_drop" > 0.1' in script and "error(" in script

    phases = flow.configuration["phases"]
    assert [p["name"] for p in phases] == ["transform", "load", "check", "Notify: daily_revenue.revenue_drop > 0.1"]
    after_check = phases[2]["next"]
    assert after_check[0]["goto"] == phases[3]["id"] and after_check[-1]["goto"] is None
    condition = after_check[0]["condition"]
    assert condition["operator"] == "EQUALS" and condition["operands"][1]["value"] == "user_error"
    assert condition["operands"][0] == {"type": "task", "task": "daily-revenue-check", "value": "status"}


def test_the_notification_goes_out_only_when_the_data_shows_it(revenue, smtp):
    project = revenue
    project.flows.create("daily-revenue", FLOW)
    job = project.run("daily-revenue")  # the last day: 95 after 100, a drop of 5%
    assert job.status == "success", job.error
    assert smtp == []

    load_sales(project, 80.0)  # a drop of 20%
    job = project.run("daily-revenue")
    assert job.status == "error" and job.error.startswith("flow 'daily-revenue' ran to its end, but phase(s) check")
    check = project.jobs.children(job.id)[-1]
    assert "the check at line 2 failed: daily_revenue.revenue_drop > 0.1: 0.19999" in check.error
    assert "the data shows what this check looks for" in check.error and "correct the SQL" not in check.error
    assert len(smtp) == 1 and smtp[0][0] == ["team@example.com"]
    mail = email.message_from_string(smtp[0][1], policy=email.policy.default)
    assert mail["Subject"] == "Flow daily-revenue: daily_revenue.revenue_drop > 0.1"
    assert "holds in out.c-revenue.daily_revenue (checked by daily-revenue-check)" in mail.get_content()
    # The check runs after the others: the data was loaded all the same.
    assert project.storage.query('SELECT max(revenue) FILTER (WHERE day = DATE \'2024-01-03\') AS r '
                                 'FROM "out.c-x".copy')["r"].tolist() == [80.0]


def test_a_new_version_of_the_flow_keeps_its_check_under_its_id(revenue, smtp):
    project = revenue
    project.flows.create("daily-revenue", FLOW)
    flow = project.flows.create("daily-revenue", FLOW.replace("0.1", "0.01"), replace=True)
    check = project.configs.get("daily-revenue-check")
    assert check.version == 2 and project.configs.find("daily-revenue-check-2") is None
    assert "> 0.01" in json.dumps(check.configuration)
    task = next(t for t in flow.configuration["tasks"] if t["name"] == "daily-revenue-check")
    assert task["task"]["configId"] == check.id
    job = project.run("daily-revenue")  # a drop of 5% is more than 1%: the check runs, fails, and mails
    assert [c.config_name for c in project.jobs.children(job.id)][-1] == "daily-revenue-check"
    assert job.status == "error" and len(smtp) == 1


@pytest.mark.parametrize("replace", [False, True])
def test_a_failed_save_leaves_the_flow_and_its_check_as_they_were(revenue, monkeypatch, replace):
    import keboola_nb.store.schedules as schedules

    project = revenue
    if replace:
        project.flows.create("daily-revenue", FLOW)
    before = {c.name: (c.version, c.configuration) for c in project.configs.list()}

    def full_disk(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(schedules, "set_schedule", full_disk)  # the last of the saves fails
    with pytest.raises(OSError):
        project.flows.create("daily-revenue", FLOW.replace("0.1", "0.2"), replace=replace)
    after = {c.name: c.configuration for c in project.configs.list()}
    assert after.keys() == before.keys()  # nothing new stays
    assert all(after[name] == configuration for name, (_, configuration) in before.items())


def test_checks_that_cannot_be_written_are_named(revenue):
    project = revenue
    project.transformations.create_sql("two", "CREATE TABLE a AS SELECT 1 AS x; CREATE TABLE b AS SELECT 2 AS y",
                                       inputs=[], outputs=["a AS out.c-t.a", "b AS out.c-t.b"])
    project.transformations.create_sql("later", "CREATE TABLE a AS SELECT * FROM c; CREATE TABLE b AS SELECT 1 AS y",
                                       inputs=["out.c-x.copy AS c"], outputs=["a AS out.c-l.a", "b AS out.c-l.b"])
    with pytest.raises(kb.KeboolaError) as error:  # its input is not in storage yet: nor are its outputs' columns
        project.flows.create("f", "phases:\n  - t: [later]\nnotify:\n  - when: later.z > 1\n    email: a@b.cz\n")
    assert "which of later's outputs (out.c-l.a, out.c-l.b) has column 'z' is not known before it has run" \
        in str(error.value) and "run later once" in str(error.value)
    project.run("two")
    with pytest.raises(kb.KeboolaError) as error:
        project.flows.create("f", "phases:\n  - t: [two]\nnotify:\n  - when: two.z > 1\n    email: a@b.cz\n")
    assert "none of two's outputs has a column 'z' (out.c-t.a: x; out.c-t.b: y)" in str(error.value)
    with pytest.raises(kb.KeboolaError) as error:  # an extractor's data cannot be checked this way
        project.flows.create("g", "phases:\n  - t: [copy]\nnotify:\n  - when: missing.amount > 1\n    email: a@b.cz\n")
    assert "no task or phase" in str(error.value) or "not failed, succeeded or a comparison" in str(error.value)
    assert project.configs.find("f") is None and project.configs.find("f-check") is None


def test_every_comparison_becomes_sql_and_a_value_must_be_a_number_or_quoted(revenue, smtp):
    project = revenue
    project.flows.create("at-least", FLOW.replace("> 0.1", ">= 0.05"))  # the last day dropped exactly 5%
    job = project.run("at-least")
    check = project.jobs.children(job.id)[-1]
    assert check.config_name == "at-least-check" and "daily_revenue.revenue_drop >= 0.05: 0.05" in check.error
    assert job.status == "error" and len(smtp) == 1
    with pytest.raises(kb.KeboolaError) as error:
        project.flows.create("bare", FLOW.replace("> 0.1", "> high"))
    assert "compares with 'high', which is neither a number nor a quoted text" in str(error.value)
    assert project.configs.find("bare") is None and project.configs.find("bare-check") is None


def test_with_a_failure_notification_too_the_drop_sends_its_own_mail(revenue, smtp):
    project = revenue
    project.flows.create("both", FLOW.replace("> 0.1", "> 0.01") + "  - when: failed\n    email: ops@example.com\n")
    job = project.run("both")
    assert job.status == "error"
    subjects = [email.message_from_string(m[1], policy=email.policy.default)["Subject"] for m in smtp]
    assert subjects == ["Flow both: daily_revenue.revenue_drop > 0.01"]
