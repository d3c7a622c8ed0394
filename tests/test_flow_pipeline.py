"""The assistant proposes a whole pipeline in one card (the issue's daily-revenue example): extractors, the SQL
transformation, the writer, a notification behind a check, a daily schedule, with the flow drawn as a graph, and
creates everything on one confirmation. Real servers: sales in MariaDB, customers in PostgreSQL (as the warehouse
stand-in), the result written to a PostgreSQL database; the real `anthropic` SDK against the local stand-in."""

from __future__ import annotations

import json
import re

import pytest
from assistant_view import RecordingView
from standin import StandIn, Text, ToolUse, Turn
from test_assistant import agent_for, audit, result_of, tool_results

REVENUE = """-- revenue per day, with the customers who bought
CREATE TABLE daily_revenue AS
SELECT CAST(o.updated_at AS DATE) AS day,
       count(DISTINCT c.id) AS customers,
       sum(o.amount) AS revenue
FROM orders o
JOIN customers c ON c.id = o.customer_id
GROUP BY 1"""
# Fails (so the flow notifies) when the last day's revenue is more than 10% below the day before.
CHECK = """SELECT error('revenue dropped more than 10%')
FROM (SELECT revenue, lag(revenue) OVER (ORDER BY day) AS before, day = max(day) OVER () AS last FROM daily_revenue)
WHERE last AND revenue < 0.9 * before"""


def new_parts(sql: str = REVENUE) -> list[dict]:
    return [
        {"tool": "create_extractor", "arguments": {"name": "mysql-sales", "connection": "myshop",
                                                   "tables": [{"table": "shop.orders"}]}},
        {"tool": "create_extractor", "arguments": {"name": "pg-customers", "connection": "shop",
                                                   "tables": [{"table": "public.customers"}]}},
        {"tool": "create_transformation", "arguments": {
            "language": "sql", "name": "daily_revenue", "code": sql,
            "inputs": ["in.c-mysql-sales.orders AS orders", "in.c-pg-customers.customers AS customers"],
            "outputs": ["daily_revenue AS out.c-revenue.daily_revenue"]}},
        {"tool": "create_transformation", "arguments": {
            "language": "sql", "name": "revenue_check", "code": CHECK,
            "inputs": ["out.c-revenue.daily_revenue AS daily_revenue"], "outputs": []}},
        {"tool": "create_writer", "arguments": {"name": "dwh-daily-revenue", "connection": "dwh",
                                                "tables": [{"table": "out.c-revenue.daily_revenue"}]}},
    ]


def flow_args(parts: list[dict]) -> dict:
    return {"name": "daily-revenue", "new": parts, "schedule": "0 1 * * *",
            "phases": [{"extract": ["mysql-sales", "pg-customers"]}, {"transform": ["daily_revenue"]},
                       {"load": ["dwh-daily-revenue"]}, {"check": ["revenue_check"]}],
            "notify": [{"when": "failed", "email": "team@example.com"}]}


@pytest.fixture
def sources(project, myshop, shop, pg):
    """Sales in MariaDB (`myshop`), customers in PostgreSQL (`shop`), an empty target database (`dwh`)."""
    import keboola_nb as kb

    pg.execute("DROP DATABASE IF EXISTS dwh WITH (FORCE)")
    pg.execute("CREATE DATABASE dwh OWNER etl")
    project.connections.add("dwh", pg.url("dwh", "etl"), password=kb.secret("SHOP_PG_PASSWORD"))
    return project


def test_one_card_shows_the_graph_and_one_confirmation_creates_the_pipeline(sources, pg, api: StandIn, smtp):
    project = sources
    create = ToolUse("create_flow", flow_args(new_parts()))
    api.push(Turn([create]), Turn([Text("Created.")]))
    view = RecordingView(decisions=[True])
    agent_for(project, view).send("a daily pipeline: MySQL sales joined with customers, revenue per day into the "
                                  "dwh, email me if revenue drops more than 10%")

    assert len(view.proposals) == 1, tool_results(api.requests[1])  # one card for everything
    card = view.proposals[0]
    overview = dict(card.overview)
    assert card.title == "Create flow daily-revenue and 5 configuration(s)"
    assert overview["Creates"] == ("extractor mysql-sales, extractor pg-customers, transformation daily_revenue, "
                                   "transformation revenue_check, writer dwh-daily-revenue, flow daily-revenue")
    assert overview["Phase 1: extract"] == "mysql-sales (extractor), pg-customers (extractor)"
    assert overview["Phase 3: load"] == "dwh-daily-revenue (writer)"
    assert overview["Schedule"].startswith("every day at 01:00 UTC; next: ")
    assert overview["Notification"] == "Flow daily-revenue: failed: email to team@example.com"
    # The writer was typed against the transformation's output, run on a sample of the real sources.
    assert re.search(r"out\.c-revenue\.daily_revenue -> .*daily_revenue \(3 columns", overview["  daily_revenue"])
    # The card's data preview is the transformation's output on that sample.
    assert list(card.preview.columns) == ["day", "customers", "revenue"] and len(card.preview) > 0
    # The graph: phases as boxes, each task coloured by its kind.
    picture = card.picture
    assert picture.startswith("<svg") and picture.count('class="kbnb-phase"') == 5  # and the notification's
    assert [k for k in re.findall(r'data-kind="(\w+)"', picture)] == [
        "extractor", "extractor", "transformation", "writer", "transformation", "notification"]
    # Phase to phase, and from each of the four to the notification when it failed (dashed: a condition).
    assert picture.count('class="kbnb-transition"') == 7 and picture.count("stroke-dasharray") == 4
    data = json.loads(card.json)
    assert [c["name"] for c in data["configurations"]] == ["mysql-sales", "pg-customers", "daily_revenue",
                                                          "revenue_check", "dwh-daily-revenue"]
    assert data["flow"]["componentId"] == "keboola.flow"

    done = result_of(api, 1, create)
    assert [c["name"] for c in done["configurations"]] == [c["name"] for c in data["configurations"]]
    names = {c.name for c in project.configs.list()}
    assert {"mysql-sales", "pg-customers", "daily_revenue", "revenue_check", "dwh-daily-revenue",
            "daily-revenue"} <= names
    assert project.flows.schedules("daily-revenue")[0].cron == "0 1 * * *"
    # The rehearsal touched nothing of the project: no tables, no jobs until the flow runs.
    assert project.storage.tables().empty and project.jobs.recent(10) == []
    made = [e for e in audit(project) if e["action"] == "create" and not e["target"].startswith("connection/")]
    assert len(made) == 7 and {e["actor"] for e in made} == {"assistant"}  # five parts, the flow, its schedule

    # The sources' last day is a partial one: revenue dropped, so the check fails the flow and the email goes out.
    job = project.run("daily-revenue")
    assert job.status == "error" and "revenue_check" in job.error
    assert smtp and smtp[0][0] == ["team@example.com"] and "daily-revenue" in smtp[0][1]
    with pg.connect("dwh") as conn:
        written = conn.execute("SELECT day, customers, revenue FROM public.daily_revenue ORDER BY day").fetchall()
    stored = project.storage.query('SELECT day, customers, revenue FROM "out.c-revenue".daily_revenue ORDER BY day')
    assert len(written) == len(stored) > 1
    assert [str(v) for v in written[-1]] == [str(v) for v in stored.iloc[-1]]


def test_a_part_that_fails_on_the_sample_is_named_and_nothing_is_saved(sources, api: StandIn):
    project = sources
    broken = REVENUE.replace("sum(o.amount)", "sum(o.price)")
    create = ToolUse("create_flow", flow_args(new_parts(broken)))
    api.push(Turn([create]), Turn([Text("It failed.")]))
    view = RecordingView(decisions=[True])
    agent_for(project, view).send("the daily revenue pipeline")

    block = tool_results(api.requests[1])[create.id]
    assert block.get("is_error") is True
    assert "new configuration 3 (create_transformation)" in block["content"] and "price" in block["content"]
    assert view.proposals == [] and project.configs.list() == []
    assert project.storage.tables().empty


def test_cancelled_card_saves_nothing_and_a_failing_save_undoes_the_rest(sources, api: StandIn, monkeypatch):
    project = sources
    create = ToolUse("create_flow", flow_args(new_parts()))
    api.push(Turn([create]), Turn([Text("Cancelled.")]))
    agent_for(project, RecordingView(decisions=[False])).send("the pipeline")
    assert project.configs.list() == []

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(type(project.flows), "save", broken_save)
    again = ToolUse("create_flow", flow_args(new_parts()))
    api.push(Turn([again]), Turn([Text("Failed.")]))
    agent_for(project, RecordingView(decisions=[True])).send("the pipeline")
    block = tool_results(api.requests[-1])[again.id]
    assert block.get("is_error") is True and "disk full" in block["content"]
    assert project.configs.list() == []  # the five saved before the flow are removed again


def test_python_code_is_not_run_before_the_user_confirms(sources, api: StandIn, tmp_path):
    project = sources
    marker = tmp_path / "ran"
    python = {"tool": "create_transformation", "arguments": {
        "language": "python", "name": "enrich", "inputs": ["in.c-pg-customers.customers AS customers.csv"],
        "outputs": ["out.c-x.enriched"],
        "code": f"open({str(marker)!r}, 'w').write('ran')\n"
                "import csv\nrows = list(csv.DictReader(open('in/tables/customers.csv')))\n"
                "with open('out/tables/enriched.csv', 'w') as f:\n    f.write('id\\n' + '\\n'.join(r['id'] for r in rows))"}}
    parts = [new_parts()[1], python]
    args = {"name": "enrich-flow", "new": parts, "phases": [{"extract": ["pg-customers"]}, {"enrich": ["enrich"]}]}
    create = ToolUse("create_flow", args)
    api.push(Turn([create]), Turn([Text("Cancelled.")]))
    view = RecordingView(decisions=[False])
    agent_for(project, view).send("customers, enriched in Python")
    assert view.proposals, tool_results(api.requests[1])
    overview = view.proposals[0].overview
    assert ("  Note", "its code runs only after you confirm: it was not run on a sample") in overview
    assert not marker.exists() and project.configs.list() == []

    writer = {"tool": "create_writer", "arguments": {"name": "to-dwh", "connection": "dwh",
                                                     "tables": [{"table": "out.c-x.enriched"}]}}
    again = ToolUse("create_flow", {**args, "new": [*parts, writer],
                                    "phases": [*args["phases"], {"load": ["to-dwh"]}]})
    api.push(Turn([again]), Turn([Text("It cannot.")]))
    agent_for(project, RecordingView(decisions=[True])).send("and write it to the dwh")
    block = tool_results(api.requests[-1])[again.id]
    assert block.get("is_error") is True
    assert "out.c-x.enriched is made by enrich, whose code runs only after you confirm" in block["content"]
    assert not marker.exists() and project.configs.list() == []


def test_a_rehearsal_leaves_no_file_open_and_no_folder_behind(sources, api: StandIn):
    import os
    import tempfile

    project = sources
    folders = set(os.listdir(tempfile.gettempdir()))
    create = ToolUse("create_flow", flow_args(new_parts()))
    api.push(Turn([create]), Turn([Text("Cancelled.")]))
    agent_for(project, RecordingView(decisions=[False])).send("the pipeline")
    assert len(api.requests) == 2  # the card was shown: the rehearsal ran
    left = {f for f in set(os.listdir(tempfile.gettempdir())) - folders if "keboola-nb-rehearsal" in f}
    assert left == set()
    open_files = [os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
                  if os.path.exists(f"/proc/self/fd/{fd}")]
    assert [f for f in open_files if "keboola-nb-rehearsal" in f] == []
