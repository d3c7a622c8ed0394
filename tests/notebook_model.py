"""A scripted model for the assistant notebook: plays the walkthrough's tool calls against the stand-in,
so notebooks/02-assistant.ipynb runs headless without an API key. It reads the request like the real model
would: the user's question, or the results of the tools it asked for."""

from __future__ import annotations

from typing import Any

from tests.standin import Text, ToolUse, Turn

EXTRACTOR_CELL = """%%keboola extractor shop-customers --replace
connection: demo
tables:
  - table: public.customers
    incremental_fetching_column: updated_at"""

REVENUE_SQL = """SELECT CAST(ordered_at AS DATE) AS day, count(*) AS orders, sum(total) AS revenue
FROM in.c-shop-orders.orders
WHERE ordered_at >= (SELECT max(ordered_at) FROM in.c-shop-orders.orders) - INTERVAL 30 DAY
GROUP BY day
ORDER BY day"""


def _last_tool(body: dict[str, Any]) -> str | None:
    """The tool whose result ends the conversation, if the newest user message holds tool results."""
    messages = body["messages"]
    results = [b for b in messages[-1]["content"] if isinstance(b, dict) and b.get("type") == "tool_result"]
    if not results or len(messages) < 2:
        return None
    names = {b["id"]: b["name"] for b in messages[-2]["content"] if b.get("type") == "tool_use"}
    return names.get(results[-1]["tool_use_id"])


def _question(body: dict[str, Any]) -> str:
    for message in reversed(body["messages"]):
        texts = [b["text"] for b in message["content"] if isinstance(b, dict) and b.get("type") == "text"]
        if message["role"] == "user" and texts:
            return texts[-1].split("\n", 1)[-1].lower()  # past the project context line
    return ""


def walkthrough(body: dict[str, Any]) -> Turn:
    step, question = _last_tool(body), _question(body)
    if "customer" in question:
        if step is None:
            return Turn([Text("Let me look at what the demo database holds."),
                         ToolUse("list_tables", {"connection": "demo"})])
        if step == "list_tables":
            return Turn([ToolUse("preview_table", {"connection": "demo", "table": "public.customers"})])
        if step == "preview_table":
            return Turn([Text("**public.customers** holds your customer data (email, names, country) and has "
                              "an `updated_at` column, so later runs can read only changed rows."),
                         ToolUse("write_code_cell", {"code": EXTRACTOR_CELL, "language": "python"})])
        return Turn([Text("Run the cell below to create the extractor, then `%keboola run shop-customers`.")])
    if "revenue" in question:
        if step is None:
            return Turn([ToolUse("query_storage", {"sql": REVENUE_SQL, "limit": 5})])
        if step == "query_storage":
            return Turn([ToolUse("write_code_cell", {"code": REVENUE_SQL, "language": "sql"})])
        return Turn([Text("The new cell sums order totals per day over the last 30 days of orders.")])
    return Turn([Text("I can browse sources, set up extractors, run them and write SQL over storage.")])
