"""`keboola-nb mcp`: the assistant's toolbox served over MCP, for Claude Code, Claude Desktop or any MCP client.

One toolbox, two faces: every tool of `ai.agent.toolbox()` is an MCP tool with the same name, description and
input schema, run through the same `Toolbox.call` (validation, redaction, clear errors); nothing here names a
tool except `confirm_proposal`, which only this face has. This module is the MCP face's View:
- A tool that changes something asks the user before it does: through elicitation when the client declared it,
  else it returns a proposal (the card as JSON, with an id) and changes nothing. `confirm_proposal(proposal_id)`
  runs the same tool with the same arguments once the user agreed; the id is single-use, expires, and the change
  goes ahead only if the card it would show now is the card the user saw.
- Tool arguments pass the chat's secret guard: a password in a URL or a "password is ..." phrase, a key-shaped
  value, or the value of a Keboola `#` key that is not a `{{ vault.NAME }}` reference is stored locally and the call
  is not run; the result hands back the arguments with references, the way the chat hands the model the user's
  message. Other keys are judged by their values only: `password_reference` or a variable `token_limit` are not
  secrets, and the tool says clearly what a reference argument must look like.
- A client's dialog waits at most `KEBOOLA_NB_MCP_ASK_TIMEOUT` seconds (10 minutes by default) and ends when the
  tool call is cancelled: changes run one at a time, so an unanswered dialog must not hold up the next one.
- Notebook-only View calls are answered with a clear message: `write_code_cell` says there is no notebook,
  `ask_for_secret` says how to give a secret without a masked field. They stay listed, so the two faces never
  need a per-tool list.
- Resources are the read-only tools an agent reads often (configurations, connections, storage tables, jobs).

The SDK (`mcp`) is imported only here, and this module only by the `mcp` command.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import unquote

import anyio
import anyio.from_thread
import anyio.to_thread
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.session import ServerSession
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

from . import __version__
from .ai.agent import toolbox
from .ai.context import Decision, Proposal, ToolContext
from .ai.secret_guard import guard_arguments
from .ai.toolbox import MAX_RESULT_CHARS, Toolbox
from .ai.tools import rows_of
from .errors import KeboolaError
from .model.validation import env_seconds
from .store.secrets import redact, redact_all

if TYPE_CHECKING:
    import pandas as pd

    from .project import Project

PROPOSAL_TTL_S = 600  # an unconfirmed proposal is forgotten after this
ASK_TIMEOUT_ENV = "KEBOOLA_NB_MCP_ASK_TIMEOUT"  # seconds a client's confirmation dialog may wait for the user
ASK_TIMEOUT_S = 600.0
STOP_WAIT_S = 30  # how long a closing server waits for stopped tool calls to roll back
PROGRESS_EVERY_S = 0.5  # progress notifications at most this often
PREVIEW_ROWS = 5
LOOPBACK = ("127.0.0.1", "localhost", "::1")
CONFIRM_TOOL = "confirm_proposal"
CONFIRM_DEFINITION = {
    "name": CONFIRM_TOOL,
    "description": "Carry out a change the user agreed to: the proposal_id a changing tool returned. Single use; "
                   "expires after 10 minutes.",
    "input_schema": {"type": "object", "properties": {"proposal_id": {"type": "string"}},
                     "required": ["proposal_id"], "additionalProperties": False},
}
INSTRUCTIONS = (
    "Keboola project on this machine: sources, storage, extractors, writers, transformations, flows and jobs. "
    "Tools that change something return a proposal unless the user was asked already: show it to the user and call "
    "confirm_proposal only after they agree. Never put a secret into an argument: pass {{ vault.NAME }} "
    "references (NAME: an environment variable of this server, or a stored secret)."
)
# Resources: the read-only tools an agent would otherwise call again and again.
RESOURCES = {
    "keboola://configurations": ("Configurations: name, component, rows, version", "list_configurations", {}),
    "keboola://connections": ("Source connections: kind, target, where the secret is kept", "list_connections", {}),
    "keboola://storage/tables": ("Storage tables: id, rows, last import, source", "storage_tables", {}),
    "keboola://jobs": ("The 20 most recent jobs: status, rows, error", "jobs", {"limit": 20}),
}
TEMPLATES = {  # uri template -> (description, tool, the argument the last path segment fills)
    "keboola://configurations/{name}": ("A configuration's Keboola JSON", "get_configuration", "name"),
    "keboola://jobs/{job_id}": ("One job with its log", "jobs", "job_id"),
}
# A new configuration's or row's id (model.configuration.new_id: a ULID in Crockford base 32), made afresh by each
# build of a proposal; not inside a longer word.
_NEW_ID = re.compile(r"(?<![0-9A-Za-z])[0-9A-HJKMNP-TV-Z]{26}(?![0-9A-Za-z])")
_NEXT_RUNS = re.compile(r"; next: .*$", re.DOTALL)  # a schedule's next run times: they move with the clock
SCHEDULE_LABEL = "Schedule"  # create_flow's overview line for the schedule


class ProposalPending(KeboolaError):
    """Raised by the View's confirm when the user has to be asked outside this call (the proposal path)."""


@dataclass
class Pending:
    """A proposal waiting for `confirm_proposal`: the exact call to repeat and the card the user saw."""

    id: str
    tool: str
    arguments: dict[str, Any]
    card: dict[str, Any]
    expires: float


class Proposals:
    """Open proposals of this server process; each is used at most once."""

    def __init__(self, ttl: float = PROPOSAL_TTL_S) -> None:
        self.ttl = ttl
        self._open: dict[str, Pending] = {}
        self._lock = threading.Lock()

    def add(self, tool: str, arguments: dict[str, Any], card: dict[str, Any]) -> Pending:
        pending = Pending(secrets.token_urlsafe(9), tool, arguments, card, time.monotonic() + self.ttl)
        with self._lock:
            self._open = {k: p for k, p in self._open.items() if p.expires > time.monotonic()}
            self._open[pending.id] = pending
        return pending

    def take(self, proposal_id: str) -> Pending:
        with self._lock:
            pending = self._open.pop(proposal_id, None)
        if pending is None:
            raise KeboolaError(f"there is no open proposal {proposal_id!r}: it was used already or never existed",
                               fix="call the tool again for a new proposal and show it to the user")
        if pending.expires <= time.monotonic():
            raise KeboolaError(f"proposal {proposal_id!r} expired after {self.ttl / 60:.0f} minutes",
                               fix="call the tool again for a new proposal and show it to the user")
        return pending


def ask_timeout_seconds() -> float:
    """How long a client's dialog waits: KEBOOLA_NB_MCP_ASK_TIMEOUT seconds when set, else 10 minutes."""
    return env_seconds(ASK_TIMEOUT_ENV, ASK_TIMEOUT_S, "10 minutes")


def card(proposal: Proposal) -> dict[str, Any]:
    """What the user is shown of a proposal, and what a confirmation must match."""
    shown: dict[str, Any] = {"title": proposal.title, "action": proposal.action,
                             "overview": [[label, value] for label, value in proposal.overview]}
    if proposal.json:
        shown["json"] = json.loads(proposal.json)
    return redact_all(shown)


def comparable(shown: dict[str, Any], known: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """What of a card a confirmation must match: each new id (one not among the `known` ids of the project's
    configurations) replaced by #1, #2, ... in order of first appearance (keys, values, inside strings: a flow names
    its new configurations by id), without the schedule's next run times (a cron of every minute moves on between
    the proposal and its confirmation). A known id stays: a card now naming another configuration is another card."""
    numbers: dict[str, str] = {}

    def number(match: re.Match[str]) -> str:
        found = match.group(0)
        return found if found in known else numbers.setdefault(found, f"#{len(numbers) + 1}")

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return _NEW_ID.sub(number, node)
        if isinstance(node, dict):
            return {walk(k): walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    overview = [[label, _NEXT_RUNS.sub("", value) if label == SCHEDULE_LABEL else value]
                for label, value in shown.get("overview", [])]
    return walk({**shown, "overview": overview})


def card_text(proposal: Proposal) -> str:
    """The card as plain text, for a client's confirmation dialog."""
    lines = [proposal.title, *(f"{label}: {value}" for label, value in proposal.overview)]
    if proposal.preview is not None and len(proposal.preview):
        lines += ["", "Data preview:", proposal.preview.head(PREVIEW_ROWS).to_string(index=False, max_colwidth=40)]
    if proposal.json:
        lines += ["", "Keboola JSON:", proposal.json]
    return redact("\n".join(lines))[:MAX_RESULT_CHARS]


@dataclass
class Link:
    """The MCP request a tool call serves: where elicitations and progress notifications go."""

    session: ServerSession
    request_id: Any
    elicitation: bool  # the client declared it can ask its user (form mode)
    cancelled_error: type[BaseException]  # the event loop's; a worker thread cannot ask anyio for it

    @classmethod
    def of(cls, ctx: ServerRequestContext[Any]) -> "Link":
        caps = ctx.session.client_capabilities
        asks = caps is not None and caps.elicitation is not None and ctx.session.can_send_request
        return cls(ctx.session, ctx.request_id, asks, anyio.get_cancelled_exc_class())


class McpProgress:
    """Job progress as MCP progress notifications (sent only when the client asked for them)."""

    def __init__(self, link: Link, title: str, cancelled: threading.Event) -> None:
        self.link, self.title, self._cancelled = link, title, cancelled
        self._item, self._total, self._sent = 0, 1, 0.0

    def _send(self, done: float, message: str, force: bool = False) -> None:
        if not force and time.monotonic() - self._sent < PROGRESS_EVERY_S:
            return
        self._sent = time.monotonic()
        try:
            anyio.from_thread.run(partial(self.link.session.report_progress, done, self._total, redact(message)))
        except Exception:  # the client went away: the run goes on until it is cancelled
            pass

    def step(self, index: int, total: int, label: str) -> None:
        self._item, self._total = index, max(total, 1)
        self._send(index - 1, f"{self.title}: {label}", force=True)

    def advance(self, fraction: float) -> None:
        self._send(self._item - 1 + fraction, self.title)

    def finish(self, summary: str) -> None:
        self._send(self._total, summary, force=True)

    def cancelled(self) -> bool:
        return self._cancelled.is_set()


class McpView:
    """The View of one MCP tool call (see the module docstring)."""

    def __init__(self, link: Link, proposals: Proposals, tool: str, arguments: dict[str, Any],
                 approved: Pending | None = None, ask_timeout: float = ASK_TIMEOUT_S,
                 known: Callable[[], set[str]] = set) -> None:
        self.link, self.proposals, self.tool, self.arguments = link, proposals, tool, arguments
        self.approved = approved  # set when this call repeats a proposal the user confirmed
        self.known = known  # the ids of the project's configurations, as they are now
        self.ask_timeout = ask_timeout
        self.pending: Pending | None = None
        self.preview: dict[str, Any] | None = None  # the card's data preview, shown but not part of what must match
        self.notices: list[str] = []

    def confirm(self, proposal: Proposal, cancelled: threading.Event) -> Decision:
        shown = card(proposal)
        changed = False
        if self.approved is not None:
            approved, self.approved = self.approved, None
            known = self.known()
            if comparable(approved.card, known) == comparable(shown, known):  # what the user agreed to
                return Decision(True)
            changed = True
        if self.link.elicitation:  # the new card of a changed proposal too: the user agreed to the old one
            decision = self._ask(proposal)
            if decision is not None:
                return decision
        if changed:
            self.notices.append("The proposal changed since the user saw it (the project changed): this is the new "
                                "one; show it again.")
        self.pending = self.proposals.add(self.tool, self.arguments, shown)
        if proposal.preview is not None:
            self.preview = redact_all(rows_of(proposal.preview, PREVIEW_ROWS))
        raise ProposalPending(f"{proposal.title}: waiting for the user's confirmation")

    def _ask(self, proposal: Proposal) -> Decision | None:
        """The client's own dialog; None when it could not ask (then the proposal path takes over). Changes wait
        while it is open, so it ends when the user takes too long or the tool call is cancelled."""
        schema = {"type": "object", "required": ["confirm"],
                  "properties": {"confirm": {"type": "boolean", "title": f"{proposal.action}?", "default": False}}}

        async def ask() -> types.ElicitResult | None:
            with anyio.move_on_after(self.ask_timeout):  # leaving it sends the client notifications/cancelled
                return await self.link.session.elicit_form(card_text(proposal), schema,
                                                           related_request_id=self.link.request_id)
            return None

        try:
            answer = anyio.from_thread.run(ask)
        except self.link.cancelled_error:  # anyio cancels the dialog with the tool call it serves
            return Decision(False, reason=f"no confirmation of {proposal.action!r}: the tool call was cancelled")
        except Exception as e:  # the client declared elicitation but failed to ask
            self.notices.append(f"The client could not show the confirmation ({redact(str(e))[:200]}).")
            return None
        if answer is None:
            return Decision(False, reason=f"no confirmation of {proposal.action!r}: the user did not answer within "
                                          f"{self.ask_timeout:g} seconds")
        if answer.action == "accept" and (answer.content or {}).get("confirm") is True:
            return Decision(True)
        return Decision(False, reason=f"the user answered {answer.action} to {proposal.action!r}")

    def secret(self, label: str, prompt: str, cancelled: threading.Event) -> str | None:
        raise KeboolaError(
            f"no masked field for {label!r} over MCP (the notebook's chat panel has one)",
            fix="ask the user to set an environment variable for this server (e.g. in its MCP configuration) and "
                "pass {{ vault.VARIABLE }}; a password in a tool argument is stored locally and replaced by its "
                "reference, but it passed through the client's model first")

    def code(self, code: str, language: str) -> str:
        return "nowhere: there is no notebook over MCP; give the user the code yourself"

    def progress(self, tool_item: str, title: str, cancelled: threading.Event) -> McpProgress:
        return McpProgress(self.link, title, cancelled)

    def notice(self, text: str) -> None:
        self.notices.append(text)

    def error(self, text: str) -> None:
        self.notices.append(text)

    def table(self, title: str, frame: "pd.DataFrame") -> None:
        pass  # the rows are in the tool's result already

    # The chat's streaming calls: only the agent loop makes them, and it does not run here.
    def user(self, text: str) -> None:
        pass

    def text_start(self) -> str:
        return ""

    def text_delta(self, item_id: str, text: str) -> None:
        pass

    def text_end(self, item_id: str, text: str) -> None:
        pass

    def tool_start(self, name: str, args: dict[str, Any]) -> str:
        return name

    def tool_end(self, item_id: str, status: str, summary: str, seconds: float) -> None:
        pass

    def status(self, state: str, info: str) -> None:
        pass


@dataclass
class Reply:
    text: str
    is_error: bool = False


@dataclass(eq=False)  # kept in a set by identity
class Running:
    cancelled: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


class McpFace:
    """The project's toolbox and resources over one MCP server."""

    def __init__(self, project: "Project", box: Toolbox | None = None) -> None:
        self.project = project
        self.box = box or toolbox()
        self.proposals = Proposals()
        self.ask_timeout = ask_timeout_seconds()
        self._changes = threading.Lock()  # changes run one at a time, as in the chat
        self._running: set[Running] = set()
        self._running_lock = threading.Lock()
        self._conversation: str | None = None
        self._conversation_lock = threading.Lock()

    # MCP definitions ---------------------------------------------------------------------------------
    def tools(self) -> list[types.Tool]:
        found = [(t.definition(), t.changes) for t in self.box.tools.values()] + [(CONFIRM_DEFINITION, True)]
        return [types.Tool(name=d["name"], description=d["description"], input_schema=d["input_schema"],
                           annotations=types.ToolAnnotations(read_only_hint=not changes, destructive_hint=changes))
                for d, changes in found]

    def server(self) -> Server[Any]:
        async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
            return types.ListToolsResult(tools=self.tools())

        async def list_resources(ctx: Any, params: Any) -> types.ListResourcesResult:
            return types.ListResourcesResult(resources=[
                types.Resource(uri=uri, name=tool, description=text, mime_type="application/json")
                for uri, (text, tool, _) in RESOURCES.items()])

        async def list_templates(ctx: Any, params: Any) -> types.ListResourceTemplatesResult:
            return types.ListResourceTemplatesResult(resource_templates=[
                types.ResourceTemplate(uri_template=uri, name=tool, description=text, mime_type="application/json")
                for uri, (text, tool, _) in TEMPLATES.items()])

        return Server("keboola-nb", version=__version__, instructions=INSTRUCTIONS, on_list_tools=list_tools,
                      on_call_tool=self._call_tool, on_list_resources=list_resources,
                      on_list_resource_templates=list_templates, on_read_resource=self._read_resource)

    # handlers ------------------------------------------------------------------------------------------
    async def _call_tool(self, ctx: ServerRequestContext[Any],
                         params: types.CallToolRequestParams) -> types.CallToolResult:
        if params.name != CONFIRM_TOOL and params.name not in self.box:
            raise MCPError(types.INVALID_PARAMS, f"there is no tool named {redact(params.name)!r}; the tools are "
                                                 f"{', '.join([*self.box.tools, CONFIRM_TOOL])}")
        reply = await self._in_thread(partial(self._call, Link.of(ctx), params.name, dict(params.arguments or {})))
        return types.CallToolResult(content=[types.TextContent(type="text", text=reply.text)], is_error=reply.is_error)

    async def _read_resource(self, ctx: ServerRequestContext[Any],
                             params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        uri = str(params.uri)
        tool, arguments = self._resource(uri)
        reply = await self._in_thread(partial(self._read, Link.of(ctx), tool, arguments))
        if reply.is_error:
            raise MCPError(types.INVALID_PARAMS, f"{uri}: {reply.text}")
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=uri, mime_type="application/json", text=reply.text)])

    def _resource(self, uri: str) -> tuple[str, dict[str, Any]]:
        if uri in RESOURCES:
            _, tool, arguments = RESOURCES[uri]
            return tool, dict(arguments)
        for template, (_, tool, argument) in TEMPLATES.items():
            prefix = template.split("{", 1)[0]
            if uri.startswith(prefix) and uri[len(prefix):] and "/" not in uri[len(prefix):]:
                return tool, {argument: unquote(uri[len(prefix):])}
        known = ", ".join([*RESOURCES, *TEMPLATES])
        raise MCPError(types.INVALID_PARAMS, f"there is no resource {redact(uri)!r}; resources: {known}")

    async def _in_thread(self, work: Any) -> Reply:
        """Tools block (confirmations, runs): each call runs in a worker thread; a cancelled request or a closed
        connection stops it the way the chat's Stop does."""
        running = Running()
        with self._running_lock:
            self._running.add(running)

        def run() -> Reply:
            try:
                return work(running.cancelled)
            finally:
                with self._running_lock:
                    self._running.discard(running)
                running.done.set()

        try:
            return await anyio.to_thread.run_sync(run, abandon_on_cancel=True)
        except anyio.get_cancelled_exc_class():
            running.cancelled.set()
            raise

    # tool calls (worker threads) -----------------------------------------------------------------------
    def _call(self, link: Link, name: str, arguments: dict[str, Any], cancelled: threading.Event) -> Reply:
        started = time.perf_counter()
        clean, caught = guard_arguments(arguments, "mcp")
        if caught:
            stored = "; ".join(f"the {c.what} was stored on this machine as {c.reference}" for c in caught)
            reply = Reply(f"Not run: {stored} (outside the project; only the reference is kept). Call {name} again "
                          f"with the references, e.g. these arguments: {json.dumps(clean, ensure_ascii=False)}", True)
        elif name == CONFIRM_TOOL:
            reply = self._confirm(link, clean, cancelled)
        else:
            reply = self._run(link, name, clean, cancelled)
        self.project.conversations.record_tool(self._conversation_id(link), "", name, clean, reply.text,
                                               reply.is_error, time.perf_counter() - started)
        return reply

    def _confirm(self, link: Link, arguments: dict[str, Any], cancelled: threading.Event) -> Reply:
        proposal_id = arguments.get("proposal_id")
        if not isinstance(proposal_id, str) or set(arguments) != {"proposal_id"}:
            return Reply(f"invalid arguments for {CONFIRM_TOOL}: it takes one argument, proposal_id (a string)", True)
        try:
            pending = self.proposals.take(proposal_id)
        except KeboolaError as e:
            return Reply(str(e), True)
        return self._run(link, pending.tool, pending.arguments, cancelled, approved=pending)

    def _run(self, link: Link, name: str, arguments: dict[str, Any], cancelled: threading.Event,
             approved: Pending | None = None) -> Reply:
        view = McpView(link, self.proposals, name, arguments, approved, self.ask_timeout,
                       lambda: {c.id for c in self.project.configs.list()})
        ctx = ToolContext(self.project, view, self.project.conversations, self._conversation_id(link), name, cancelled)
        with self._changes if self.box[name].changes else nullcontext():
            outcome = self.box.call(ctx, name, arguments)
        notes = [redact(n) for n in view.notices]
        if view.pending is not None:
            pending = view.pending
            shown = {"done": False, "needs_confirmation": True, "proposal_id": pending.id,
                     "expires_in_minutes": round(self.proposals.ttl / 60), **pending.card,
                     "next": f"show this to the user; only if they agree call {CONFIRM_TOOL} with this proposal_id"}
            if view.preview is not None:
                shown["preview"] = view.preview
            if notes:
                shown["notes"] = notes
            return Reply(json.dumps(shown, ensure_ascii=False, default=str)[:MAX_RESULT_CHARS])
        text = outcome.content if not notes else outcome.content + "\n" + "\n".join(notes)
        return Reply(text, outcome.is_error)

    def _read(self, link: Link, tool: str, arguments: dict[str, Any], cancelled: threading.Event) -> Reply:
        view = McpView(link, self.proposals, tool, arguments)
        ctx = ToolContext(self.project, view, self.project.conversations, "", tool, cancelled)
        outcome = self.box.call(ctx, tool, arguments)
        return Reply(outcome.content, outcome.is_error)

    def _conversation_id(self, link: Link) -> str:
        """One conversation per server process: drafts and tool calls are kept as the chat keeps them."""
        with self._conversation_lock:
            if self._conversation is None:
                params = link.session.client_params
                client = params.client_info.name if params is not None else "an MCP client"
                self._conversation = self.project.conversations.create(f"MCP: {client}")
            return self._conversation

    # serving ---------------------------------------------------------------------------------------------
    async def stop_running(self) -> None:
        """Stop the calls still running (the client is gone) and wait for them to roll back."""
        with self._running_lock:
            running = list(self._running)
        for r in running:
            r.cancelled.set()

        def wait() -> None:
            deadline = time.monotonic() + STOP_WAIT_S
            for r in running:
                r.done.wait(max(0.0, deadline - time.monotonic()))

        await anyio.to_thread.run_sync(wait)

    async def serve_stdio(self) -> None:
        server = self.server()
        try:
            async with stdio_server() as (read, write):
                await server.run(read, write, server.create_initialization_options())
        finally:
            with anyio.CancelScope(shield=True):
                await self.stop_running()

    async def serve_http(self, host: str, port: int) -> None:
        import uvicorn

        # Loopback only; the SDK turns on DNS-rebinding protection for loopback hosts.
        app = self.server().streamable_http_app(host=host)
        try:
            await uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning")).serve()
        finally:
            with anyio.CancelScope(shield=True):
                await self.stop_running()


def serve(project: "Project", transport: str = "stdio", host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve the project until the client disconnects (stdio) or the process is stopped (HTTP)."""
    face = McpFace(project)
    if transport == "stdio":
        anyio.run(face.serve_stdio)
        return
    if host not in LOOPBACK:
        raise KeboolaError(f"the MCP server listens on loopback only, not on {host!r}",
                           fix="use --host 127.0.0.1 (the default); the server has no authentication")
    anyio.run(partial(face.serve_http, host, port))
