"""The assistant builds transformations: the real `anthropic` SDK over HTTP to the local stand-in, the real
transformation tools on the project's storage. Checked on both sides: what the model was sent (schemas and a few
rows, errors naming their line, sample outputs), and what happened in the project (saved only when confirmed)."""

from __future__ import annotations

import json

import pytest
from assistant_view import RecordingView
from standin import StandIn, Text, ToolUse, Turn
from test_assistant import agent_for, audit, result_of, sent_text, tool_results

from keboola_nb.connectors.base import Scan
from keboola_nb.errors import KeboolaError

INPUTS = ["in.c-shop.orders", "in.c-shop.customers"]
OUTPUT = "out.c-sales.city_revenue"
BROKEN = """-- revenue per city
CREATE TABLE city_revenue AS
SELECT c.city, SUM(o.amount AS revenue
FROM orders o JOIN customers c ON c.id = o.customer_id
GROUP BY c.city"""
FIXED = BROKEN.replace("SUM(o.amount AS", "SUM(o.amount) AS")
PYTHON = """import pandas as pd

orders = pd.read_csv("in/tables/orders.csv")
orders["amount"] = pd.to_numeric(orders["amount"], errors="coerce").fillna(0)
print(f"read {len(orders)} orders")
orders[orders["amount"] > 20].to_csv("out/tables/big_orders.csv", index=False)
"""


@pytest.fixture
def shop_storage(project):
    """30 orders (a note each, to tell whether a whole table was sent) and 3 customers, one without a city."""
    with project.storage.transaction() as loader:
        loader.load("in.c-shop.customers", Scan(sql="SELECT * FROM (VALUES (1, 'Alice', 'Prague'), (2, 'Bob', 'Brno'), "
                                                    "(3, 'Cyril', NULL)) t(id, name, city)"))
        loader.load("in.c-shop.orders", Scan(sql="SELECT range AS id, range % 3 + 1 AS customer_id, "
                                                 "(range + 0.5)::DECIMAL(12,2) AS amount, 'note-' || range AS note "
                                                 "FROM range(30)"))
    return project


def test_describe_check_fix_create_and_run_a_sql_transformation(shop_storage, api: StandIn):
    project = shop_storage
    describe = ToolUse("describe_inputs", {"tables": [*INPUTS, "in.c-shop.order"], "sample_rows": 50})
    args = {"language": "sql", "name": "city_revenue", "inputs": INPUTS, "outputs": [OUTPUT]}
    broken = ToolUse("check_transformation", {**args, "code": BROKEN})
    fixed = ToolUse("check_transformation", {**args, "code": FIXED})
    create = ToolUse("create_transformation", {**args, "code": FIXED})
    run = ToolUse("run_configuration", {"name": "city_revenue"})
    turns = [Turn([Text("Let me look at the inputs."), describe]), Turn([broken]), Turn([fixed]), Turn([create]),
             Turn([run]), Turn([Text("city_revenue is created and loaded.")])]
    before_create: list[object] = []

    def script(request):  # what the project held after the checks, before the card
        if len(api.requests) == 4:
            before_create.extend([project.configs.find("city_revenue"), set(project.storage.tables()["id"])])
        return turns[len(api.requests) - 1]

    api.responder = script
    view = RecordingView(decisions=[True, True])
    reply = agent_for(project, view).send("revenue per customer city, please")
    assert reply.text.endswith("city_revenue is created and loaded.") and reply.calls == 6

    # The model saw columns, types, row counts and at most 10 rows of each table, never a whole table.
    described = {t["id"]: t for t in result_of(api, 1, describe)["tables"]}
    orders = described["in.c-shop.orders"]
    assert orders["columns"] == {"id": "BIGINT", "customer_id": "BIGINT", "amount": "DECIMAL(12,2)", "note": "VARCHAR"}
    assert orders["rows"] == 30 and len(orders["sample"]) == 10 and orders["sample"][0] == [0, 1, "0.50", "note-0"]
    customers = [[1, "Alice", "Prague"], [2, "Bob", "Brno"], [3, "Cyril", None]]
    assert described["in.c-shop.customers"]["sample"] == customers
    assert "did you mean in.c-shop.orders" in described["in.c-shop.order"]["error"]
    sent = sent_text(api)
    assert "note-9" in sent and not any(f"note-{i}" in sent for i in range(10, 30))

    # The broken SQL came back naming its line; the fixed one came back with the outputs of a sample run.
    failed = result_of(api, 2, broken)
    assert failed["ok"] is False and "line 3" in failed["error"], failed
    checked = result_of(api, 3, fixed)
    assert checked["ok"] is True and OUTPUT in checked["summary"], checked
    sample = checked["outputs"][OUTPUT]
    # 20 rows of each input: orders 0..19 by city (customer_id = id % 3 + 1), Cyril has no city
    assert sample["columns"] == ["city", "revenue"]
    assert sorted(sample["rows"], key=str) == sorted([["Prague", "66.50"], ["Brno", "73.50"], [None, "60.00"]], key=str)
    config_then, tables_then = before_create
    assert config_then is None and OUTPUT not in tables_then  # checking saved and loaded nothing

    # The card: overview with the code and the output line, a data preview from the sample, the Keboola JSON.
    card = view.proposals[0]
    overview = dict(card.overview)
    assert card.tool == "create_transformation" and card.action == "Create"
    assert overview["Code"] == FIXED and overview["Component"] == "keboola.duckdb-transformation"
    assert OUTPUT in overview["Output"] and "3 row(s)" in overview["Output"]
    assert list(card.preview.columns) == ["city", "revenue"] and len(card.preview) == 3
    assert json.loads(card.json)["configuration"]["storage"]["output"]["tables"][0]["destination"] == OUTPUT

    created = result_of(api, 4, create)
    assert created["created"] is True and created["outputs"] == [OUTPUT]
    config = project.configs.get("city_revenue")
    assert config.component_id == "keboola.duckdb-transformation"
    assert config.configuration["parameters"]["blocks"][0]["codes"][0]["script"] == [FIXED]
    assert any(e["action"] == "create" and "city_revenue" in e["target"] and e["actor"] == "assistant"
               for e in audit(project))

    # Running it is the existing tool: the whole of orders this time.
    ran = result_of(api, 5, run)
    assert ran["status"] == "success", ran
    loaded = {r.city if isinstance(r.city, str) else None: float(r.revenue)
              for r in project.storage.preview(OUTPUT).itertuples()}
    assert loaded == {"Prague": 140.0, "Brno": 150.0, None: 160.0}


def test_a_declined_transformation_leaves_nothing(shop_storage, api: StandIn):
    project = shop_storage
    create = ToolUse("create_transformation", {"language": "sql", "name": "city_revenue", "code": FIXED,
                                               "inputs": INPUTS, "outputs": [OUTPUT]})
    api.push(Turn([create]), Turn([Text("What should I change?")]))
    agent = agent_for(project, RecordingView(decisions=[False]))
    agent.send("revenue per city")
    result = result_of(api, 1, create)
    assert result["declined_by_user"] is True
    assert project.configs.find("city_revenue") is None
    assert not [e for e in audit(project) if "city_revenue" in e["target"]]
    assert OUTPUT not in set(project.storage.tables()["id"])
    assert agent.store.drafts(agent.conversation_id)["state"].tolist() == ["cancelled"]


def test_the_user_edits_the_card_and_the_edit_is_checked_and_saved(shop_storage, api: StandIn):
    project = shop_storage
    create = ToolUse("create_transformation", {"language": "sql", "name": "city_revenue", "code": FIXED,
                                               "inputs": INPUTS, "outputs": [OUTPUT]})

    def edit(proposal, cancelled):
        draft = json.loads(proposal.json)
        with pytest.raises(KeboolaError, match="ghost"):  # an edit that breaks the SQL is refused by the check
            broken = json.loads(proposal.json)
            broken["configuration"]["parameters"]["blocks"][0]["codes"][0]["script"] = [
                "CREATE TABLE city_revenue AS SELECT ghost FROM orders"]
            proposal.check(json.dumps(broken))
        draft["configuration"]["storage"]["output"]["tables"][0].update(incremental=True, primary_key=["city"])
        return json.dumps(draft)

    api.push(Turn([create]), Turn([Text("Created, loading incrementally by city.")]))
    agent_for(project, RecordingView(decisions=[edit])).send("revenue per city")
    created = result_of(api, 1, create)
    assert created["created"] is True and created["edited_by_user"] is True
    output = project.configs.get("city_revenue").configuration["storage"]["output"]["tables"][0]
    assert output["incremental"] is True and output["primary_key"] == ["city"]


def test_an_existing_name_is_refused_before_any_card(shop_storage, api: StandIn):
    project = shop_storage
    project.transformations.create_sql("city_revenue", FIXED, inputs=INPUTS, outputs=[OUTPUT])
    create = ToolUse("create_transformation", {"language": "sql", "name": "city_revenue", "code": FIXED,
                                               "inputs": INPUTS, "outputs": [OUTPUT]})
    api.push(Turn([create]), Turn([Text("It exists already.")]))
    view = RecordingView(decisions=[True])
    agent_for(project, view).send("revenue per city")
    refused = tool_results(api.requests[1])[create.id]
    assert refused["is_error"] and "already exists" in refused["content"], refused
    assert view.proposals == [] and project.configs.get("city_revenue").version == 1


def test_explain_gives_code_mapping_lineage_and_portability(shop_storage, api: StandIn):
    project = shop_storage
    project.transformations.create_sql("city_revenue", FIXED, inputs=INPUTS, outputs=[
        {"destination": OUTPUT, "incremental": True, "primary_key": ["city"]}])
    explain = ToolUse("explain_transformation", {"name": "city_revenue"})
    api.push(Turn([explain]), Turn([Text("It sums order amounts per customer city.")]))
    agent_for(project, RecordingView()).send("what does city_revenue do?")
    explained = result_of(api, 1, explain)
    assert explained["code"] == FIXED
    assert explained["inputs"] == [{"source": "in.c-shop.orders", "destination": "orders"},
                                   {"source": "in.c-shop.customers", "destination": "customers"}]
    assert explained["outputs"] == [{"source": "city_revenue", "destination": OUTPUT, "incremental": True,
                                     "primary_key": ["city"]}]
    assert explained["lineage"][OUTPUT] == {"city": ["customers.city"], "revenue": ["orders.amount"]}
    # plain joins and sums: the same SQL runs on both warehouses, with nothing to report
    assert sorted((p["target"], p["portable"], p.get("problems", "")) for p in explained["portability"]) == [
        ("bigquery", True, ""), ("snowflake", True, "")]


def test_a_python_transformation_is_checked_created_and_run(shop_storage, api: StandIn):
    project = shop_storage
    args = {"language": "python", "name": "big_orders", "inputs": ["in.c-shop.orders"],
            "outputs": ["out.c-shop.big_orders"]}
    broken = ToolUse("check_transformation", {**args, "code": PYTHON.replace("fillna(0)", "fillna(0")})
    fixed = ToolUse("check_transformation", {**args, "code": PYTHON})
    create = ToolUse("create_transformation", {**args, "code": PYTHON})
    run = ToolUse("run_configuration", {"name": "big_orders"})
    explain = ToolUse("explain_transformation", {"name": "big_orders"})
    api.push(Turn([broken]), Turn([fixed]), Turn([create]), Turn([run, explain]), Turn([Text("Done.")]))
    view = RecordingView(decisions=[True, True])
    agent_for(project, view).send("orders above 20 into out.c-shop.big_orders, in Python")
    failed = result_of(api, 1, broken)
    assert failed["ok"] is False and "line 4" in failed["error"], failed
    checked = result_of(api, 2, fixed)
    assert checked["ok"] is True and "outputs" not in checked  # Python is not run on a sample
    assert "in.c-shop.orders AS orders.csv" in checked["summary"]
    assert dict(view.proposals[0].overview)["Code"] == PYTHON.strip("\n") and view.proposals[0].preview is None
    assert project.configs.get("big_orders").component_id == "keboola.python-transformation-v2"
    assert result_of(api, 4, run)["status"] == "success"
    assert sorted(project.storage.preview("out.c-shop.big_orders")["id"].astype(int)) == list(range(20, 30))
    explained = result_of(api, 4, explain)
    assert explained["code"] == PYTHON.strip("\n") and "lineage" not in explained


def test_the_cell_forms_reach_the_model_and_the_cell(project, api: StandIn):
    """write_code_cell keeps a %%keboola sql cell as it is; the tool descriptions name both cell forms."""
    cell = f"%%keboola sql city_revenue --in {INPUTS[0]} --in {INPUTS[1]} --out {OUTPUT}\n{FIXED}"
    write = ToolUse("write_code_cell", {"code": cell, "language": "sql"})
    api.push(Turn([write]), Turn([Text("It is in the cell below.")]))
    view = RecordingView()
    agent_for(project, view).send("give me the SQL as a cell")
    assert view.of("code") == [("sql", cell)]
    definitions = {t["name"]: t for t in api.requests[0]["tools"]}
    assert {"describe_inputs", "check_transformation", "create_transformation",
            "explain_transformation"} <= set(definitions)
    described = definitions["create_transformation"]["description"]
    assert "%%keboola sql NAME --in" in described and "%%keboola python NAME --in" in described
    assert "describe_inputs" in api.requests[0]["system"][0]["text"]


def test_the_transformation_tools_are_registered_in_production(monkeypatch):
    from keboola_nb.ai import agent as agent_module

    monkeypatch.setattr(agent_module, "_toolbox", None)
    assert "describe_inputs" in agent_module.toolbox() and "create_transformation" in agent_module.toolbox()


def test_check_transformation_fills_variables_and_names_a_missing_one(project):
    from keboola_nb.ai.context import ToolContext
    from keboola_nb.ai.transformation_tools import check_transformation

    with project.storage.transaction() as loader:
        loader.load("in.c-shop.orders", Scan(sql="SELECT * FROM (VALUES (1, 5), (2, 50)) t(id, amount)"))
    ctx = ToolContext(project, view=None, conversations=project.conversations,  # type: ignore[arg-type]
                      conversation_id="c")
    code = "CREATE TABLE big AS SELECT id FROM orders WHERE amount > {{limit}}"
    args = dict(language="sql", name="big", code=code, inputs=["in.c-shop.orders"], outputs=["out.c-x.big"])
    missing = check_transformation(ctx, **args)
    assert missing["ok"] is False and "limit" in missing["error"]
    checked = check_transformation(ctx, **args, variables={"limit": "10"})
    assert checked["ok"] is True and checked["outputs"]["out.c-x.big"]["rows"] == [[2]]
