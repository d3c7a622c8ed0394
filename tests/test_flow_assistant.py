"""The assistant builds, explains, improves and debugs flows: the real `anthropic` SDK over HTTP to the local
stand-in, the real flow tools on a real project. Checked on both sides: what the model was sent (card, phases,
suggestions, the code at an error), and what happened in the project (saved only when confirmed, by the assistant;
a data check that fails notifies)."""

from __future__ import annotations

import json

import pytest
from assistant_view import RecordingView
from flow_fixtures import split_orders
from standin import StandIn, Text, ToolUse, Turn
from test_assistant import agent_for, audit, result_of, tool_results

from keboola_nb import components
from keboola_nb.connectors.base import Scan

BROKEN = """-- orders above the limit
CREATE TABLE big AS
SELECT o.id,
       o.amount,
       o.ghost
FROM orders o
WHERE o.amount > 6;"""
FIXED = BROKEN.replace(",\n       o.ghost", "")
DAILY = "CREATE TABLE daily AS SELECT day, sum(amount) AS revenue FROM orders GROUP BY day"
# The data check: no rows (success) unless the last day's revenue dropped more than 10% against the day before.
CHECK = """-- fails the flow when the last day's revenue dropped more than 10% against the day before
SELECT error('revenue dropped ' || CAST(round(100 * (1 - last_day / day_before)) AS INTEGER) || '%')
FROM (SELECT max(revenue) FILTER (WHERE day = (SELECT max(day) FROM daily)) AS last_day,
             max(revenue) FILTER (WHERE day = (SELECT max(day) FROM daily) - 1) AS day_before
      FROM daily)
WHERE last_day < 0.9 * day_before"""


@pytest.fixture
def shop(project):
    return split_orders(project)


@pytest.fixture
def shop_pg(project, pg):
    """The project with the PostgreSQL shop as connection 'shop' (conftest's `shop`, here named apart)."""
    import keboola_nb as kb

    project.connections.add("shop", pg.url("shop", "etl"), password=kb.secret("SHOP_PG_PASSWORD"))
    return project


def save_unchecked(project, name, code, inputs, outputs):
    """A transformation saved as written (its SQL is checked only when it runs)."""
    config = components.get("keboola.duckdb-transformation").build_code(name, code, inputs, outputs)
    return project.configs.save(config)


CREATE = {"name": "daily", "phases": [{"split": ["big", "small"]}, {"again": ["big"]}],
          "notify": [{"when": "failed", "email": "team@example.com"}],
          "schedule": "30 6 * * 1-5", "timezone": "Europe/Prague"}


def test_create_flow_shows_a_card_and_saves_as_the_assistant(shop, api: StandIn):
    project = shop
    create = ToolUse("create_flow", CREATE)
    api.push(Turn([create]), Turn([Text("The flow daily is created.")]))
    view = RecordingView(decisions=[True])
    agent_for(project, view).send("run big and small every weekday morning, mail me on failure")

    card = view.proposals[0]
    overview = dict(card.overview)
    assert card.tool == "create_flow" and card.action == "Create" and card.title == "Create flow daily"
    assert overview["Phase 1: split"] == "big (transformation), small (transformation)"
    assert overview["Phase 2: again"] == "big (transformation)"
    assert overview["Phase 3: Notify: failed"] == "Flow daily: failed (notification)"
    assert overview["Notification"] == "Flow daily: failed: email to team@example.com"
    assert overview["After split"] == "if phase split failed: notify-failed"
    assert overview["Schedule"].startswith("at 06:30 on Monday to Friday (Europe/Prague); next: ")
    assert overview["Schedule"].count("CE") == 3  # three next runs, in Prague time (CET or CEST)
    draft = json.loads(card.json)
    assert draft["componentId"] == "keboola.flow"
    assert [t["name"] for t in draft["configuration"]["tasks"] if t["task"]["type"] == "job"] == ["big", "small", "big"]

    created = result_of(api, 1, create)
    assert created["created"] is True and created["schedules"] == ["at 06:30 on Monday to Friday (Europe/Prague)"]
    config = project.configs.get("daily")
    assert config.component_id == "keboola.flow" and len(config.configuration["phases"]) == 3
    assert (config.id, config.configuration) == (draft["id"], draft["configuration"])  # saved what the card showed
    assert [(s.cron, s.timezone) for s in project.flows.schedules("daily")] == [("30 6 * * 1-5", "Europe/Prague")]
    mine = [e for e in audit(project) if "daily" in e["target"]]
    assert mine and all(e["actor"] == "assistant" for e in mine)
    assert any(e["action"] == "create" and e["target"].startswith("keboola.flow/") for e in mine)


def test_a_declined_flow_saves_nothing(shop, api: StandIn):
    project = shop
    create = ToolUse("create_flow", CREATE)
    api.push(Turn([create]), Turn([Text("What should I change?")]))
    agent = agent_for(project, RecordingView(decisions=[False]))
    agent.send("a daily flow")
    assert result_of(api, 1, create)["declined_by_user"] is True
    assert project.configs.find("daily") is None
    assert not [e for e in audit(project) if "daily" in e["target"]]
    assert not [c for c in project.configs.list() if c.component_id == "keboola.scheduler"]
    assert agent.store.drafts(agent.conversation_id)["state"].tolist() == ["cancelled"]


def test_a_flow_with_an_unknown_configuration_is_refused_before_any_card(shop, api: StandIn):
    create = ToolUse("create_flow", {"name": "daily", "phases": [{"split": ["big", "nothing"]}]})
    api.push(Turn([create]), Turn([Text("nothing does not exist.")]))
    view = RecordingView(decisions=[True])
    agent_for(shop, view).send("a daily flow")
    refused = tool_results(api.requests[1])[create.id]
    assert refused["is_error"] and "nothing" in refused["content"], refused
    assert view.proposals == [] and shop.configs.find("daily") is None


def test_explain_flow_gives_order_transitions_routes_schedule_and_last_run(shop, api: StandIn, webhook):
    project = shop
    url, received = webhook
    save_unchecked(project, "broken", BROKEN, ["in.c-shop.orders"], ["big AS out.c-x.broken"])
    project.flows.create("nightly", {"schedule": "0 1 * * *", "phases": [{"split": ["big", "broken"]},
                                                                         {"after": ["small"]}],
                                     "notify": [{"when": "failed", "webhook": url}]})
    job = project.run("nightly")
    assert len(received) == 1  # the failure went to the notification
    explain = ToolUse("explain_flow", {"name": "nightly"})
    api.push(Turn([explain]), Turn([Text("It splits orders nightly.")]))
    agent_for(project, RecordingView()).send("what does nightly do?")
    explained = result_of(api, 1, explain)

    assert [p["phase"] for p in explained["phases"]] == ["split", "after", "Notify: failed"]
    split, after, notify = explained["phases"]
    assert split["then"] == ["if phase split failed: notify-failed", "otherwise: after"]
    assert after["then"] == ["if phase after failed: notify-failed", "otherwise: end"] and notify["then"] == ["end"]
    big, broken = split["tasks"]
    assert big["kind"] == "transformation" and big["config"] == "big"
    assert big["routes"] == ["big: in.c-shop.orders AS orders -> out.c-x.big"]
    children = {c.config_name: c for c in project.jobs.children(job.id)}
    assert big["last_run"] == f"success (job {children['big'].id})"
    assert broken["last_run"] == f"error (job {children['broken'].id})"
    assert after["tasks"][0]["last_run"] == "did not run"
    assert notify["tasks"][0]["kind"] == "notification" and notify["tasks"][0]["sends"] == [f"webhook to {url}"]
    assert notify["tasks"][0]["last_run"] == f"sent webhook to {url}"
    [schedule] = explained["schedules"]
    assert schedule["when"] == "every day at 01:00 UTC" and len(schedule["next"]) == 3
    assert all(t.endswith("01:00 UTC") for t in schedule["next"])
    assert explained["last_run"]["job_id"] == job.id


def test_suggestions_name_the_configuration_and_the_change(project, shop_pg, api: StandIn):
    """A full load of a table with a key and updated_at, an incremental write without a key, a big input read
    whole, and a phase waiting for one it does not read from; and their counterparts, which get no suggestion."""
    p = project
    extractor = p.extractors.create("pg-shop", "shop", [
        "public.orders",  # key id, updated_at: could be incremental
        "public.customers",  # key, no updated_at: nothing to say
        {"table": "public.big", "incremental_fetching_column": "updated_at"},  # incremental already
    ])
    orders_table = next(line["output_table"] for line in p.extractors.summary(extractor).to_dict("records")
                        if line["source"] == "public.orders")
    with p.storage.transaction() as loader:
        loader.load("in.c-big.events", Scan(sql="SELECT range AS id, range % 7 AS kind, 'x' AS note "
                                                "FROM range(1000000)"))
        loader.load("in.c-small.notes", Scan(sql="SELECT range AS id FROM range(10)"))
        loader.load("out.c-x.totals", Scan(sql="SELECT 1 AS kind, 2 AS n"))
    p.transformations.create_sql("totals", "CREATE TABLE totals AS SELECT kind, count(*) AS n FROM events "
                                 "GROUP BY kind", inputs=["in.c-big.events"], outputs=["out.c-x.totals"])
    p.transformations.create_sql("notes", "CREATE TABLE notes AS SELECT id FROM notes_in",
                                 inputs=["in.c-small.notes AS notes_in"], outputs=["out.c-x.notes"])
    save_unchecked(p, "orders_copy", "CREATE TABLE copy AS SELECT * FROM o", [f"{orders_table} AS o"],
                   ["copy AS out.c-x.orders_copy"])
    p.writers.create("to-dwh", "shop", [{"table": "out.c-x.totals", "db_name": "totals", "incremental": True},
                                        {"table": "in.c-small.notes", "db_name": "notes", "incremental": True,
                                         "primary_key": ["id"]}], schema="public")
    p.flows.create("nightly", {"phases": [{"extract": ["pg-shop"]}, {"copy": ["orders_copy"]},
                                          {"report": ["totals", "notes"]}, {"load": ["to-dwh"]}],
                               "notify": [{"when": "failed", "email": "team@example.com"}]})
    suggest = ToolUse("suggest_flow_improvements", {"name": "nightly"})
    api.push(Turn([suggest]), Turn([Text("Four things to improve.")]))
    agent_for(p, RecordingView()).send("how could nightly be better?")
    found = result_of(api, 1, suggest)["suggestions"]

    by_kind = {}
    for s in found:
        by_kind.setdefault(s["kind"], []).append(s)
    assert sorted(by_kind) == ["extractor", "flow", "transformation", "writer"], found
    [ex] = by_kind["extractor"]
    assert ex["config"] == "pg-shop" and ex["row"] == "orders"
    assert "public.orders" in ex["finding"] and "primary key id" in ex["finding"] and "updated_at" in ex["finding"]
    assert "incremental_fetching_column: updated_at" in ex["change"]
    [wr] = by_kind["writer"]
    assert wr["config"] == "to-dwh" and "out.c-x.totals" in wr["finding"] and "primary_key" in wr["change"]
    [tr] = by_kind["transformation"]
    assert tr["config"] == "totals" and "in.c-big.events (1,000,000 rows" in tr["finding"]
    assert "columns" in tr["change"] and "where_column" in tr["change"]
    [fl] = by_kind["flow"]  # copy reads the extractor's output, load reads report's: only copy/report may merge
    assert fl["row"] == "phases copy and report" and "move totals, notes into phase copy" in fl["change"]


def test_debug_job_names_the_line_shows_the_code_and_the_fix_goes_through_create(shop, api: StandIn):
    project = shop
    save_unchecked(project, "broken", BROKEN, ["in.c-shop.orders"], ["big AS out.c-x.broken"])
    project.flows.create("nightly", {"phases": [{"split": ["big", "broken"]}]})
    job = project.run("nightly")
    assert job.status == "error"
    debug = ToolUse("debug_job", {"job_id": job.id})
    fix = ToolUse("create_transformation", {"language": "sql", "name": "broken", "code": FIXED, "replace": True,
                                            "inputs": ["in.c-shop.orders"], "outputs": ["big AS out.c-x.broken"]})
    api.push(Turn([debug]), Turn([Text("orders has no column ghost; line 5 reads it."), fix]),
             Turn([Text("Fixed: run nightly again.")]))
    view = RecordingView(decisions=[True])
    agent_for(project, view).send(f"why did job {job.id} fail?")

    debugged = result_of(api, 1, debug)
    assert debugged["flow"] == "nightly" and debugged["status"] == "error"
    assert {t["config"]: t["status"] for t in debugged["tasks"]} == {"big": "success", "broken": "error"}
    [failed] = debugged["failed_tasks"]
    assert failed["config"] == "broken" and "ghost" in failed["error"]
    assert failed["configuration"]["name"] == "broken" and failed["log"]
    at = failed["at_error"]
    assert at["where"] == "line 5" and at["text"] == "       o.ghost"
    assert at["code"].splitlines() == ["   2  CREATE TABLE big AS", "   3  SELECT o.id,", "   4         o.amount,",
                                       "   5>        o.ghost", "   6  FROM orders o", "   7  WHERE o.amount > 6;"]
    # The fix: a new version of the transformation, confirmed on its card, then the flow runs through.
    assert view.proposals[0].tool == "create_transformation" and project.configs.get("broken").version == 2
    assert result_of(api, 2, fix)["created"] is True
    assert project.run("nightly").status == "success"
    assert sorted(project.storage.preview("out.c-x.broken")["id"].astype(int)) == [1, 2]


def test_debug_job_of_a_single_failed_job(shop):
    from keboola_nb.ai.context import ToolContext
    from keboola_nb.ai.flow_tools import debug_job

    save_unchecked(shop, "broken", BROKEN, ["in.c-shop.orders"], ["big AS out.c-x.broken"])
    job = shop.run("broken")
    ctx = ToolContext(shop, view=None, conversations=shop.conversations,  # type: ignore[arg-type]
                      conversation_id="c")
    debugged = debug_job(ctx, job.id)
    assert debugged["at_error"]["line"] == 5 and "line 5" in debugged["summary"]
    ok = debug_job(ctx, shop.run("big").id)
    assert ok["status"] == "success" and "at_error" not in ok


def test_a_data_check_transformation_fails_the_flow_and_notifies(project, api: StandIn, webhook):
    """'Tell me when revenue drops more than 10%': a SQL transformation that calls error() when the drop is
    there, in its own phase after the data, with a notification on failure."""
    url, received = webhook

    def orders(*days):
        values = ", ".join(f"(DATE '2024-01-0{d}', {amount})" for d, amount in days)
        with project.storage.transaction() as loader:
            loader.load("in.c-shop.orders", Scan(sql=f"SELECT * FROM (VALUES {values}) t(day, amount)"))

    orders((1, 100), (1, 50), (2, 160))  # no drop: 150 then 160
    project.transformations.create_sql("daily", DAILY, inputs=["in.c-shop.orders"], outputs=["out.c-sales.daily"])
    assert project.run("daily").status == "success"
    check = ToolUse("create_transformation", {"language": "sql", "name": "revenue_check", "code": CHECK,
                                              "inputs": ["out.c-sales.daily"], "outputs": []})
    flow = ToolUse("create_flow", {"name": "revenue", "phases": [{"load": ["daily"]}, {"check": ["revenue_check"]}],
                                   "notify": [{"when": "failed", "webhook": url}]})
    api.push(Turn([check]), Turn([flow]), Turn([Text("The check runs after the load.")]))
    agent_for(project, RecordingView(decisions=[True, True])).send("tell me when revenue drops > 10%")
    assert result_of(api, 1, check)["created"] is True
    assert result_of(api, 2, flow)["created"] is True
    job = project.run("revenue")  # as the scheduler runs it
    assert job.status == "success" and received == []  # no drop: the check passes, nobody is told

    orders((1, 100), (1, 50), (2, 160), (3, 80))  # a drop of 50%
    job = project.run("revenue")
    children = {c.config_name: c for c in project.jobs.children(job.id)}
    assert children["daily"].status == "success" and children["revenue_check"].status == "error"
    assert "revenue dropped 50%" in children["revenue_check"].error
    assert job.status == "error" and "phase(s) check" in job.error  # handled, notified, and still failed
    assert len(received) == 1
    assert received[0]["flow"] == "revenue" and received[0]["tasks"]["revenue_check"] == "user_error"
    assert received[0]["phases"] == {"load": "success", "check": "user_error"}


def test_the_tools_describe_the_data_check():
    from keboola_nb.ai.agent import SYSTEM_BLOCKS, toolbox

    definitions = {t["name"]: t for t in toolbox().definitions()}
    assert {"create_flow", "explain_flow", "suggest_flow_improvements", "debug_job"} <= set(definitions)
    described = definitions["create_flow"]["description"]
    assert "error(" in described and "when: failed" in described and "own phase" in described
    assert "error() in its own phase" in SYSTEM_BLOCKS[0]["text"]


def test_the_flow_tools_are_registered_in_production(monkeypatch):
    from keboola_nb.ai import agent as agent_module

    monkeypatch.setattr(agent_module, "_toolbox", None)
    assert "create_flow" in agent_module.toolbox() and "debug_job" in agent_module.toolbox()


def test_run_configuration_runs_a_flow(shop, api: StandIn):
    shop.flows.create("nightly", {"phases": [{"split": ["big", "small"]}]})
    run = ToolUse("run_configuration", {"name": "nightly"})
    api.push(Turn([run]), Turn([Text("Done.")]))
    agent_for(shop, RecordingView(decisions=[True])).send("run nightly")
    assert result_of(api, 1, run)["status"] == "success"
