"""The assistant with S3 (moto in-process, the Messages API stand-in): "load the CSVs under
s3://bucket/exports/" from the secret field to the loaded table, and a writer to S3."""

from __future__ import annotations

import json
import re

from assistant_view import RecordingView
from standin import StandIn, Text, ToolUse, Turn
from test_assistant import agent_for, sent_text, tool_results
from test_s3 import moto_endpoint, put, s3  # noqa: F401  (fixtures)

S3_SECRET = "canary-S3chat-91b7e0"
ACCESS_KEY_ID = "AKIAEXAMPLE000000042"  # shaped like a real id: the chat's guard stores it as a secret


def test_tools_and_system_prompt_stay_well_under_budget(api):
    import anthropic

    from keboola_nb.ai.agent import SYSTEM_BLOCKS, toolbox
    from keboola_nb.ai.models import catalog

    client = anthropic.Anthropic(api_key="stand-in", base_url=api.base_url)
    messages = [{"role": "user", "content": "hi"}]
    model = catalog()["default"]
    full = client.messages.count_tokens(model=model, system=SYSTEM_BLOCKS, tools=toolbox().definitions(),
                                        messages=messages).input_tokens
    bare = client.messages.count_tokens(model=model, messages=messages).input_tokens
    assert 0 < full - bare < 6000
    assert "create_file_extractor" in {t["name"] for t in toolbox().definitions()}


def test_load_the_csvs_under_an_s3_prefix(project, s3, api: StandIn):  # noqa: F811
    """Secret field, connection, browsing, the extractor card, the run: the secret never reaches the model."""
    put(s3, "exports/jan.csv", b"id,city,amount\n1,Prague,10\n2,Brno,20\n")
    put(s3, "exports/feb.csv", b"id,city,amount\n3,Ostrava,30\n")
    url = f"s3://{s3.bucket}/exports/"
    ask = ToolUse("ask_for_secret", {"label": "exports-secret", "prompt": "Secret access key"})
    listing = ToolUse("list_tables", {"connection": "exports"})
    preview = ToolUse("preview_table", {"connection": "exports", "table": "exports/jan.csv", "limit": 2})
    create = ToolUse("create_file_extractor", {"name": "exports-csv", "connection": "exports", "files": [
        {"key": "exports/*", "table": "sales", "primary_key": ["id"], "new_files_only": True}]})
    run = ToolUse("run_configuration", {"name": "exports-csv"})

    def script(request):
        step = len(api.requests)
        if step == 1:
            return Turn([Text("I need the secret access key."), ask])
        if step == 2:
            ref = json.loads(tool_results(request)[ask.id]["content"])["reference"]
            # the access key id, as the guard replaced it
            key_ref = re.search(r"\{\{ vault\.\w+ \}\}", json.dumps(api.requests[0]["messages"])).group(0)
            return Turn([ToolUse("add_connection", {"name": "exports", "url": url, "access_key_id": key_ref,
                                                    "password_reference": ref})])
        if step == 3:
            return Turn([listing, preview])
        if step == 4:
            return Turn([Text("Two CSVs with the same columns. Here is the extractor:"), create])
        if step == 5:
            return Turn([run])
        return Turn([Text("Loaded 3 rows into sales.")])

    api.responder = script
    view = RecordingView(decisions=[True, True, True], secrets=[S3_SECRET])
    reply = agent_for(project, view).send(f"load the CSVs under {url} (access key id {ACCESS_KEY_ID})")
    assert reply.text.endswith("Loaded 3 rows into sales.")

    target = dict(view.proposals[0].overview)["Target"]
    assert target.startswith(f"s3://{s3.bucket}/exports/ (access key {{{{ vault."), target  # the id as a reference
    added = json.loads(list(tool_results(api.requests[2]).values())[0]["content"])
    assert added["saved"] is True and added["test"]["ok"] is True, added
    stored = json.loads((project.root / ".keboola" / "connections.json").read_text())["connections"]["exports"]
    assert stored["kind"] == "s3" and stored["s3"]["#secretAccessKey"].startswith("{{ vault.")
    assert stored["s3"]["accessKeyId"].startswith("{{ vault.")  # the id the guard caught stays a reference

    results = tool_results(api.requests[3])
    keys = [row[0] for row in json.loads(results[listing.id]["content"])["rows"]]
    assert keys == ["exports/feb.csv", "exports/jan.csv"]
    assert json.loads(results[preview.id]["content"])["rows"] == [[1, "Prague", 10], [2, "Brno", 20]]

    card = view.proposals[1]
    draft = json.loads(card.json)
    assert draft["componentId"] == "keboola.ex-aws-s3"
    assert list(card.preview["city"]) == ["Ostrava"]  # the first file the wildcard matches
    assert draft["rows"][0]["configuration"]["parameters"]["key"] == "exports/*"
    assert any("s3://" in value and "primary key id" in value for _, value in card.overview)

    run_result = json.loads(tool_results(api.requests[5])[run.id]["content"])
    assert run_result["status"] == "success" and run_result["tables"][0]["rows"] == 3
    config = project.configs.get("exports-csv")
    assert project.storage.preview(f"in.c-keboola-ex-aws-s3-{config.id}.sales").shape[0] == 3
    sent = sent_text(api)
    assert S3_SECRET not in sent and ACCESS_KEY_ID not in sent
    assert not [p for p in project.root.rglob("*") if p.is_file() and S3_SECRET.encode() in p.read_bytes()]


def test_assistant_writes_storage_tables_to_s3(project, s3, api: StandIn, monkeypatch):  # noqa: F811
    import keboola_nb as kb
    from keboola_nb.connectors.base import Scan

    monkeypatch.setenv("S3_CHAT_SK", S3_SECRET)
    project.connections.add("exports", f"s3://{s3.bucket}/exports/", access_key="test",
                            password=kb.secret("S3_CHAT_SK"))
    with project.storage.transaction() as loader:
        loader.load("in.c-crm.activity", Scan("SELECT range AS id, 'call' AS kind FROM range(4)"))
    gzipped = ToolUse("create_writer", {"name": "to-s3", "connection": "exports",
                                        "tables": [{"table": "in.c-crm.activity", "file": "activity.csv.gz"}]})
    create = ToolUse("create_writer", {"name": "to-s3", "connection": "exports",
                                       "tables": [{"table": "in.c-crm.activity", "file": "activity.csv"}]})
    run = ToolUse("run_configuration", {"name": "to-s3"})
    api.push(Turn([gzipped]), Turn([create]), Turn([Text("Created, as plain CSV: Keboola's writer does not gzip. "
                                                         "Run it?")]), Turn([run]), Turn([Text("Written.")]))
    view = RecordingView(decisions=[True, True])
    agent = agent_for(project, view)
    agent.send("write in.c-crm.activity to our exports bucket, gzipped")
    refused = tool_results(api.requests[1])[gzipped.id]  # Keboola would upload plain CSV under a .gz name
    assert refused["is_error"] and "names a compressed file" in refused["content"], refused
    card = view.proposals[0]
    assert json.loads(card.json)["componentId"] == "keboola.wr-aws-s3"
    assert any(f"s3://{s3.bucket}/exports/activity.csv" in value for _, value in card.overview)
    assert not any("schema" in value for _, value in card.overview)
    agent.send("yes")
    run_card = view.proposals[1]
    assert any(f"s3://{s3.bucket}/exports/activity.csv" in value for _, value in run_card.overview)
    result = json.loads(tool_results(api.requests[4])[run.id]["content"])
    assert result["status"] == "success" and result["tables"][0]["rows"] == 4
    body = s3.get_object(Bucket=s3.bucket, Key="exports/activity.csv")["Body"].read()
    assert body.decode().splitlines() == ["id,kind", "0,call", "1,call", "2,call", "3,call"]
    assert S3_SECRET not in sent_text(api)
