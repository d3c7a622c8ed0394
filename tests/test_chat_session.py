"""The chat session behind the panel: submit, slash commands without a key, config cards answered by
panel messages (accept, invalid edit, cancel, Stop), masked secrets, code items. Real SDK, stand-in API."""

from __future__ import annotations

import json
import time

import pytest

from conftest import ETL_PASSWORD, scan_for_canaries
from standin import Text, ToolUse, Turn


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out waiting for the panel")


def items(session, kind):
    return [i for i in session.panel.items if i["kind"] == kind]


def idle(session):
    return session._worker is not None and not session._worker.is_alive() and session.panel.status == "idle"


@pytest.fixture
def no_key(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)


def session_for(project):
    from keboola_nb.ui.chat import ChatSession

    return ChatSession(project)


def test_without_a_key_the_panel_explains_and_slash_commands_work(project, shop, no_key):
    session = session_for(project)
    assert session.panel.has_key is False and "ANTHROPIC_API_KEY" in items(session, "notice")[0]["text"]
    session.on_submit("/help")
    wait_for(lambda: idle(session))
    assert "/preview CONNECTION" in items(session, "notice")[-1]["text"]
    session.on_submit("/tables shop public")
    wait_for(lambda: idle(session))
    table = items(session, "table")[-1]
    names = [row[table["columns"].index("table")] for row in table["rows"]]
    assert "customers" in names and "Order Items" not in names  # the schema filter reached the source
    session.on_submit("/preview shop public.customers 3")
    wait_for(lambda: idle(session))
    assert len(items(session, "table")[-1]["rows"]) == 3
    session.on_submit("hello?")
    wait_for(lambda: idle(session))
    assert items(session, "user")[-1]["text"] == "hello?" and "API key" in items(session, "notice")[-1]["text"]
    session.on_submit("/preview shop public.nope")
    wait_for(lambda: idle(session))
    assert "was not found" in items(session, "error")[-1]["text"]


def test_slash_connect_keeps_the_password_out_of_everything(project, pg, no_key):
    session = session_for(project)
    session.on_submit(f"/connect shop postgresql://etl:{ETL_PASSWORD}@127.0.0.1:{pg.port}/shop")
    wait_for(lambda: idle(session))
    assert project.connections.get("shop").test().ok
    assert ETL_PASSWORD not in json.dumps(session.panel.items)
    assert not scan_for_canaries(project.root)


def test_slash_connect_takes_every_kind_of_url(project, snow, no_key):
    from snowflake_fixtures import SF_PASSWORD, WAREHOUSE

    session = session_for(project)
    url = snow.url("etl", "SHOP", "SALES", warehouse=WAREHOUSE).replace("snowflake://etl@", f"snowflake://etl:{SF_PASSWORD}@")
    session.on_submit(f"/connect wh {url}")
    wait_for(lambda: idle(session))
    assert project.connections.get("wh").kind == "snowflake" and project.connections.get("wh").test().ok
    assert SF_PASSWORD not in json.dumps(session.panel.items)
    assert not [p for p in project.root.rglob("*") if p.is_file() and SF_PASSWORD.encode() in p.read_bytes()]


def test_config_card_accept_after_rejected_edits(project, shop, api):
    create = ToolUse("create_extractor", {"name": "orders", "connection": "shop", "tables": [{"table": "orders"}]})
    api.push(Turn([Text("Here it is."), create]), Turn([Text("Created.")]))
    session = session_for(project)
    session.on_submit("extract orders")
    card = wait_for(lambda: items(session, "confirm"))[0]
    assert card["state"] == "pending" and card["action"] == "Create" and card["editable"]
    assert card["preview"]["columns"][:2] == ["id", "customer_id"] and len(card["preview"]["rows"]) == 5
    edited = json.loads(card["json"])
    edited["rows"][0]["configuration"]["parameters"]["query"] = "SELECT 1"  # table and query: invalid
    session.on_confirm(card["id"], True, json.dumps(edited))
    card = session.panel.get(card["id"])
    assert card["state"] == "pending" and "query" in card["error"]
    session.on_confirm(card["id"], True, json.dumps(edited))  # the same mistake again: the card hears it
    assert session.panel.get(card["id"])["tries"] == card["tries"] + 1
    assert project.configs.find("orders") is None
    edited["rows"][0]["configuration"]["parameters"].pop("query")
    edited["rows"][0]["configuration"]["parameters"]["primaryKey"] = ["id", "customer_id"]
    session.on_confirm(card["id"], True, json.dumps(edited))
    wait_for(lambda: idle(session))
    assert session.panel.get(card["id"])["state"] == "accepted"
    assert project.configs.get("orders").rows[0].configuration["parameters"]["primaryKey"] == ["id", "customer_id"]
    assert items(session, "assistant")[-1]["text"] == "Created." and items(session, "assistant")[-1]["done"]
    tools = items(session, "tool")
    assert tools[0]["name"] == "create_extractor" and tools[0]["status"] == "ok"


def test_stop_while_a_card_waits_cancels_it(project, shop, api):
    create = ToolUse("create_extractor", {"name": "orders", "connection": "shop", "tables": [{"table": "orders"}]})
    api.push(Turn([create]))
    session = session_for(project)
    session.on_submit("extract orders")
    card = wait_for(lambda: items(session, "confirm"))[0]
    session.on_stop()
    wait_for(lambda: idle(session))
    assert session.panel.get(card["id"])["state"] == "cancelled"
    assert items(session, "tool")[0]["status"] == "cancelled"
    assert project.configs.find("orders") is None
    session.on_confirm(card["id"], True, None)  # a late click changes nothing
    assert project.configs.find("orders") is None
    api.push(Turn([Text("Fine, nothing was made.")]))
    session.on_submit("ok, never mind")  # the stand-in refuses a conversation with an unanswered tool_use
    wait_for(lambda: idle(session) and items(session, "assistant"))
    assert items(session, "assistant")[-1]["text"] == "Fine, nothing was made."


def test_masked_secret_field_returns_only_a_reference(project, api):
    ask = ToolUse("ask_for_secret", {"label": "shop-password", "prompt": "Password of etl"})
    api.push(Turn([ask]), Turn([Text("Thanks.")]))
    session = session_for(project)
    session.on_submit("I want to connect to our database")
    field = wait_for(lambda: items(session, "credential"))[0]
    session.on_secret(field["id"], ETL_PASSWORD)
    wait_for(lambda: idle(session))
    stored = session.panel.get(field["id"])
    assert stored["state"] == "stored" and stored["reference"].startswith("{{ vault.shop_password_")
    result = api.requests[1]["messages"][-1]["content"][0]
    assert stored["reference"] in result["content"] and ETL_PASSWORD not in json.dumps(api.requests)
    assert ETL_PASSWORD not in json.dumps(session.panel.items)  # saved in the notebook
    from keboola_nb.store.secrets import resolve

    assert resolve(stored["reference"]) == ETL_PASSWORD


def test_generated_code_without_a_notebook_is_shown_to_copy(project, api):
    code = ToolUse("write_code_cell", {"code": "SELECT 1 AS one", "language": "sql"})
    api.push(Turn([code]), Turn([Text("Done.")]))
    session = session_for(project)
    session.on_submit("write me a query")
    wait_for(lambda: idle(session))
    item = items(session, "code")[0]
    assert item["code"] == "%%keboola query\nSELECT 1 AS one" and item["inserted"] is False
    assert "Copy" in json.loads(api.requests[1]["messages"][-1]["content"][0]["content"])["written"]


def test_a_second_message_while_working_is_refused_politely(project, api):
    api.push(Turn([Text("slow " * 200)], delay=0.01, chunk=4), Turn([Text("ok")]))
    session = session_for(project)
    session.on_submit("first")
    wait_for(lambda: items(session, "assistant"))
    session.on_submit("second")
    assert "Still working" in items(session, "notice")[-1]["text"]
    session.on_stop()
    wait_for(lambda: idle(session))
    assert len(api.requests) == 1


def test_resume_shows_the_stored_conversation(project, api):
    from keboola_nb.ui.chat import ChatSession

    api.push(Turn([Text("Answer one.")]))
    first = session_for(project)
    first.on_submit("question one")
    wait_for(lambda: idle(first))
    resumed = ChatSession(project, conversation_id=first.agent.conversation_id)
    resumed.resume()
    assert [i["text"] for i in resumed.panel.items if i["kind"] in ("user", "assistant")] == \
        ["question one", "Answer one."]


def test_a_mistyped_slash_command_keeps_no_password(project, pg, no_key):
    session = session_for(project)
    session.on_submit(f"/conect shop postgresql://etl:{ETL_PASSWORD}@127.0.0.1:{pg.port}/shop")
    wait_for(lambda: idle(session))
    assert "unknown command /conect" in items(session, "error")[-1]["text"]
    assert ETL_PASSWORD not in json.dumps(session.panel.items)
