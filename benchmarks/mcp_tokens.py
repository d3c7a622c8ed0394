"""Tokens an MCP client's model pays for our server's tool definitions, next to Keboola's MCP server.

    python benchmarks/mcp_tokens.py

The definitions are taken from the wire: `python -m keboola_nb.cli mcp` on a fresh project, listed by the `mcp`
SDK's own client over stdio. Each tool becomes {name, description, input_schema}, as `anthropic.lib.tools.mcp`
hands MCP tools to the Messages API, and is counted the way benchmarks/assistant.py counts the chat's toolbox:
`count_tokens` with the tools minus the same request without them, on the local stand-in (characters / 4 of each
block's JSON) and, when ANTHROPIC_API_KEY is set, on the real API. The server's instructions (clients put them in
the system prompt) are counted the same way. Anchor: Keboola's own MCP server, ~41,000 tokens (47 tools, ~164,000
characters) with every request. Writes benchmarks/results/mcp_tokens.json.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from assistant import ANCHOR_MCP_CHARS, ANCHOR_MCP_TOKENS  # Keboola's official MCP server (keboola/mcp-server)
from scenarios import ROOT, WORK, standin_api, write_results


def listed() -> tuple[list[dict[str, Any]], str, int]:
    """Our tools as the client received them, the server's instructions, and the tools/list result's size."""
    import anyio
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    import keboola_nb as kb

    kb.Project.open(WORK / "mcp-project").close()
    params = StdioServerParameters(command=sys.executable, args=["-m", "keboola_nb.cli", "mcp", "--project",
                                                                 str(WORK / "mcp-project")],
                                   env={"PYTHONPATH": str(ROOT), "KEBOOLA_NB_SECRETS_DIR": str(WORK / "secrets")})

    async def session() -> tuple[list[dict[str, Any]], str, int]:
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as client:
                init = await client.initialize()
                result = await client.list_tools()
        wire = result.model_dump_json(by_alias=True, exclude_none=True)
        tools = [{"name": t.name, "description": t.description, "input_schema": t.input_schema} for t in result.tools]
        return tools, init.instructions or "", len(wire)

    return anyio.run(session)


def count(client: Any, model: str, tools: list[dict[str, Any]], system: str | None) -> int:
    messages = [{"role": "user", "content": "hi"}]
    extra = {"system": system} if system else {}
    full = client.messages.count_tokens(model=model, tools=tools, messages=messages, **extra)
    bare = client.messages.count_tokens(model=model, messages=messages)
    return full.input_tokens - bare.input_tokens


def main() -> None:
    import anthropic

    from keboola_nb.ai.agent import toolbox
    from keboola_nb.ai.models import catalog

    tools, instructions, wire_chars = listed()
    model = catalog()["default"]
    chat = [{k: d[k] for k in ("name", "description", "input_schema")} for d in toolbox().definitions()]
    with standin_api() as api:
        standin = anthropic.Anthropic(api_key="stand-in-key", base_url=api.base_url)
        estimate = count(standin, model, tools, None)
        with_instructions = count(standin, model, tools, instructions)
        chat_estimate = count(standin, model, chat, None)
    real, note = None, "ANTHROPIC_API_KEY is not set: real count_tokens not run"
    if os.environ.get("ANTHROPIC_API_KEY"):
        try:
            real = count(anthropic.Anthropic(), model, tools, None)
            note = f"count_tokens on the real API, model {model}"
        except Exception as e:  # no network, an unknown model name, ...
            note = f"real count_tokens failed: {type(e).__name__}: {e}"
    described = sum(len(t["name"]) + len(t["description"]) + len(json.dumps(t["input_schema"])) for t in tools)
    results = {
        "tools": len(tools),
        "tool_chars_names_descriptions_schemas": described,
        "tools_list_result_chars": wire_chars,
        "standin_estimate_tools": estimate,
        "standin_estimate_tools_and_instructions": with_instructions,
        "standin_estimate_chat_toolbox": chat_estimate,
        "standin_method": "characters / 4 of each block's JSON (the stand-in's count_tokens)",
        "real_api": real,
        "real_api_note": note,
        "anchor_keboola_mcp_tokens": ANCHOR_MCP_TOKENS,
        "anchor_keboola_mcp_chars": ANCHOR_MCP_CHARS,
        "share_of_anchor": round(with_instructions / ANCHOR_MCP_TOKENS, 3),
    }
    path = write_results("mcp_tokens", results)
    print(f"{len(tools)} tools over MCP: {estimate:,} tokens (stand-in estimate; {with_instructions:,} with the "
          f"server's instructions; the chat's toolbox alone {chat_estimate:,})")
    print(f"real count_tokens: {real if real is not None else '-'} ({note})")
    print(f"Keboola's MCP server: ~{ANCHOR_MCP_TOKENS:,} tokens -> ours is {results['share_of_anchor']:.1%} of it")
    print(f"written: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
