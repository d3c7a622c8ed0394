"""`keboola-nb mcp` as an MCP client sees it: the SDK's own client (stdio_client + ClientSession) launches
`python -m keboola_nb.cli mcp` (this checkout's code, the code the tests compare with) on a project with a real
PostgreSQL source. The server runs behind `tee`, so every byte it sent is on disk and scanned for the canary
secrets; its exit code is kept too."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import anyio
import mcp_types as types
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError

import keboola_nb
from conftest import ETL_PASSWORD, SUPERUSER_PASSWORD, scan_for_canaries

COMMAND = [sys.executable, "-m", "keboola_nb.cli"]
SOURCE = {"PYTHONPATH": str(Path(keboola_nb.__file__).resolve().parent.parent)}
# Serve on stdio through tee: the client talks to the server as it would directly, and the bytes stay on disk.
TEED = '"$0" -m keboola_nb.cli mcp --project "$1" 2>>"$2" | tee -a "$3"; echo "${PIPESTATUS[0]}" > "$4"'
# What a client's user does with a confirmation dialog: confirm, decline, never answer, or the client fails to show it.
Answer = bool | Literal["never", "fail"]
SALES = "in.c-shop.sales"
TOP = {"language": "sql", "name": "top", "code": "CREATE TABLE top AS SELECT * FROM sales ORDER BY amount DESC LIMIT 1",
       "inputs": [f"{SALES} AS sales"], "outputs": ["top AS out.c-x.top"]}

T = TypeVar("T")
SESSION_TIMEOUT_S = 300  # a session that hangs fails its test instead of the whole run


def run_apart(session: Callable[[], Awaitable[T]]) -> T:
    """Run an async client session in a thread of its own: the browser tests' Playwright keeps an event loop
    running in this thread for the whole test session, and anyio cannot start another one beside it. A daemon
    thread: a session that hangs fails its test, and does not hold the run at exit."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = anyio.run(session)
        except BaseException as e:  # noqa: BLE001 (raised again in the test's thread)
            outcome["error"] = e

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(SESSION_TIMEOUT_S)
    if worker.is_alive():
        raise TimeoutError(f"the MCP client session did not end within {SESSION_TIMEOUT_S} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@dataclass
class Tap:
    """What one server process sent (stdout: the protocol), logged (stderr) and how it ended."""

    folder: Path
    questions: list[str] = field(default_factory=list)  # elicitation messages the client was shown
    answers: list[Answer] = field(default_factory=list)  # the user's answers, in order (True: confirm)
    progress: list[tuple[float, float | None, str | None]] = field(default_factory=list)

    def sent(self) -> str:
        return (self.folder / "out").read_text() + (self.folder / "err").read_text()

    def exit_code(self, wait: float = 15.0) -> int:
        rc = self.folder / "rc"
        deadline = time.monotonic() + wait
        while not (rc.exists() and rc.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.05)
        return int(rc.read_text())

    async def elicit(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult | types.ErrorData:
        self.questions.append(params.message)
        assert params.requested_schema["properties"]["confirm"]["type"] == "boolean"
        answer = self.answers.pop(0)
        if answer == "never":
            await anyio.sleep_forever()  # until the server cancels the request
        if answer == "fail":
            return types.ErrorData(code=types.INTERNAL_ERROR, message="this client could not show the dialog")
        return types.ElicitResult(action="accept", content={"confirm": True}) if answer else types.ElicitResult(
            action="decline")

    async def on_progress(self, progress: float, total: float | None, message: str | None) -> None:
        self.progress.append((progress, total, message))


@asynccontextmanager
async def connected(root: Path, tap: Tap, asks: bool = False,
                    env: dict[str, str] | None = None) -> AsyncIterator[ClientSession]:
    """A session with `keboola-nb mcp --project root`; `asks`: the client declares elicitation; `env`: more of the
    server's environment."""
    tap.folder.mkdir(parents=True, exist_ok=True)
    files = [str(tap.folder / name) for name in ("err", "out", "rc")]
    env = {k: os.environ[k] for k in ("KEBOOLA_NB_SECRETS_DIR", "SHOP_PG_PASSWORD")} | SOURCE | (env or {})
    params = StdioServerParameters(command="bash", args=["-c", TEED, sys.executable, str(root), *files], env=env)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write, elicitation_callback=tap.elicit if asks else None) as session:
            await session.initialize()
            yield session


def text(result: types.CallToolResult) -> str:
    assert len(result.content) == 1 and result.content[0].type == "text"
    return result.content[0].text


def ok(result: types.CallToolResult) -> Any:
    assert not result.is_error, text(result)
    return json.loads(text(result))


def resource(read: types.ReadResourceResult) -> Any:
    (content,) = read.contents
    assert content.mime_type == "application/json"
    return json.loads(content.text)


def assert_no_canary(tap: Tap, project) -> None:
    sent = tap.sent()
    assert ETL_PASSWORD not in sent and SUPERUSER_PASSWORD not in sent
    assert not scan_for_canaries(project.root)


def load_sales(project) -> None:
    """A storage table for transformations: no source server needed."""
    from keboola_nb.connectors.base import Scan

    with project.storage.transaction() as loader:
        loader.load(SALES, Scan(sql="SELECT * FROM (VALUES (DATE '2024-01-01', 100.0), (DATE '2024-01-02', 80.0)) "
                                    "t(day, amount)"))


def test_tools_resources_and_an_extractor_through_proposals(project, shop, tmp_path):
    """A client without elicitation: browse, preview, create and run an extractor, each change confirmed by a
    second call with the proposal's id, then read the job."""
    from keboola_nb.ai.agent import toolbox

    tap = Tap(tmp_path / "tap")

    async def session() -> None:
        async with connected(project.root, tap) as s:
            # One toolbox, two faces: the chat's definitions, word for word, plus the confirmation tool.
            listed = {t.name: t for t in (await s.list_tools()).tools}
            chat = {d["name"]: d for d in toolbox().definitions()}
            assert set(listed) == set(chat) | {"confirm_proposal"}
            for name, d in chat.items():
                assert (listed[name].description, listed[name].input_schema) == (d["description"], d["input_schema"])
                assert listed[name].annotations.read_only_hint is not toolbox()[name].changes
            assert {r.uri for r in (await s.list_resources()).resources} == {
                "keboola://configurations", "keboola://connections", "keboola://storage/tables", "keboola://jobs"}
            assert {t.uri_template for t in (await s.list_resource_templates()).resource_templates} == {
                "keboola://configurations/{name}", "keboola://jobs/{job_id}"}

            assert [c["name"] for c in resource(await s.read_resource("keboola://connections"))] == ["shop"]
            preview = ok(await s.call_tool("preview_table", {"connection": "shop", "table": "public.customers",
                                                             "limit": 3}))
            assert preview["columns"] == ["id", "name", "email"] and len(preview["rows"]) == 3

            # A change waits: the first call returns the card and an id; nothing is saved yet.
            create = {"name": "shop-customers", "connection": "shop", "tables": [{"table": "public.customers"}]}
            proposal = ok(await s.call_tool("create_extractor", create))
            assert proposal["needs_confirmation"] and proposal["action"] == "Create"
            assert proposal["json"]["configuration"]["parameters"]["db"]["#password"] == "{{ vault.SHOP_PG_PASSWORD }}"
            assert len(proposal["preview"]["rows"]) == 5
            assert project.configs.find("shop-customers") is None
            wrong = await s.call_tool("confirm_proposal", {"proposal_id": "made-up"})
            assert wrong.is_error and "no open proposal 'made-up'" in text(wrong)
            created = ok(await s.call_tool("confirm_proposal", {"proposal_id": proposal["proposal_id"]}))
            assert created["created"] and created["name"] == "shop-customers"
            again = await s.call_tool("confirm_proposal", {"proposal_id": proposal["proposal_id"]})
            assert again.is_error and "used already" in text(again)  # single use
            configs = resource(await s.read_resource("keboola://configurations"))
            assert [c["name"] for c in configs] == ["shop-customers"]
            config = resource(await s.read_resource("keboola://configurations/shop-customers"))
            assert config["name"] == "shop-customers"

            run = ok(await s.call_tool("run_configuration", {"name": "shop-customers"}))
            assert run["action"] == "Run" and project.jobs.recent(1) == []
            job = ok(await s.call_tool("confirm_proposal", {"proposal_id": run["proposal_id"]},
                                       progress_callback=tap.on_progress))
            assert job["status"] == "success" and job["tables"][0]["rows"] == 50
            assert tap.progress and tap.progress[-1][0] == tap.progress[-1][1]  # the last one says: done
            read = resource(await s.read_resource(f"keboola://jobs/{job['job_id']}"))
            assert read["status"] == "success" and read["log"]
            assert [j["id"] for j in ok(await s.call_tool("jobs", {}))] == [job["job_id"]]
            assert resource(await s.read_resource("keboola://storage/tables"))["rows"][0][0] == \
                "in.c-shop-customers.customers"

    run_apart(session)
    assert project.storage.preview("in.c-shop-customers.customers").shape[0] == 50
    assert tap.exit_code() == 0
    assert_no_canary(tap, project)
    # Kept as the chat keeps its own, in one conversation for the session: the tool calls, and the drafts (the
    # proposal's stays "proposed"; the confirmed call made the one that was created).
    (conversation,) = project.conversations.list()["id"]
    assert project.conversations.drafts(conversation)["state"].tolist() == ["proposed", "created"]
    calls = project.conversations.tool_calls(conversation)
    assert calls["name"].tolist().count("confirm_proposal") == 4 and calls["is_error"].sum() == 2


def test_a_flow_with_new_parts_a_data_check_and_a_schedule_is_confirmed(project, tmp_path):
    """Each build of a flow's card makes new ids for its new configurations (the flow names them by id) and moves
    the schedule's next runs on: the confirmation still matches the card the user saw, and creates it all."""
    load_sales(project)
    tap = Tap(tmp_path / "tap")
    revenue = {"language": "sql", "name": "daily_revenue",
               "code": "CREATE TABLE daily_revenue AS SELECT day, sum(amount) AS revenue FROM sales GROUP BY day",
               "inputs": [f"{SALES} AS sales"], "outputs": ["daily_revenue AS out.c-revenue.daily_revenue"]}
    flow = {"name": "daily", "phases": [{"transform": ["daily_revenue"]}], "schedule": "* * * * *",
            "new": [{"tool": "create_transformation", "arguments": revenue}],
            "notify": [{"when": "daily_revenue.revenue > 90", "email": "team@example.com"}]}

    async def session() -> Any:
        async with connected(project.root, tap) as s:
            proposal = ok(await s.call_tool("create_flow", flow))
            assert proposal["needs_confirmation"] and project.configs.find("daily") is None
            assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", proposal["json"]["flow"]["configuration"]["tasks"][0]
                                ["task"]["configId"])  # a new configuration's id, made afresh by each build
            return ok(await s.call_tool("confirm_proposal", {"proposal_id": proposal["proposal_id"]}))

    created = run_apart(session)
    assert created.get("created"), f"the confirmation did not create the flow: {created}"
    assert [c["name"] for c in created["configurations"]] == ["daily_revenue"]
    tasks = project.configs.get("daily").configuration["tasks"]
    made = {project.configs.get(name).id for name in ("daily_revenue", "daily-check")}
    assert {t["task"]["configId"] for t in tasks if t["task"]["type"] == "job"} == made  # the ids the flow runs
    assert [s.cron for s in project.flows.schedules("daily")] == ["* * * * *"]
    assert tap.exit_code() == 0


def test_a_client_with_elicitation_asks_its_user(project, shop, tmp_path):
    tap = Tap(tmp_path / "tap", answers=[False, True])

    async def session() -> None:
        async with connected(project.root, tap, asks=True) as s:
            create = {"name": "shop-orders", "connection": "shop", "tables": [{"table": "public.orders"}]}
            declined = ok(await s.call_tool("create_extractor", create))
            assert declined["declined_by_user"] and project.configs.find("shop-orders") is None
            created = ok(await s.call_tool("create_extractor", create))
            assert created["created"] and project.configs.get("shop-orders").version == 1

    run_apart(session)
    assert len(tap.questions) == 2 and tap.questions[0].startswith("Create extractor shop-orders")
    assert "public.orders" in tap.questions[0] and "Keboola JSON:" in tap.questions[0]
    assert_no_canary(tap, project)


def test_a_password_in_an_argument_is_stored_and_replaced(project, pg, tmp_path):
    """The password goes to a local secret file; the server sends back only its reference, and the call made
    again with the reference connects."""
    tap = Tap(tmp_path / "tap", answers=[True])
    secrets_dir = Path(os.environ["KEBOOLA_NB_SECRETS_DIR"])
    url = pg.url("shop", "etl").replace("etl@", f"etl:{ETL_PASSWORD}@")

    async def session() -> None:
        async with connected(project.root, tap, asks=True) as s:
            refused = await s.call_tool("add_connection", {"name": "shop", "url": url})
            said = text(refused)
            assert refused.is_error and said.startswith("Not run: the password in a connection URL was stored")
            (name,) = re.findall(r"\{\{ vault\.(\w+) \}\}", said)[:1]
            assert (secrets_dir / name).read_text() == ETL_PASSWORD
            # A `#` key of a component's own, inside a list of entries: caught the same way, nothing runs.
            entries = [{"table": "public.orders", "#token": "s3cr3t-xyz"}]
            keyed = await s.call_tool("create_extractor", {"name": "x", "connection": "shop", "tables": entries})
            assert keyed.is_error and "value of #token was stored" in text(keyed)
            added = ok(await s.call_tool("add_connection", {"name": "shop", "url": pg.url("shop", "etl"),
                                                            "password_reference": f"{{{{ vault.{name} }}}}"}))
            assert added["saved"] and added["test"]["ok"], added

    run_apart(session)
    assert project.connections.get("shop").test().ok
    assert project.configs.find("x") is None and len(tap.questions) == 1
    assert "s3cr3t-xyz" not in tap.sent()
    assert_no_canary(tap, project)


def test_only_keboola_hash_keys_are_secrets_by_their_name(project, tmp_path):
    """A `#` key's value is stored whatever it looks like; other keys named like secrets are judged by their
    values: a reference argument goes to the tool, which says what it must be, and a variable stays a variable."""
    load_sales(project)
    tap = Tap(tmp_path / "tap")
    secrets_dir = Path(os.environ["KEBOOLA_NB_SECRETS_DIR"])

    def stored() -> set[Path]:
        return set(secrets_dir.glob("*"))  # none yet: no folder

    before = stored()
    masked = "<s3cr3t-in-angles>"

    async def session() -> None:
        async with connected(project.root, tap) as s:
            named = await s.call_tool("add_connection", {"name": "shop", "url": "postgresql://etl@localhost/shop",
                                                         "password_reference": "PG_PASSWORD"})
            assert named.is_error and "password_reference holds something that is not a secret reference" in \
                text(named), text(named)
            assert stored() == before, "a reference argument was stored as a secret"

            variable = ok(await s.call_tool("create_transformation", TOP | {
                "code": "CREATE TABLE top AS SELECT * FROM sales LIMIT {{ token_limit }}",
                "variables": {"token_limit": "100"}}))
            assert variable.get("needs_confirmation"), variable
            assert ["Variables", "token_limit = 100"] in variable["overview"]

            entries = [{"table": "public.orders", "#password": masked}]
            keyed = await s.call_tool("create_extractor", {"name": "x", "connection": "shop", "tables": entries})
            assert keyed.is_error and "value of #password was stored" in text(keyed), text(keyed)
            (new,) = stored() - before
            assert new.read_text() == masked

    run_apart(session)
    assert masked not in tap.sent()
    (conversation,) = project.conversations.list()["id"]
    calls = project.conversations.tool_calls(conversation).set_index("name")
    assert "{{ vault.mcp_password_" in calls.loc["create_extractor", "arguments"]  # recorded with the reference
    kept = [f for f in project.root.rglob("*") if f.is_file() and masked.encode() in f.read_bytes()]
    assert not kept, f"the secret was written to {kept}"  # conversations.sqlite among them
    assert project.connections.names() == []


def test_a_dialog_without_an_answer_gives_up_and_the_next_change_goes_through(project, tmp_path):
    """Changes run one at a time: a dialog the user never answers ends after the time limit."""
    load_sales(project)
    tap = Tap(tmp_path / "tap", answers=["never", True])

    async def session() -> tuple[Any, Any]:
        async with connected(project.root, tap, asks=True, env={"KEBOOLA_NB_MCP_ASK_TIMEOUT": "2"}) as s:
            with anyio.fail_after(60):
                unanswered = ok(await s.call_tool("create_transformation", TOP))
                return unanswered, ok(await s.call_tool("create_transformation", TOP))

    unanswered, created = run_apart(session)
    assert unanswered["done"] is False and "did not answer within 2 seconds" in unanswered["reason"], unanswered
    assert created.get("created"), created
    assert len(tap.questions) == 2 and project.configs.get("top").version == 1
    (conversation,) = project.conversations.list()["id"]
    assert project.conversations.drafts(conversation)["state"].tolist() == ["cancelled", "created"]


def test_a_cancelled_call_ends_its_dialog_and_the_next_change_goes_through(project, tmp_path):
    """The client gives up on a call whose dialog its user never answers (the default 10 minutes): the dialog
    ends with the call, which is recorded as not confirmed (the draft cancelled, not left proposed)."""
    load_sales(project)
    tap = Tap(tmp_path / "tap", answers=["never", True])

    async def session() -> Any:
        async with connected(project.root, tap, asks=True) as s:
            with anyio.move_on_after(2) as waited:
                await s.call_tool("create_transformation", TOP)
            assert waited.cancel_called  # the dialog was still open
            with anyio.fail_after(30):
                return ok(await s.call_tool("create_transformation", TOP))

    created = run_apart(session)
    assert created.get("created"), created
    assert len(tap.questions) == 2 and project.configs.get("top").version == 1
    assert tap.exit_code() == 0
    (conversation,) = project.conversations.list()["id"]
    assert project.conversations.drafts(conversation)["state"].tolist() == ["cancelled", "created"]
    calls = project.conversations.tool_calls(conversation)
    assert "the tool call was cancelled" in calls["result"].iloc[0], calls


def test_a_changed_card_is_asked_again_in_the_clients_dialog(project, tmp_path):
    """A client that declares elicitation but failed to show a dialog got a proposal; when the card changed before
    the confirmation, its user is asked again with the new card, not told to call again."""
    load_sales(project)
    project.transformations.create_sql("top", TOP["code"], inputs=TOP["inputs"], outputs=TOP["outputs"])
    tap = Tap(tmp_path / "tap", answers=["fail", True])
    cheapest = "CREATE TABLE top AS SELECT * FROM sales ORDER BY amount LIMIT 1"

    async def session() -> Any:
        async with connected(project.root, tap, asks=True) as s:
            proposal = ok(await s.call_tool("run_configuration", {"name": "top"}))
            assert proposal["needs_confirmation"] and "could not show the confirmation" in proposal["notes"][0]
            project.transformations.create_sql("top", cheapest, inputs=TOP["inputs"], outputs=TOP["outputs"],
                                               replace=True)
            return ok(await s.call_tool("confirm_proposal", {"proposal_id": proposal["proposal_id"]}))

    job = run_apart(session)
    assert job.get("status") == "success", f"the new card was not asked for: {job}"
    assert len(tap.questions) == 2 and "version 1" in tap.questions[0] and "version 2" in tap.questions[1]
    assert project.storage.preview("out.c-x.top")["amount"].tolist() == [80.0]


def test_bad_input_gets_clear_errors_and_the_server_keeps_serving(project, shop, tmp_path):
    tap = Tap(tmp_path / "tap")

    async def session() -> None:
        async with connected(project.root, tap) as s:
            with pytest.raises(MCPError, match="there is no tool named 'drop_everything'; the tools are list_conn"):
                await s.call_tool("drop_everything", {})
            invalid = await s.call_tool("preview_table", {"connection": "shop", "limit": "many"})
            assert invalid.is_error and text(invalid).startswith("invalid arguments for preview_table: table: Field")
            unknown = await s.call_tool("preview_table", {"connection": "nope", "table": "public.orders"})
            assert unknown.is_error and "nope" in text(unknown)
            with pytest.raises(MCPError, match="there is no resource 'keboola://nothing'"):
                await s.read_resource("keboola://nothing")
            with pytest.raises(MCPError, match="keboola://configurations/ghost: .*ghost"):
                await s.read_resource("keboola://configurations/ghost")
            # What only a notebook can do is answered, not pretended.
            secret = await s.call_tool("ask_for_secret", {"label": "pw", "prompt": "Password of etl"})
            assert secret.is_error and "no masked field for 'pw' over MCP" in text(secret)
            cell = ok(await s.call_tool("write_code_cell", {"code": "SELECT 1"}))
            assert cell["written"].startswith("nowhere: there is no notebook over MCP")
            bad = await s.call_tool("confirm_proposal", {"proposal_id": 7})
            assert bad.is_error and "proposal_id (a string)" in text(bad)
            # The project changed between the proposal and its confirmation: the new card is proposed instead.
            project.extractors.create("shop-orders", "shop", ["public.orders"])
            first = ok(await s.call_tool("run_configuration", {"name": "shop-orders"}))
            project.extractors.create("shop-orders", "shop", ["public.orders", "public.customers"], replace=True)
            second = ok(await s.call_tool("confirm_proposal", {"proposal_id": first["proposal_id"]}))
            assert second["needs_confirmation"] and second["proposal_id"] != first["proposal_id"]
            assert "changed since the user saw it" in second["notes"][0] and project.jobs.recent(1) == []
            assert len((await s.list_tools()).tools) > 20  # still serving

    run_apart(session)
    assert tap.exit_code() == 0


def test_a_project_that_does_not_exist_is_a_clear_error(project, tmp_path):
    env = os.environ | SOURCE
    done = subprocess.run([*COMMAND, "mcp", "--project", str(tmp_path / "nowhere")], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60, env=env)
    assert done.returncode == 2 and "is not a keboola_nb project" in done.stderr and done.stdout == ""
    far = subprocess.run([*COMMAND, "mcp", "--project", str(project.root), "--http", "8999", "--host", "0.0.0.0"],
                         capture_output=True, text=True, timeout=60, env=env)
    assert far.returncode == 2 and "loopback only" in far.stderr
    late = subprocess.run([*COMMAND, "mcp", "--project", str(project.root)], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60, env=env | {"KEBOOLA_NB_MCP_ASK_TIMEOUT": "soon"})
    assert late.returncode == 2 and "KEBOOLA_NB_MCP_ASK_TIMEOUT='soon' is not a number of seconds" in late.stderr


def test_a_client_that_disconnects_mid_run_leaves_nothing_half_written(project, shop, tmp_path, monkeypatch):
    import mcp.client.stdio

    # The SDK's client sends SIGTERM 2 s after closing stdin. The server stops the run at once, but DuckDB's
    # postgres scanner takes the interrupt only when its COPY ends (~8 s on this slow view): a patient client
    # shows the clean exit; an impatient one kills an uncommitted load, which leaves no table either.
    monkeypatch.setattr(mcp.client.stdio, "PROCESS_TERMINATION_TIMEOUT", 60.0)
    project.extractors.create("slow", "shop", [{"table": "public.slow_big", "primary_key": ["id"]}])
    tap = Tap(tmp_path / "tap", answers=[True])

    async def session() -> None:
        async with connected(project.root, tap, asks=True) as s:
            with anyio.move_on_after(3) as waited:
                await s.call_tool("run_configuration", {"name": "slow"}, progress_callback=tap.on_progress)
            assert waited.cancel_called  # still running when the client went away

    run_apart(session)
    assert tap.exit_code() == 0  # stdin closed: the run was stopped and the server exited by itself
    (job,) = project.jobs.recent(1)
    assert job.status == "error" and job.finished is not None
    assert project.storage.tables().empty  # no table, not a part of one


def test_streamable_http_on_loopback(project, shop, tmp_path):
    from mcp.client.streamable_http import streamable_http_client

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([*COMMAND, "mcp", "--project", str(project.root), "--http", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=os.environ | SOURCE)

    async def session() -> list[str]:
        for _ in range(100):  # until it listens
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                    break
            except OSError:
                await anyio.sleep(0.1)
        async with streamable_http_client(f"http://127.0.0.1:{port}/mcp") as (read, write, *_):
            async with ClientSession(read, write) as s:
                await s.initialize()
                conns = resource(await s.read_resource("keboola://connections"))
                return [c["name"] for c in conns] + [t.name for t in (await s.list_tools()).tools]

    try:
        names = run_apart(session)
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert names[0] == "shop" and "confirm_proposal" in names
    assert ETL_PASSWORD not in err


def test_a_card_is_compared_without_its_new_ids_and_next_run_times():
    """What a confirmation must match: new ids are numbered by first appearance, wherever they stand; the
    schedule's next runs (a minute later at the confirmation) are left out; everything else counts."""
    from keboola_nb.mcp_server import comparable
    from keboola_nb.model.configuration import new_id

    def shown(check: str, transform: str, next_runs: str, cron: str = "every minute") -> dict[str, Any]:
        return {"title": "Create flow daily", "overview": [["Creates", "transformation t, transformation c"],
                                                         ["Schedule", f"{cron}; next: {next_runs}"]],
                "json": {"configurations": [{"id": transform}, {"id": check}],
                         "flow": {"tasks": [{"task": {"configId": transform}}, {"task": {"configId": check}}],
                                  "notes": {check: f"checks {transform}"}}}}

    a, b, c, d = (new_id() for _ in range(4))
    proposed = comparable(shown(b, a, "2026-01-01 10:59 UTC, 2026-01-01 11:00 UTC"))
    assert proposed["json"]["flow"] == {"tasks": [{"task": {"configId": "#1"}}, {"task": {"configId": "#2"}}],
                                        "notes": {"#2": "checks #1"}}
    assert proposed["overview"][1] == ["Schedule", "every minute"]
    assert comparable(shown(d, c, "2026-01-01 11:00 UTC, 2026-01-01 11:01 UTC")) == proposed
    swapped = shown(d, c, "2026-01-01 10:59 UTC")
    swapped["json"]["flow"]["tasks"].reverse()  # the flow runs the other configuration first
    assert comparable(swapped) != proposed
    assert comparable(shown(d, c, "2026-01-01 11:00 UTC", cron="every hour")) != proposed
    # An id of a configuration the project has stays as it is: a card naming another existing one differs.
    e, f = new_id(), new_id()
    assert comparable(shown(b, e, "x"), {e, f}) != comparable(shown(b, f, "x"), {e, f})
    assert comparable(shown(b, e, "x"), {e, f}) == comparable(shown(c, e, "x"), {e, f})


def test_a_tool_added_for_the_chat_appears_over_mcp(project):
    """No per-tool code: a new Toolbox function is an MCP tool with its own schema."""
    from keboola_nb.ai.agent import toolbox
    from keboola_nb.ai.toolbox import Toolbox, tool
    from keboola_nb.mcp_server import McpFace

    @tool(changes=True)
    def archive_table(ctx: Any, table: Annotated[str, "storage table id"]) -> dict[str, Any]:
        """Archive a storage table."""
        return {}

    functions = [t.function for t in toolbox().tools.values()] + [archive_table]
    tools = {t.name: t for t in McpFace(project, Toolbox(functions)).tools()}
    assert tools["archive_table"].description == "Archive a storage table."
    assert tools["archive_table"].input_schema["properties"]["table"]["description"] == "storage table id"
    assert tools["archive_table"].annotations.destructive_hint is True
    assert tools["confirm_proposal"].annotations.destructive_hint is True
    assert tools["list_connections"].annotations.read_only_hint is True


def test_load_ext_does_not_import_the_mcp_sdk():
    code = ("import sys\nfrom IPython.core.interactiveshell import InteractiveShell\n"
            "InteractiveShell.instance().run_line_magic('load_ext', 'keboola_nb')\n"
            "print(sorted(m for m in sys.modules if m == 'mcp' or m.startswith(('mcp.', 'mcp_types'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
