"""Slash commands in the chat: the same tools, called directly, with no model and no API key.

The user typing a command is the confirmation, so proposals are accepted as they are.
"""

from __future__ import annotations

import json
import shlex
import threading
from typing import TYPE_CHECKING, Any

from ..connectors import parse_connection_url, redact_url
from ..errors import KeboolaError
from ..store.secrets import redact_all, store_secret
from .context import Decision, Proposal, ToolContext, View
from .secret_guard import mask

if TYPE_CHECKING:
    from ..project import Project
    from .agent import Agent

# command: (tool, positional argument names, usage)
COMMANDS: dict[str, tuple[str, list[str], str]] = {
    "connections": ("list_connections", [], "/connections"),
    "connect": ("add_connection", ["name", "url"], "/connect NAME postgresql|mysql://user[:password]@host:port/db"),
    "test": ("test_connection", ["name"], "/test CONNECTION"),
    "tables": ("list_tables", ["connection", "schema_name"], "/tables CONNECTION [SCHEMA]"),
    "describe": ("describe_table", ["connection", "table"], "/describe CONNECTION SCHEMA.TABLE"),
    "preview": ("preview_table", ["connection", "table", "limit"], "/preview CONNECTION SCHEMA.TABLE [ROWS]"),
    "configs": ("list_configurations", [], "/configs"),
    "run": ("run_configuration", ["name"], "/run CONFIGURATION"),
    "storage": ("storage_tables", [], "/storage"),
    "query": ("query_storage", ["sql"], "/query SELECT ..."),
    "jobs": ("jobs", ["job_id"], "/jobs [JOB_ID]"),
}


class _Accepting:
    """A View whose proposals are accepted: the command itself was the user's decision."""

    def __init__(self, view: View) -> None:
        self._view = view

    def confirm(self, proposal: Proposal, cancelled: threading.Event) -> Decision:
        return Decision(True)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._view, name)


def help_text() -> str:
    lines = ["Commands (no API key needed):", ""]
    lines += [f"- `{usage}`" for _, _, usage in COMMANDS.values()]
    lines += ["- `/help`", "", "Anything else you type goes to Claude when ANTHROPIC_API_KEY is set."]
    return "\n".join(lines)


def run_slash(project: "Project", view: View, text: str, agent: "Agent") -> None:
    """Run a slash command; Stop reaches it through the agent's cancel flag."""
    from .agent import toolbox

    name, _, rest = text[1:].partition(" ")
    arguments: dict[str, Any]
    if name == "connect":
        arguments, shown = _connect_arguments(rest)
    else:
        shown = mask(text)  # the panel's items are saved in the notebook: a mistyped command keeps no secret
    view.user(shown)
    if name in ("help", ""):
        view.notice(help_text())
        return
    if name not in COMMANDS:
        view.error(f"unknown command /{name}. Type /help for the list.")
        return
    tool_name, positional, usage = COMMANDS[name]
    if name != "connect":
        arguments = _arguments(name, rest, positional, usage)
    box = toolbox()
    item = view.tool_start(tool_name, redact_all(arguments))
    ctx = ToolContext(project, _Accepting(view), agent.store, agent.conversation_id or "", item,  # type: ignore[arg-type]
                      agent.cancelled)
    result = box.call(ctx, tool_name, arguments)
    view.tool_end(item, "error" if result.is_error else "ok", result.summary, result.seconds)
    if result.is_error:
        view.error(result.content)
        return
    _show(view, tool_name, json.loads(result.content))


def _arguments(name: str, rest: str, positional: list[str], usage: str) -> dict[str, Any]:
    if name == "query":
        if not rest.strip():
            raise KeboolaError("/query needs a SELECT", fix=f"usage: {usage}")
        return {"sql": rest.strip()}
    try:
        words = shlex.split(rest)
    except ValueError as e:
        raise KeboolaError(f"cannot read the arguments: {e}", fix=f"usage: {usage}") from None
    required = [p for p in positional if p not in ("schema_name", "limit", "job_id")]
    if len(words) < len(required) or len(words) > len(positional):
        raise KeboolaError(f"/{name} takes {' '.join(positional) or 'no arguments'}", fix=f"usage: {usage}")
    arguments: dict[str, Any] = dict(zip(positional, words))
    for number in ("limit", "job_id"):
        if number in arguments:
            try:
                arguments[number] = int(arguments[number])
            except ValueError:
                raise KeboolaError(f"{number} must be a number, not {arguments[number]!r}") from None
    return arguments


def _connect_arguments(rest: str) -> tuple[dict[str, Any], str]:
    """A password in the URL is stored locally right away; only the redacted command is shown."""
    words = rest.split()
    if len(words) != 2:
        raise KeboolaError("/connect takes a name and a URL", fix=f"usage: {COMMANDS['connect'][2]}")
    name, url = words
    _, _, password = parse_connection_url(url)
    arguments: dict[str, Any] = {"name": name, "url": redact_url(url).replace(":***@", "@")}
    if password:
        arguments["password_reference"] = str(store_secret(f"{name}-password", password))
    return arguments, f"/connect {name} {redact_url(url)}"


def _show(view: View, tool_name: str, value: Any) -> None:
    import pandas as pd

    if tool_name in ("preview_table", "query_storage"):
        return  # these tools show their rows themselves
    if isinstance(value, dict) and "columns" in value and "rows" in value:
        view.table(tool_name.replace("_", " "), pd.DataFrame(value["rows"], columns=value["columns"]))
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        view.table(tool_name.replace("_", " "), pd.DataFrame(value))
    elif isinstance(value, list):
        view.notice("(nothing yet)")
    else:
        shown = {k: v for k, v in value.items() if k != "summary"} if isinstance(value, dict) else value
        view.notice(f"```json\n{json.dumps(shown, indent=2, default=str)}\n```")
