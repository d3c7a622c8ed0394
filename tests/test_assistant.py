"""The assistant's loop end to end: the real `anthropic` SDK over HTTP to the local stand-in, real tools
on a real PostgreSQL source and the project's storage. Scripted conversations, checked on both sides:
what the model was sent, and what happened in the project."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
from assistant_view import RecordingView
from standin import HttpError, MidStreamError, StandIn, Text, ToolUse, Turn

from conftest import ETL_PASSWORD, SUPERUSER_PASSWORD, scan_for_canaries


def agent_for(project, view, **kw):
    from keboola_nb.ai.agent import Agent

    return Agent(project, view, **kw)


def tool_results(request: dict) -> dict[str, dict]:
    """The tool_result blocks of the newest user message, by tool_use_id."""
    content = request["messages"][-1]["content"]
    return {b["tool_use_id"]: b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"}


def result_of(api: StandIn, step: int, use: ToolUse) -> dict:
    """The JSON a tool returned to the model in request `step`."""
    block = tool_results(api.requests[step])[use.id]
    assert "is_error" not in block, block
    return json.loads(block["content"])


def audit(project) -> list[dict]:
    path = project.local / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def sent_text(api: StandIn) -> str:
    return json.dumps(api.requests)


def test_extractor_walkthrough(project, shop, api):
    """'I need to extract customer data': browse, preview, propose, create, run, summarise."""
    tables = ToolUse("list_tables", {"connection": "shop"})
    conns = ToolUse("list_connections", {})
    preview = ToolUse("preview_table", {"connection": "shop", "table": "public.customers", "limit": 3})
    create = ToolUse("create_extractor", {"name": "shop-customers", "connection": "shop",
                                          "tables": [{"table": "public.customers"}]})
    run = ToolUse("run_configuration", {"name": "shop-customers"})
    api.push(
        Turn([Text("Let me look at what you have."), conns, tables]),
        Turn([preview]),
        Turn([Text("customers has what you need. Here is the extractor:"), create]),
        Turn([Text("Created **shop-customers**. Shall I run it?")]),
        Turn([run]),
        Turn([Text("Done: 50 rows landed in in.c-shop-customers.customers.")]),
    )
    view = RecordingView(decisions=[True, True])
    agent = agent_for(project, view)
    reply = agent.send("I need to extract customer data from our PostgreSQL database")
    assert reply.stopped_by == "end_turn" and reply.calls == 4
    assert "Shall I run it?" in reply.text

    # Both read-only tools ran and their real results went back in ONE user message.
    results = tool_results(api.requests[1])
    assert set(results) == {tables.id, conns.id}
    assert "customers" in results[tables.id]["content"] and "shop" in results[conns.id]["content"]
    preview_result = json.loads(tool_results(api.requests[2])[preview.id]["content"])
    assert preview_result["columns"] == ["id", "name", "email"] and len(preview_result["rows"]) == 3
    assert ("table", ("shop: public.customers", 3)) in view.events

    # The proposal card had an overview, a data preview and the Keboola JSON; Create saved it.
    card = view.proposals[0]
    assert card.action == "Create" and card.preview is not None and len(card.preview) == 5
    assert json.loads(card.json)["componentId"] == "keboola.ex-db-pgsql"
    config = project.configs.get("shop-customers")
    assert config.rows[0].configuration["parameters"]["table"] == {"schema": "public", "tableName": "customers"}
    audit = [json.loads(line) for line in (project.local / "audit.jsonl").read_text().splitlines()]
    assert any(e["action"] == "create" and "shop-customers" in e["target"] and e["actor"] == "assistant"
               for e in audit)

    reply = agent.send("yes")
    assert reply.calls == 2
    assert project.storage.preview("in.c-shop-customers.customers").shape[0] == 50
    run_result = json.loads(tool_results(api.requests[5])[run.id]["content"])
    assert run_result["status"] == "success" and run_result["tables"][0]["rows"] == 50
    assert project.jobs.recent(1)[0].actor == "assistant"

    # Routing: the plain "yes" went to the cheap model, the first request to the default one.
    from keboola_nb.ai.models import catalog

    assert api.requests[0]["model"] == catalog()["default"] and api.requests[4]["model"] == catalog()["cheap"]
    # Conversation, usage and the draft are stored; the tool definitions and system prompt never changed.
    assert len(agent.store.turns(agent.conversation_id)) == 6
    assert agent.store.drafts(agent.conversation_id)["state"].tolist() == ["created"]
    assert all(r["tools"] == api.requests[0]["tools"] and r["system"] == api.requests[0]["system"]
               for r in api.requests)
    # Every request to a model that was asked before read its prefix from the cache (caches are per model).
    seen = set()
    for request, usage in zip(api.requests, api.usages):
        assert (usage["cache_read_input_tokens"] > 0) == (request["model"] in seen)
        seen.add(request["model"])
    assert ETL_PASSWORD not in sent_text(api) and not scan_for_canaries(project.root)


def test_wrong_password_is_diagnosed_and_fixed_through_a_secret_field(project, pg, api, monkeypatch):
    """Wrong credentials: the model runs the test, learns the cause, asks for the password in a masked field."""
    import keboola_nb as kb

    monkeypatch.setenv("WRONG_PG_PASSWORD", "not-the-password")
    project.connections.add("shop", pg.url("shop", "etl"), password=kb.secret("WRONG_PG_PASSWORD"))
    test = ToolUse("test_connection", {"name": "shop"})
    ask = ToolUse("ask_for_secret", {"label": "shop-password", "prompt": "Password of etl"})

    def script(request):  # the model re-adds the connection with the reference it got back
        step = len(api.requests)
        if step == 1:
            return Turn([test])
        if step == 2:
            return Turn([ask])
        if step == 3:
            ref = json.loads(tool_results(request)[ask.id]["content"])["reference"]
            return Turn([ToolUse("add_connection", {"name": "shop", "url": pg.url("shop", "etl"),
                                                    "password_reference": ref, "replace": True})])
        return Turn([Text("Fixed: the connection works now.")])

    api.responder = script
    view = RecordingView(decisions=[True], secrets=[ETL_PASSWORD])
    reply = agent_for(project, view).send("extract the orders table, please")
    diagnosis = json.loads(tool_results(api.requests[1])[test.id]["content"])
    assert diagnosis["ok"] is False and diagnosis["problem"] == "auth" and diagnosis["fix"]
    added = json.loads(list(tool_results(api.requests[3]).values())[0]["content"])
    assert added["saved"] is True and added["test"]["ok"] is True
    assert project.connections.get("shop").test().ok
    assert reply.text.endswith("Fixed: the connection works now.")
    assert ETL_PASSWORD not in sent_text(api) and not scan_for_canaries(project.root)


def test_secret_typed_in_the_chat_never_reaches_the_model(project, pg, api):
    url = f"postgresql://etl:{ETL_PASSWORD}@127.0.0.1:{pg.port}/shop"
    api.push(Turn([Text("Noted.")]))
    view = RecordingView()
    agent = agent_for(project, view)
    agent.send(f"connect to {url} and also the admin password is {SUPERUSER_PASSWORD}")
    sent = sent_text(api)
    assert ETL_PASSWORD not in sent and SUPERUSER_PASSWORD not in sent
    assert len(re.findall(r"\{\{ vault\.\w+_[0-9a-f]{6} \}\}", sent)) == 2  # stored, the references sent
    assert len(view.of("notice")) == 2
    assert ETL_PASSWORD not in json.dumps(view.events) and SUPERUSER_PASSWORD not in json.dumps(view.events)
    from keboola_nb.store.secrets import resolve

    refs = re.findall(r"\{\{ vault\.\w+ \}\}", view.of("user")[0])
    assert sorted(resolve(r) for r in refs) == sorted([ETL_PASSWORD, SUPERUSER_PASSWORD])
    assert not scan_for_canaries(project.root)  # conversation store included


def test_refused_confirmation_and_an_edit(project, shop, api):
    create = ToolUse("create_extractor", {"name": "orders", "connection": "shop", "tables": [{"table": "orders"}]})
    again = ToolUse("create_extractor", {"name": "orders", "connection": "shop", "tables": [{"table": "orders"}]})
    api.push(Turn([create]), Turn([Text("What should I change?")]), Turn([again]), Turn([Text("Saved.")]))

    def edit(proposal, cancelled):
        data = json.loads(proposal.json)
        data["rows"][0]["configuration"]["parameters"]["incrementalFetchingColumn"] = "updated_at"
        data["rows"][0]["configuration"]["parameters"]["incremental"] = True
        return json.dumps(data)

    view = RecordingView(decisions=[False, edit])
    agent = agent_for(project, view)
    agent.send("extract orders")
    declined = json.loads(tool_results(api.requests[1])[create.id]["content"])
    assert declined["declined_by_user"] is True and project.configs.find("orders") is None
    assert ("tool_end", ("create_extractor", "refused", "cancelled by the user")) in view.events
    agent.send("make it incremental by updated_at")
    saved = project.configs.get("orders").rows[0].configuration["parameters"]
    assert saved["incrementalFetchingColumn"] == "updated_at"
    created = json.loads(tool_results(api.requests[3])[again.id]["content"])
    assert created["edited_by_user"] is True
    assert agent.store.drafts(agent.conversation_id)["state"].tolist() == ["cancelled", "created"]


def test_an_invalid_edit_is_refused_before_saving(project, shop):
    from keboola_nb.errors import KeboolaError

    config = project.extractors.build("x", "shop", ["orders"])
    data = config.to_json()
    data["rows"][0]["configuration"]["parameters"]["query"] = "SELECT 1"  # table AND query: Keboola says no
    with pytest.raises(KeboolaError):
        project.extractors.from_json(json.dumps(data))
    data["configuration"]["parameters"]["db"]["#password"] = "plain-text"
    with pytest.raises(KeboolaError):
        project.extractors.from_json(json.dumps(data))


def test_tool_errors_go_back_to_the_model_and_it_recovers(project, shop, api):
    bad = ToolUse("preview_table", {"connection": "shop", "table": "public.custmers"})
    unknown = ToolUse("drop_everything", {})
    invalid = ToolUse("list_tables", {"connection": 42, "bogus": 1})
    good = ToolUse("preview_table", {"connection": "shop", "table": "public.customers"})
    api.push(Turn([bad, unknown, invalid]), Turn([good]), Turn([Text("Here they are.")]))
    view = RecordingView()
    reply = agent_for(project, view).send("show me custmers")
    results = tool_results(api.requests[1])
    assert results[bad.id]["is_error"] and "did you mean public.customers" in results[bad.id]["content"]
    assert results[unknown.id]["is_error"] and "no tool named" in results[unknown.id]["content"]
    assert results[invalid.id]["is_error"] and "invalid arguments" in results[invalid.id]["content"]
    assert "is_error" not in tool_results(api.requests[2])[good.id]
    assert reply.text == "Here they are."
    # The call after failing tools went to the stronger model.
    from keboola_nb.ai.models import catalog

    assert api.requests[1]["model"] == catalog()["strong"]


def test_reads_run_concurrently_and_a_change_waits_for_them(project, shop, api, monkeypatch):
    """Three reads of one turn meet at a barrier (they cannot, one at a time); the change in the same
    turn is confirmed only after all three finished."""
    import functools

    from keboola_nb.ai import agent as agent_module
    from keboola_nb.ai import tools

    barrier = threading.Barrier(3, timeout=10)
    finished: list[str] = []
    real = tools.describe_table

    @functools.wraps(real)
    def meeting_describe(ctx, connection, table):
        barrier.wait()
        value = real(ctx, connection, table)
        finished.append(table)
        return value

    monkeypatch.setattr(agent_module, "_toolbox", None)
    monkeypatch.setattr(tools, "TOOLS", [meeting_describe if f is real else f for f in tools.TOOLS])
    reads = [ToolUse("describe_table", {"connection": "shop", "table": t}) for t in ("orders", "customers", "no_pk")]
    change = ToolUse("create_extractor", {"name": "o", "connection": "shop", "tables": [{"table": "orders"}]})
    api.push(Turn([change, *reads]), Turn([Text("ok")]))
    seen_at_confirm: list[list[str]] = []
    view = RecordingView(decisions=[lambda proposal, cancelled: seen_at_confirm.append(list(finished)) or False])
    agent_for(project, view).send("describe three tables and make an extractor")
    monkeypatch.setattr(agent_module, "_toolbox", None)
    results = tool_results(api.requests[1])
    assert all("is_error" not in results[r.id] for r in reads), results
    assert sorted(seen_at_confirm[0]) == ["customers", "no_pk", "orders"]


def test_the_assistant_cannot_read_local_files_through_sql(project, api):
    probe = ToolUse("query_storage", {"sql": "SELECT * FROM read_text('/etc/hostname')"})
    api.push(Turn([probe]), Turn([Text("I cannot read files.")]))
    agent_for(project, RecordingView()).send("read /etc/hostname")
    result = tool_results(api.requests[1])[probe.id]
    assert result["is_error"] and "Permission" in result["content"]


def test_an_unanswered_tool_use_in_a_stored_conversation_is_closed_on_resume(project, api):
    """A kernel restart while a card waited leaves a tool_use without a result in the store."""
    store = project.conversations
    conversation = store.create("half done")
    store.append(conversation, "user", [{"type": "text", "text": "extract orders"}])
    store.append(conversation, "assistant", [{"type": "tool_use", "id": "toolu_x", "name": "list_connections",
                                              "input": {}}])
    api.push(Turn([Text("Where were we?")]))
    reply = agent_for(project, RecordingView(), conversation_id=conversation).send("hello again")
    assert reply.text == "Where were we?"  # the stand-in answers 400 to an unanswered tool_use
    closing = api.requests[0]["messages"][2]["content"][0]
    assert closing["tool_use_id"] == "toolu_x" and closing["is_error"]


def test_whitespace_only_text_is_not_sent_back(project, api):
    api.push(Turn([Text("\n\n"), ToolUse("list_connections", {})]), Turn([Text("None yet.")]))
    assert agent_for(project, RecordingView()).send("connections?").text.endswith("None yet.")


def test_retries_overload_before_anything_was_shown(project, api):
    api.push(HttpError(529, retry_after=0.01), MidStreamError(after_events=2), Turn([Text("Hello there.")]))
    view = RecordingView()
    reply = agent_for(project, view).send("hi")
    assert reply.text == "Hello there." and len(api.requests) == 3  # SDK retried the 529, we the mid-stream one
    assert not view.of("error")


def test_mid_stream_error_after_text_was_shown_is_reported(project, api):
    api.push(MidStreamError(after_events=6, content=[Text("The answer starts here and goes on for a while.")]))
    view = RecordingView()
    reply = agent_for(project, view).send("hi")
    assert reply.stopped_by == "error" and len(api.requests) == 1
    assert "overloaded" in view.of("error")[0].lower()


def test_rate_limit_beyond_retries_gives_one_clear_error(project, api):
    api.push(*[HttpError(429, retry_after=0.01)] * 3)
    view = RecordingView()
    reply = agent_for(project, view).send("hi")
    assert reply.stopped_by == "error" and "Rate limited" in view.of("error")[0]


def test_stop_cancels_the_stream_and_the_conversation_stays_valid(project, api):
    api.push(Turn([Text("word " * 400)], delay=0.01, chunk=5), Turn([Text("Next answer.")]))
    view = RecordingView()
    agent = agent_for(project, view)
    worker = threading.Thread(target=agent.send, args=("write a long text",))
    worker.start()
    while not view.of("delta"):
        time.sleep(0.01)
    agent.stop()
    worker.join(30)  # a hang guard, not a timing
    assert not worker.is_alive()
    assert "Stopped." in view.of("notice")
    reply = agent.send("something else")  # the stand-in would answer 400 to a malformed conversation
    assert reply.text == "Next answer."
    assert agent.messages[1]["content"][0]["text"].endswith("[stopped by the user]")


def test_stop_while_waiting_for_confirmation_answers_every_tool_use(project, shop, api):
    create = ToolUse("create_extractor", {"name": "o", "connection": "shop", "tables": [{"table": "orders"}]})
    api.push(Turn([create]), Turn([Text("Fine.")]))
    agent = None

    def stop_instead(proposal, cancelled):
        agent.stop()
        assert cancelled.wait(1)
        from keboola_nb.ai.context import Decision

        return Decision(False, reason="stopped by the user")

    view = RecordingView(decisions=[stop_instead])
    agent = agent_for(project, view)
    reply = agent.send("extract orders")
    assert reply.stopped_by == "cancelled" and project.configs.find("o") is None
    assert agent.send("never mind").text == "Fine."
    # The cancelled call got its result, and the new text joined that user message (roles alternate).
    last = api.requests[1]["messages"][-1]["content"]
    assert [b["type"] for b in last] == ["tool_result", "text"] and last[0]["tool_use_id"] == create.id


def test_cap_on_model_calls_is_visible(project, shop, api):
    api.responder = lambda request: Turn([ToolUse("list_connections", {})])
    view = RecordingView()
    reply = agent_for(project, view, max_calls=3).send("loop forever")
    assert reply.stopped_by == "tool cap" and reply.calls == 3 and len(api.requests) == 3
    assert "cap" in view.of("notice")[0]
    assert any("calls 3/3" in info for _, info in view.of("status"))


def test_max_tokens_with_a_cut_tool_call_keeps_the_conversation_valid(project, api):
    api.push(Turn([Text("Let me"), ToolUse("list_connections", {})], stop_reason="max_tokens"),
             Turn([Text("Continuing.")]))
    view = RecordingView()
    agent = agent_for(project, view)
    assert agent.send("go").stopped_by == "max_tokens"
    assert "length limit" in view.of("notice")[0]
    assert agent.send("continue").text == "Continuing."


def test_resume_a_stored_conversation(project, api):
    api.push(Turn([Text("First answer.")]), Turn([Text("Second answer.")]))
    first = agent_for(project, RecordingView())
    first.send("remember the word teapot")
    resumed = agent_for(project, RecordingView(), conversation_id=first.conversation_id)
    resumed.send("what was the word?")
    assert "teapot" in json.dumps(api.requests[1]["messages"][0])
    assert len(first.store.list()) == 1


def test_cost_is_recorded_per_call_from_the_price_file(project, api):
    from keboola_nb.ai.models import Usage, catalog

    api.push(Turn([Text("Hi.")]))
    agent = agent_for(project, RecordingView())
    agent.send("hello")
    turns = agent.store.turns(agent.conversation_id)
    usage = api.usages[0]
    prices = catalog()["prices"][catalog()["default"]]
    expected = (usage["input_tokens"] * prices["input"] + usage["output_tokens"] * prices["output"]
                + usage["cache_creation_input_tokens"] * prices["cache_write"]
                + usage["cache_read_input_tokens"] * prices["cache_read"]) / 1e6
    assert turns["cost_usd"][0] == pytest.approx(expected, rel=1e-3) and expected > 0
    assert Usage.of("unknown-model", usage).cost_usd == 0.0


def test_stop_during_a_run_interrupts_the_extraction_and_leaves_storage_untouched(project, shop, api):
    project.extractors.create("slow", "shop", [{"table": "slow_big", "primary_key": ["id"]}])
    run = ToolUse("run_configuration", {"name": "slow"})
    api.push(Turn([run]), Turn([Text("Stopped, as you asked.")]))
    view = RecordingView(decisions=[True])
    agent = agent_for(project, view)
    worker = threading.Thread(target=agent.send, args=("run slow",))
    worker.start()
    while not view.of("progress"):
        time.sleep(0.01)
    time.sleep(0.3)  # let the scan get going
    agent.stop()
    worker.join(30)
    assert not worker.is_alive()
    job = project.jobs.recent(1)[0]
    assert job.status == "error" and "stopped by the user" in job.error and "left as they were" in job.error
    assert project.storage.tables().empty
    name, status, summary = view.of("tool_end")[0]
    assert (name, status) == ("run_configuration", "cancelled") and "stopped by the user" in summary


def test_pause_turn_is_continued_and_refusal_is_explained(project, api):
    api.push(Turn([Text("Working on it...")], stop_reason="pause_turn"), Turn([Text(" done.")]),
             Turn([Text("")], stop_reason="refusal"))
    view = RecordingView()
    agent = agent_for(project, view)
    reply = agent.send("do a long thing")
    assert reply.calls == 2 and reply.text == "Working on it...\n done."
    assert api.requests[1]["messages"][-1]["role"] == "assistant"  # sent back as it was, to go on
    assert agent.send("something else").stopped_by == "refusal"
    assert "declined" in view.of("notice")[-1]
    api.push(Turn([Text("Back.")]))
    assert agent.send("hello again").text == "Back."
    assert all(b.get("text", "x") for m in api.requests[-1]["messages"] for b in m["content"])
