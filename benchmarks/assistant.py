"""The assistant's cost and speed, against the local stand-in Messages API (no API key needed).

    python benchmarks/assistant.py [--sends 40]

Measures, side by side with the targets:
- tokens of tool definitions + system prompt sent with every request: the stand-in's estimate and, when
  ANTHROPIC_API_KEY is set, the real API's `count_tokens` (anchor: Keboola's MCP server sends ~41,000);
- the share of prompt tokens read from the prompt cache over a scripted 10-message conversation on the demo
  shop (real tools, real results), with model routing and with one fixed model;
- the extension's own time per model call: the agent against bare `client.messages.stream` calls with the
  same request bodies on the same stand-in (tool time taken out);
- `%load_ext keboola_nb` in a fresh IPython, and whether it imported `anthropic`.
Writes benchmarks/results/assistant.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from scenarios import (ROOT, WORK, DemoShop, NullView, Play, Seen, Text, ToolUse, Turn, cache_share, percentile,
                       standin_api, write_results)

ANCHOR_MCP_TOKENS = 41_000  # Keboola's official MCP server: 47 tools, ~164,000 characters (performance-anchors.md)
ANCHOR_MCP_CHARS = 164_000
PANEL_BENCHMARK = ("benchmarks/panel_latency.py (JupyterLab + Chromium: a text delta in the kernel to its text in "
                   "the panel's DOM; results in benchmarks/results/panel_latency.json)")

LOAD_EXT = """
import json, sys, time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
started = time.perf_counter()
shell.run_line_magic("load_ext", "keboola_nb")
print(json.dumps({"seconds": time.perf_counter() - started, "anthropic_imported": "anthropic" in sys.modules}))
"""


# --- 1. Tokens of the fixed prefix --------------------------------------------------------------------


def prefix_tokens() -> dict[str, Any]:
    """Tokens of tools + system: a request with them minus the same request without them."""
    import anthropic

    from keboola_nb.ai.agent import SYSTEM_BLOCKS, toolbox
    from keboola_nb.ai.models import catalog

    tools, model = toolbox().definitions(), catalog()["default"]
    real_key = os.environ.get("ANTHROPIC_API_KEY")
    messages = [{"role": "user", "content": "hi"}]

    def count(client: Any) -> int:
        full = client.messages.count_tokens(model=model, system=SYSTEM_BLOCKS, tools=tools, messages=messages)
        bare = client.messages.count_tokens(model=model, messages=messages)
        return full.input_tokens - bare.input_tokens

    with standin_api() as api:
        estimate = count(anthropic.Anthropic(api_key="stand-in-key", base_url=api.base_url))
    real, note = None, "ANTHROPIC_API_KEY is not set: real count_tokens not run"
    if real_key:
        try:
            real, note = count(anthropic.Anthropic(api_key=real_key)), f"count_tokens on the real API, model {model}"
        except Exception as e:  # no network, an unknown model name, ...
            note = f"real count_tokens failed: {type(e).__name__}: {e}"
    described = sum(len(t["name"]) + len(t["description"]) + len(json.dumps(t["input_schema"])) for t in tools)
    return {"tools": len(tools), "tool_chars_names_descriptions_schemas": described,
            "system_chars": len(SYSTEM_BLOCKS[0]["text"]), "standin_estimate": estimate,
            "standin_method": "characters / 4 of each block's JSON", "real_api": real, "real_api_note": note,
            "target": "< 6000", "anchor_keboola_mcp_tokens": ANCHOR_MCP_TOKENS,
            "anchor_keboola_mcp_chars": ANCHOR_MCP_CHARS}


# --- 2. Prompt cache over a 10-message conversation ---------------------------------------------------

MESSAGES = [
    "Which data sources can I use in this project?",
    "What tables does the demo database have?",
    "Show me the customers table: its columns and a few rows.",
    "I need customers and orders in storage; orders should load incrementally by updated_at.",
    "yes",
    "How many orders do we have per customer country?",
    "Put that query in a notebook cell so I can reuse it.",
    "Did the last run fail anywhere? Show me its log.",
    "Add the products table to that extractor as well.",
    "ok",
]

COUNTRY_SQL = """SELECT c.country, count(*) AS orders, sum(o.total) AS revenue
FROM in.c-shop.orders o JOIN in.c-shop.customers c ON c.id = o.customer_id
GROUP BY c.country ORDER BY orders DESC"""


def _markdown(result: dict[str, Any], limit: int = 12) -> str:
    head = "| " + " | ".join(result["columns"]) + " |\n|" + "---|" * len(result["columns"]) + "\n"
    return head + "\n".join("| " + " | ".join(map(str, row)) + " |" for row in result["rows"][:limit])


def conversation() -> Any:
    """The model's side of MESSAGES: 1-2 tool calls per message, answers written from the real results."""
    seen: Seen = yield Turn([Text("Let me check what is connected."), ToolUse("list_connections", {})])
    conns = seen.ok("list_connections")
    seen = yield Turn([Text(f"You have {len(conns)} connection: **{conns[0]['name']}** ({conns[0]['kind']}, "
                            f"database {conns[0]['target'].rsplit('/', 1)[-1]}). I can list its tables, preview "
                            "data or set up an extractor into the project's storage.")])
    seen = yield Turn([ToolUse("list_tables", {"connection": "demo"})])
    tables = seen.ok("list_tables")
    seen = yield Turn([Text("The demo database is a small shop:\n\n" + _markdown(tables) +
                            "\n\nRow counts are catalog estimates. `orders` and `order_items` grow over time, so "
                            "they are good candidates for incremental loading by `updated_at`.")])
    seen = yield Turn([Text("Here are its columns and the first rows."),
                       ToolUse("describe_table", {"connection": "demo", "table": "public.customers"}),
                       ToolUse("preview_table", {"connection": "demo", "table": "public.customers", "limit": 5})])
    columns = seen.ok("describe_table")
    names = ", ".join(f"`{row[0]}` ({row[1]})" for row in columns["rows"])
    seen = yield Turn([Text(f"`public.customers` has {len(columns['rows'])} columns: {names}. The primary key is "
                            "`id`; `updated_at` changes when a customer is edited, so it can drive incremental "
                            "loads. The preview above shows the first five customers.")])
    seen = yield Turn([Text("Let me check the extractor's options."), ToolUse("component_help", {})])
    seen.ok("component_help")
    tables_v1 = [{"table": "public.customers"},
                 {"table": "public.orders", "incremental_fetching_column": "updated_at"}]
    seen = yield Turn([Text("Here is the extractor: customers as a full load, orders incremental by updated_at."),
                       ToolUse("create_extractor", {"name": "shop", "connection": "demo", "tables": tables_v1})])
    created = seen.ok("create_extractor")
    seen = yield Turn([Text(f"Created **{created['name']}** (version {created['version']}). It writes "
                            f"{', '.join(created['output_tables'])}. Shall I run it now?")])
    seen = yield Turn([ToolUse("run_configuration", {"name": "shop"})])
    job = seen.ok("run_configuration")
    lines = "\n".join(f"- `{t['table_id']}`: {t['rows']:,} rows" for t in job["tables"])
    seen = yield Turn([Text(f"Job {job['job_id']} finished ({job['status']}):\n{lines}\n\nThe next run of orders "
                            "reads only rows changed since this one.")])
    seen = yield Turn([ToolUse("query_storage", {"sql": COUNTRY_SQL, "limit": 20})])
    counted = seen.ok("query_storage")
    seen = yield Turn([Text("Orders and revenue per customer country:\n\n" + _markdown(counted) +
                            "\n\nRevenue sums `total` in each order's own currency.")])
    seen = yield Turn([ToolUse("write_code_cell", {"code": COUNTRY_SQL, "language": "sql"})])
    seen.ok("write_code_cell")
    seen = yield Turn([Text("It is in a new `%%keboola query` cell below; run it to get the same table.")])
    seen = yield Turn([Text("Let me look at the recent runs."), ToolUse("jobs", {"limit": 5})])
    recent = seen.ok("jobs")
    seen = yield Turn([ToolUse("jobs", {"job_id": recent[0]["id"]})])
    detail = seen.ok("jobs")
    seen = yield Turn([Text(f"No: job {detail['id']} succeeded. Its log:\n\n```\n" + "\n".join(detail["log"]) +
                            "\n```")])
    seen = yield Turn([ToolUse("get_configuration", {"name": "shop"})])
    seen.ok("get_configuration")
    tables_v2 = tables_v1 + [{"table": "public.products"}]
    seen = yield Turn([Text("I'll add products as a full load; the other two rows stay as they are."),
                       ToolUse("create_extractor", {"name": "shop", "connection": "demo", "tables": tables_v2,
                                                    "replace": True})])
    updated = seen.ok("create_extractor")
    seen = yield Turn([Text(f"Saved version {updated['version']} of **shop** with products. Run it now?")])
    seen = yield Turn([ToolUse("run_configuration", {"name": "shop"})])
    job = seen.ok("run_configuration")
    lines = "\n".join(f"- `{t['table_id']}`: {t['rows']:,} rows" for t in job["tables"])
    yield Turn([Text(f"Job {job['job_id']}: {job['status']}.\n{lines}")])


def cache_run(shop: DemoShop, name: str, model: str | None) -> dict[str, Any]:
    """The 10 messages in a new project and a cold stand-in cache; usage per call as the SDK reported it."""
    from keboola_nb.ai.agent import Agent

    project = shop.project(name)
    try:
        with standin_api() as api:
            api.responder = play = Play(conversation)
            agent = Agent(project, NullView(), model=model)
            replies = [agent.send(text) for text in MESSAGES]
            assert play.error is None, play.error
            assert all(r.stopped_by == "end_turn" for r in replies), [r.stopped_by for r in replies]
            turns = agent.store.turns(agent.conversation_id).to_dict("records")
            tool_errors = int(agent.store.tool_calls(agent.conversation_id)["is_error"].sum())
    finally:
        project.close()
    calls = []
    messages = [i for i, reply in enumerate(replies, 1) for _ in range(reply.calls)]  # the message of each call
    for index, (turn, message) in enumerate(zip(turns, messages, strict=True), 1):
        usage = {"input": int(turn["input_tokens"]), "cache_read": int(turn["cache_read"]),
                 "cache_write": int(turn["cache_write"])}
        calls.append({"call": index, "message": message, "model": turn["model"], **usage,
                      "output": int(turn["output_tokens"]), "share": cache_share([usage]),
                      "cost_usd": float(turn["cost_usd"])})
    later = calls[1:]
    by_model: dict[str, list[dict[str, Any]]] = {}
    for call in later:
        by_model.setdefault(call["model"], []).append(call)
    return {"model": model or "routed", "user_messages": len(MESSAGES), "model_calls": len(calls),
            "tool_errors": tool_errors, "share_from_call_2": cache_share(later),
            "share_by_model_from_call_2": {m: cache_share(c) for m, c in by_model.items()},
            "cost_usd": sum(c["cost_usd"] for c in calls),
            "cost_by_model_usd": {m: sum(c["cost_usd"] for c in calls if c["model"] == m) for m in
                                  dict.fromkeys(c["model"] for c in calls)},
            "calls": calls}


# --- 3. The extension's own time per model call -------------------------------------------------------

FIRST_TEXT = "Let me look at the project's connections before I answer that. " * 2
SMALL_TEXT = "A short answer of ninety-six characters: eight text deltas, fifteen SSE events in the stream...."
ANSWER_TEXT = ("There are no connections in this project yet. Add one with `%keboola connect NAME URL`, or "
               "start the demo shop with `%keboola demo`; then I can list its tables and set up an extractor. ") * 3


def _segments(started: float, ended: float, windows: list[tuple[float, float]]) -> list[float]:
    """Wall time outside the tool windows, one segment per model call (each batch of tools splits two calls)."""
    merged: list[list[float]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    edges = [started] + [t for window in merged for t in window] + [ended]
    return [edges[i + 1] - edges[i] for i in range(0, len(edges), 2)]


def _bare(client: Any, body: dict[str, Any]) -> float:
    started = time.perf_counter()
    with client.messages.stream(**{k: v for k, v in body.items() if k != "stream"}) as stream:
        for _ in stream:
            pass
        stream.get_final_message()
    return time.perf_counter() - started


def overhead(sends: int, warmup: int = 3) -> dict[str, Any]:
    """Each send: one tool call (list_connections on a project with no source) and one answer, i.e. two model
    calls. Right after it, the same two request bodies go through a bare `messages.stream` on the same client."""
    import keboola_nb as kb
    from keboola_nb.ai.agent import Agent
    from keboola_nb.ai.client import get_client

    project = kb.Project.open(WORK / "overhead")
    agent_ms, bare_ms, diff_ms = [], [], []
    try:
        with standin_api() as api:
            view = NullView()
            agent = Agent(project, view)
            client = get_client()
            for i in range(warmup + sends):
                replies = [Turn([Text(FIRST_TEXT), ToolUse("list_connections", {})]), Turn([Text(ANSWER_TEXT)])]
                api.push(*replies)
                first, windows = len(api.requests), len(view.tool_windows)
                started = time.perf_counter()
                reply = agent.send(f"Which sources do I have? (question {i + 1})")
                ended = time.perf_counter()
                assert reply.calls == 2 and reply.stopped_by == "end_turn", reply
                segments = _segments(started, ended, view.tool_windows[windows:])
                bodies = api.requests[first:]
                assert len(segments) == len(bodies) == 2
                api.push(*replies)
                bare = [_bare(client, body) for body in bodies]
                if i >= warmup:
                    agent_ms += [s * 1000 for s in segments]
                    bare_ms += [b * 1000 for b in bare]
                    diff_ms += [(s - b) * 1000 for s, b in zip(segments, bare)]
            prompt_tokens = api.usages[-1]
            small = []  # the anchor's kind of round trip: a tiny request, a ~15-event stream
            for _ in range(sends):
                api.push(Turn([Text(SMALL_TEXT)]))
                small.append(1000 * _bare(client, {"model": bodies[0]["model"], "max_tokens": 64,
                                                   "messages": [{"role": "user", "content": "hi"}]}))
    finally:
        project.close()
    return {"model_calls": len(diff_ms), "overhead_median_ms": statistics.median(diff_ms),
            "overhead_p90_ms": percentile(diff_ms, 90), "agent_call_median_ms": statistics.median(agent_ms),
            "bare_round_trip_median_ms": statistics.median(bare_ms), "bare_round_trip_p90_ms": percentile(bare_ms, 90),
            "bare_small_round_trip_median_ms": statistics.median(small),
            "last_prompt_tokens": sum(prompt_tokens[k] for k in ("input_tokens", "cache_read_input_tokens",
                                                                  "cache_creation_input_tokens")),
            "target": "< 10 ms median", "anchor_standin_round_trip_ms": "3-5"}


# --- 4. %load_ext ------------------------------------------------------------------------------------


def load_ext(repeat: int = 5) -> dict[str, Any]:
    runs = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's keboola_nb, as in the other measurements
    for _ in range(repeat):
        done = subprocess.run([sys.executable, "-c", LOAD_EXT], capture_output=True, text=True, check=True, env=env)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {"seconds_median": statistics.median(r["seconds"] for r in runs),
            "anthropic_imported": any(r["anthropic_imported"] for r in runs), "runs": runs, "target": "< 0.3 s"}


# --- Report ------------------------------------------------------------------------------------------


def report(r: dict[str, Any]) -> None:
    p, o, e = r["prefix_tokens"], r["overhead"], r["load_ext"]
    routed, fixed = r["cache"]["routed"], r["cache"]["fixed_model"]
    real = f"{p['real_api']:,}" if p["real_api"] is not None else "not run (no key)"
    rows = [
        ("tools + system tokens (stand-in estimate)", "< 6,000", f"{p['standin_estimate']:,}",
         p["standin_estimate"] < 6000),
        ("tools + system tokens (real count_tokens)", "< 6,000", real,
         None if p["real_api"] is None else p["real_api"] < 6000),
        ("cache read share from call 2, fixed model", ">= 90%", f"{fixed['share_from_call_2']:.1%}",
         fixed["share_from_call_2"] >= 0.9),
        ("cache read share from call 2, with routing", ">= 90%", f"{routed['share_from_call_2']:.1%}",
         routed["share_from_call_2"] >= 0.9),
        ("own overhead per model call, median", "< 10 ms", f"{o['overhead_median_ms']:.2f} ms",
         o["overhead_median_ms"] < 10),
        ("own overhead per model call, p90", "-", f"{o['overhead_p90_ms']:.2f} ms", None),
        ("bare round trip, same bodies, median", "-", f"{o['bare_round_trip_median_ms']:.2f} ms", None),
        ("bare round trip, tiny request, median", "3-5 ms (anchor)", f"{o['bare_small_round_trip_median_ms']:.2f} ms",
         None),
        ("%load_ext keboola_nb, median", "< 0.3 s", f"{e['seconds_median'] * 1000:.0f} ms", e["seconds_median"] < 0.3),
        ("anthropic imported by %load_ext", "no", "yes" if e["anthropic_imported"] else "no",
         not e["anthropic_imported"]),
        ("text delta -> panel", "-", "panel_latency.py", None),
    ]
    width = max(len(row[0]) for row in rows)
    print(f"\n{'metric':<{width}}  {'target':>16}  {'measured':>18}  ok")
    for name, target, measured, ok in rows:
        mark = "-" if ok is None else "yes" if ok else "NO"
        print(f"{name:<{width}}  {target:>16}  {measured:>18}  {mark}")
    print(f"\nanchor: Keboola's MCP server sends ~{ANCHOR_MCP_TOKENS:,} tokens of tool definitions with every request "
          f"(~{ANCHOR_MCP_CHARS:,} characters); ours: {p['tools']} tools, "
          f"{p['tool_chars_names_descriptions_schemas']:,} characters + a {p['system_chars']:,}-character "
          "system prompt.")
    print(f"cache (stand-in: caches are per model, prompts under {r['standin']['min_cache_tokens']:,} tokens are "
          "never cached):")
    for run in (fixed, routed):
        models = ", ".join(f"{m} {s:.1%}" for m, s in run["share_by_model_from_call_2"].items())
        costs = ", ".join(f"{m} ${c:.4f}" for m, c in run["cost_by_model_usd"].items())
        print(f"  {run['model']}: {run['model_calls']} calls for {run['user_messages']} messages, "
              f"share {run['share_from_call_2']:.1%} ({models}); ${run['cost_usd']:.4f} ({costs})")
    print("  per call (routed): " + " ".join(
        f"{c['call']}:{c['model'].split('-')[1][0]}{c['share']:.0%}" for c in routed["calls"]))
    print(f"overhead: {o['model_calls']} calls; agent call median {o['agent_call_median_ms']:.2f} ms vs bare "
          f"{o['bare_round_trip_median_ms']:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sends", type=int, default=40, help="user messages in the overhead run (2 model calls each)")
    args = parser.parse_args()

    import keboola_nb
    from keboola_nb.ai.models import catalog

    results: dict[str, Any] = {"keboola_nb": keboola_nb.__version__,
                               "standin": {"min_cache_tokens": 1024, "note": "usage from the stand-in's simulation"}}
    print("tokens of tools + system ...", flush=True)
    results["prefix_tokens"] = prefix_tokens()
    print("load_ext in fresh processes ...", flush=True)
    results["load_ext"] = load_ext()
    print(f"overhead per model call ({args.sends} messages) ...", flush=True)
    results["overhead"] = overhead(args.sends)
    print("starting the demo shop ...", flush=True)
    shop = DemoShop()
    try:
        print("10-message conversation, routed and with a fixed model ...", flush=True)
        results["cache"] = {"target": ">= 0.90 from the 2nd model call on",
                            "routed": cache_run(shop, "cache-routed", None),
                            "fixed_model": cache_run(shop, "cache-fixed", catalog()["default"])}
    finally:
        shop.stop()
    results["delta_to_panel_ms"] = None
    results["delta_to_panel_note"] = f"measured in a browser, not here: {PANEL_BENCHMARK}"
    path = write_results("assistant", results)
    report(results)
    print(f"\nwritten: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
