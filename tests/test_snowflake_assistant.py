"""The assistant with Snowflake (fakesnow's HTTP server, the Messages API stand-in): "get sales data from
our Snowflake" from the masked password field to the loaded table, and "write daily revenue to Snowflake"."""

from __future__ import annotations

import json
import time
from decimal import Decimal

from assistant_view import RecordingView
from snowflake_fixtures import ROWS, SF_PASSWORD, WAREHOUSE
from standin import StandIn, Text, ToolUse, Turn
from test_assistant import agent_for, sent_text, tool_results

import keboola_nb as kb


def test_sales_from_snowflake(project, snow, api: StandIn):
    url = snow.url("etl", "SHOP", "SALES", warehouse=WAREHOUSE)
    ask = ToolUse("ask_for_secret", {"label": "sf-password", "prompt": "Snowflake password for etl"})
    listing = ToolUse("list_tables", {"connection": "sf"})
    create = ToolUse("create_extractor", {"name": "sf-sales", "connection": "sf", "tables": [
        {"table": "SALES.ORDERS", "incremental_fetching_column": "UPDATED_AT"}]})
    run = ToolUse("run_configuration", {"name": "sf-sales"})

    def script(request):
        step = len(api.requests)
        if step == 1:
            return Turn([Text("I need the password."), ask])
        if step == 2:
            ref = json.loads(tool_results(request)[ask.id]["content"])["reference"]
            return Turn([ToolUse("add_connection", {"name": "sf", "url": url, "password_reference": ref})])
        if step == 3:
            return Turn([listing])
        if step == 4:
            return Turn([Text("ORDERS holds the sales:"), create])
        if step == 5:
            return Turn([run])
        return Turn([Text("Loaded ORDERS.")])

    api.responder = script
    view = RecordingView(decisions=[True, True, True], secrets=[SF_PASSWORD])
    reply = agent_for(project, view).send(f"get sales data from our Snowflake: {url}")
    assert reply.text.endswith("Loaded ORDERS.")

    added = json.loads(list(tool_results(api.requests[2]).values())[0]["content"])
    assert added["saved"] is True and added["test"]["ok"] is True, added
    assert any("snowflake://etl@127.0.0.1" in value for _, value in view.proposals[0].overview)
    tables = json.loads(tool_results(api.requests[3])[listing.id]["content"])
    assert "ORDERS" in [row[tables["columns"].index("table")] for row in tables["rows"]]

    card = view.proposals[1]
    draft = json.loads(card.json)
    assert draft["componentId"] == "keboola.ex-db-snowflake"
    assert draft["configuration"]["parameters"]["db"]["warehouse"] == WAREHOUSE
    assert card.preview.shape[0] == 5 and "AMOUNT" in card.preview.columns
    assert any("SALES.ORDERS -> in.c-sf-sales.ORDERS" in value and "primary key ID" in value
               for _, value in card.overview)

    result = json.loads(tool_results(api.requests[5])[run.id]["content"])
    assert result["status"] == "success" and result["tables"][0]["rows"] == ROWS, result
    assert SF_PASSWORD not in sent_text(api)
    assert not [p for p in project.root.rglob("*") if p.is_file() and SF_PASSWORD.encode() in p.read_bytes()]


def test_daily_revenue_to_snowflake(project, snow, api: StandIn, monkeypatch):
    from keboola_nb.connectors.base import Scan

    schema = f"REPORT{time.time_ns()}"
    snow.execute(f"CREATE SCHEMA DWH.{schema}")
    monkeypatch.setenv("SF_PASSWORD", SF_PASSWORD)
    project.connections.add("wh", snow.url("etl", "DWH", schema), password=kb.secret("SF_PASSWORD"))
    with project.storage.transaction() as loader:
        loader.load("out.c-report.daily_revenue",
                    Scan("SELECT DATE '2024-01-01' + range::INT AS day, range * 10.5 AS revenue FROM range(3)"),
                    primary_key=["day"])
    create = ToolUse("create_writer", {"name": "to-wh", "connection": "wh", "tables": [
        {"table": "out.c-report.daily_revenue", "incremental": True}]})
    run = ToolUse("run_configuration", {"name": "to-wh"})
    api.push(Turn([create]), Turn([Text("Created. Run it?")]), Turn([run]), Turn([Text("Written.")]))
    view = RecordingView(decisions=[True, True])
    agent = agent_for(project, view)
    agent.send("write daily_revenue to Snowflake")
    card = view.proposals[0]
    assert json.loads(card.json)["componentId"] == "keboola.wr-db-snowflake"
    assert any(f"{schema}.daily_revenue" in value and "primary key day" in value for _, value in card.overview)
    agent.send("yes")
    result = json.loads(tool_results(api.requests[3])[run.id]["content"])
    assert result["status"] == "success" and result["tables"][0]["rows"] == 3, result
    assert snow.execute(f'SELECT count(*), sum("revenue") FROM DWH.{schema}."daily_revenue"') == [[(3, Decimal("31.5"))]]
