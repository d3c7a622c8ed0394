"""The assistant with BigQuery (bqemulator, the Messages API stand-in): "get daily sales from our
BigQuery" from the key file to the loaded table; the private key never reaches the model."""

from __future__ import annotations

import json

from assistant_view import RecordingView
from bigquery_fixtures import CANARY, KEY
from standin import StandIn, Text, ToolUse, Turn
from test_assistant import agent_for, sent_text, tool_results

QUERY = "SELECT day, SUM(amount) AS amount FROM `test-proj.sales.orders` WHERE day IS NOT NULL GROUP BY day"


def test_daily_sales_from_bigquery(project, bq_env, api: StandIn, tmp_path):
    key_file = tmp_path / "etl-key.json"
    key_file.write_text(json.dumps(KEY))
    url = "bigquery://test-proj/sales?unload=gs://kbc-unload"
    connect = ToolUse("add_connection", {"name": "gbq", "url": url, "key_file": str(key_file)})
    listing = ToolUse("list_tables", {"connection": "gbq"})
    create = ToolUse("create_extractor", {"name": "gbq-sales", "connection": "gbq", "tables": [
        {"query": QUERY, "name": "daily_sales", "primary_key": ["day"]}, {"table": "sales.orders"}]})
    run = ToolUse("run_configuration", {"name": "gbq-sales"})
    api.push(Turn([connect]), Turn([listing]), Turn([Text("A query for daily sales, and the orders:"), create]),
             Turn([run]), Turn([Text("Loaded daily_sales and orders.")]))
    view = RecordingView(decisions=[True, True, True])
    reply = agent_for(project, view).send(f"get daily sales from our BigQuery project test-proj; the key is {key_file}")
    assert reply.text.endswith("Loaded daily_sales and orders.")

    added = json.loads(tool_results(api.requests[1])[connect.id]["content"])
    assert added["saved"] is True and added["test"]["ok"] is True, added
    assert dict(view.proposals[0].overview)["Target"] == (f"bigquery://test-proj/sales (key file {key_file}; "
                                                          "Keboola unloads through gs://kbc-unload)")
    tables = json.loads(tool_results(api.requests[2])[listing.id]["content"])
    assert "orders" in json.dumps(tables)

    card = view.proposals[1]
    draft = json.loads(card.json)
    assert draft["componentId"] == "keboola.ex-google-bigquery-v2"
    assert draft["configuration"]["parameters"]["google"] == {"storage": "gs://kbc-unload", "location": "US"}
    assert draft["rows"][0]["configuration"]["parameters"]["query"]["query"] == QUERY
    assert list(card.preview.columns)[:2] == ["id", "amount"]  # the table entry's rows, read without a query
    lines = dict(card.overview)
    assert lines["daily_sales"].startswith("query: SELECT day") and "primary key day" in lines["daily_sales"]
    assert lines["orders"].startswith("test-proj.sales.orders -> in.c-keboola-ex-google-bigquery-v2-")

    result = json.loads(tool_results(api.requests[4])[run.id]["content"])
    assert result["status"] == "success", result
    rows = {t["table_id"].rsplit(".", 1)[1]: t["rows"] for t in result["tables"]}
    assert rows == {"daily_sales": 2, "orders": 3}
    config = project.configs.get("gbq-sales")
    daily = project.storage.query(f'SELECT * FROM "in.c-keboola-ex-google-bigquery-v2-{config.id}".daily_sales '
                                  "ORDER BY day")
    assert [str(v) for v in daily["amount"]] == ["-0.500000000", "12345.678000000"]
    assert CANARY not in sent_text(api)
    assert not [p for p in project.root.rglob("*") if p.is_file() and CANARY.encode() in p.read_bytes()]
