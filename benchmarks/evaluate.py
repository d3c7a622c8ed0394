"""Evaluation of the assistant on the seed scenarios, judged by what ends up in the project.

    python benchmarks/evaluate.py [--stand-in] [--only NAME ...]

Scenarios: a new user onboarding on PostgreSQL, the same task from a power user in one message, two tables
with incremental loading run twice, and error recovery (a wrong password; a misspelled table). Each one
passes only if the PROJECT is right afterwards: the configuration exists with the right rows, storage holds
the rows, the job succeeded. The model's words are not judged.

With ANTHROPIC_API_KEY set it talks to the real API: proposals are accepted and the password field is
answered as a user would. Without a key (or with --stand-in) it runs the same scenarios against the local
stand-in with a scripted model that plays a plausible tool sequence and branches on the real tool results;
that checks the tools and the loop end to end, not how well Claude does, and the output says so.
Writes benchmarks/results/evaluate.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from scenarios import ROOT, WORK, DemoShop, Play, Script, Seen, Text, ToolUse, Turn, standin_api, write_results

PASSWORD = "eval-Etl-7c31d9"  # the source's real password in the wrong-password scenario
PG_COMPONENT = "keboola.ex-db-pgsql"
NEW_ORDERS = 25  # rows added to the source between the two incremental runs


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class Context:
    """What a scenario's steps and checks work on."""

    project: Any
    database: str
    shop: Any  # the source server: DemoShop or PasswordSource (both have execute)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Step:
    # The first message is sent; the others only while the checks still fail (a user answering questions).
    messages: list[str]
    checks: Callable[[Context], list[Check]]
    before: Callable[[Context], None] | None = None


@dataclass
class Scenario:
    name: str
    title: str
    steps: list[Step]
    script: Script  # the stand-in's model
    source: str = "demo"  # or "password": a server that checks passwords


# --- Reading the project ---------------------------------------------------------------------------


def extractor_with(project: Any, tables: set[str]) -> Any:
    """The newest PostgreSQL extractor that has a row for each of `tables`, or None."""
    found = None
    for config in project.configs.list():
        names = {(r.configuration.get("parameters", {}).get("table") or {}).get("tableName") for r in config.rows}
        if config.component_id == PG_COMPONENT and tables <= names:
            found = config
    return found


def row_params(config: Any, table: str) -> dict[str, Any]:
    for row in config.rows:
        params = row.configuration.get("parameters", {})
        if (params.get("table") or {}).get("tableName") == table:
            return params
    return {}


def storage_rows(project: Any, table_id: str) -> int | None:
    from keboola_nb.storage.ids import TableId
    from keboola_nb.storage.storage import qualified

    try:
        return int(project.storage.query(f"SELECT count(*) AS n FROM {qualified(TableId.parse(table_id))}")["n"][0])
    except Exception:
        return None


def jobs_of(project: Any, config: Any) -> list[Any]:
    return sorted((j for j in project.jobs.recent(100) if j.config_id == config.id), key=lambda j: j.id)


def source_count(ctx: Context, table: str, where: str = "true", params: tuple[Any, ...] = ()) -> int:
    return int(ctx.shop.execute(f"SELECT count(*) FROM {table} WHERE {where}", ctx.database, params)[0][0])


def extracted(ctx: Context, tables: list[str], incremental: bool) -> list[Check]:
    """An extractor with these tables, all rows in storage, a successful job."""
    config = extractor_with(ctx.project, set(tables))
    if config is None:
        return [Check("extractor with " + ", ".join(tables), False, "no such configuration")]
    checks = [Check("extractor with " + ", ".join(tables), True, config.name)]
    for table in tables:
        params = row_params(config, table)
        if incremental:
            column = params.get("incrementalFetchingColumn")
            checks.append(Check(f"{table} incremental by updated_at", column == "updated_at", str(column)))
        want, have = source_count(ctx, table), storage_rows(ctx.project, params.get("outputTable", ""))
        checks.append(Check(f"storage {params.get('outputTable')}", have == want, f"{have} of {want} rows"))
    runs = jobs_of(ctx.project, config)
    last = runs[-1] if runs else None
    checks.append(Check("job succeeded", bool(last and last.status == "success"),
                        f"job {last.id}: {last.status} {last.error or ''}".strip() if last else "no job"))
    ctx.data["config"] = config
    return checks


def secret_kept(ctx: Context) -> Check:
    """The password is in no file of the project (conversation store included)."""
    hits = [str(p.relative_to(ctx.project.root)) for p in ctx.project.root.rglob("*")
            if p.is_file() and PASSWORD.encode() in p.read_bytes()]
    return Check("password in no project file", not hits, ", ".join(hits))


# --- 1. A new user ------------------------------------------------------------------------------------


def onboarding_model() -> Any:
    seen: Seen = yield Turn([Text("Let me see what is connected."), ToolUse("list_connections", {})])
    conns = [c for c in seen.ok("list_connections") if c["kind"] == "postgresql"]
    source = conns[0]["name"]
    seen = yield Turn([ToolUse("list_tables", {"connection": source})])
    tables = seen.ok("list_tables")
    schema, table = next(row[:2] for row in tables["rows"] if "customer" in row[1])
    name = f"{schema}.{table}"
    seen = yield Turn([Text(f"`{name}` holds your customers. A closer look:"),
                       ToolUse("describe_table", {"connection": source, "table": name}),
                       ToolUse("preview_table", {"connection": source, "table": name})])
    columns = [row[0] for row in seen.ok("describe_table")["rows"]]
    entry: dict[str, Any] = {"table": name}
    if "updated_at" in columns:
        entry["incremental_fetching_column"] = "updated_at"
    seen = yield Turn([Text(f"Here is an extractor for `{name}`; later runs read only changed rows."),
                       ToolUse("create_extractor", {"name": f"{source}-customers", "connection": source,
                                                    "tables": [entry]})])
    created = seen.ok("create_extractor")
    seen = yield Turn([Text(f"Created **{created['name']}**; it writes {created['output_tables'][0]}. "
                            "Shall I run it now?")])
    seen = yield Turn([ToolUse("run_configuration", {"name": created["name"]})])
    job = seen.ok("run_configuration")
    yield Turn([Text(f"Done: {job['tables'][0]['rows']:,} customers are in `{job['tables'][0]['table_id']}`.")])


ONBOARDING = Scenario(
    "onboarding", "new user: customer data from PostgreSQL",
    [Step(["I need to extract customer data from our PostgreSQL database", "Yes, go ahead.", "Yes, run it.",
           "Yes, please do that."],
          lambda ctx: extracted(ctx, ["customers"], incremental=False))],
    onboarding_model)


# --- 2. A power user ----------------------------------------------------------------------------------


def power_model() -> Any:
    entry = {"table": "public.customers", "incremental_fetching_column": "updated_at", "primary_key": ["id"]}
    seen: Seen = yield Turn([ToolUse("create_extractor", {"name": "shop-customers", "connection": "demo",
                                                          "tables": [entry]})])
    created = seen.ok("create_extractor")
    seen = yield Turn([ToolUse("run_configuration", {"name": created["name"]})])
    job = seen.ok("run_configuration")
    yield Turn([Text(f"Created and ran **{created['name']}**: {job['tables'][0]['rows']:,} rows in "
                     f"`{job['tables'][0]['table_id']}`.")])


def power_checks(ctx: Context) -> list[Check]:
    checks = extracted(ctx, ["customers"], incremental=True)
    config = ctx.data.get("config")
    if config is not None:
        checks.append(Check("named shop-customers", config.name == "shop-customers", config.name))
        checks.append(Check("primary key id", row_params(config, "customers").get("primaryKey") == ["id"],
                            str(row_params(config, "customers").get("primaryKey"))))
    return checks


POWER = Scenario(
    "power-user", "power user: one precise message",
    [Step([("Create an extractor named shop-customers on the demo connection for public.customers, incremental by "
            "updated_at with primary key id, and run it. No questions, please.")], power_checks)],
    power_model)


# --- 3. Two tables, incremental, run twice ------------------------------------------------------------

ADD_ROWS = f"""
INSERT INTO orders (id, customer_id, status, ordered_at, currency, total, updated_at)
SELECT 20000 + i, 1 + i * 13, 'paid', now(), 'EUR', 19.98, now() FROM generate_series(1, {NEW_ORDERS}) i;
INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price, updated_at)
SELECT 20000 + i, n, 1 + (i * 7 + n) % 200, 1, 9.99, now()
  FROM generate_series(1, {NEW_ORDERS}) i CROSS JOIN generate_series(1, 2) n;
"""


def incremental_model() -> Any:
    tables = [{"table": f"public.{t}", "incremental_fetching_column": "updated_at"} for t in ("orders", "order_items")]
    create = ToolUse("create_extractor", {"name": "shop-sales", "connection": "demo", "tables": tables})
    seen: Seen = yield Turn([Text("Both tables have `updated_at`, so both load incrementally."), create])
    created = seen.ok("create_extractor")
    seen = yield Turn([ToolUse("run_configuration", {"name": created["name"]})])
    job = seen.ok("run_configuration")
    seen = yield Turn([Text("First run: " + ", ".join(f"{t['table_id']} {t['rows']:,} rows" for t in job["tables"]))])
    seen = yield Turn([ToolUse("run_configuration", {"name": created["name"]})])
    job = seen.ok("run_configuration")
    yield Turn([Text("Second run read only rows changed since the first: " +
                     ", ".join(f"{t['table_id']} {t['rows']:,} new rows" for t in job["tables"]))])


def add_rows(ctx: Context) -> None:
    """New rows in the source; the second run must read exactly the rows at or after the first run's mark."""
    marks = {t: ctx.shop.execute(f"SELECT max(updated_at) FROM {t}", ctx.database)[0][0]
             for t in ("orders", "order_items")}
    ctx.shop.execute(ADD_ROWS, ctx.database)
    ctx.data["expected"] = {t: source_count(ctx, t, "updated_at >= %s", (mark,)) for t, mark in marks.items()}
    ctx.data["first_job"] = jobs_of(ctx.project, ctx.data["config"])[-1].id


def second_run_checks(ctx: Context) -> list[Check]:
    checks = extracted(ctx, ["orders", "order_items"], incremental=True)
    config = ctx.data["config"]
    later = [j for j in jobs_of(ctx.project, config) if j.id > ctx.data["first_job"] and j.status == "success"]
    if not later:
        return checks + [Check("second run", False, "no successful run after the new rows")]
    read = {t["table_id"].rsplit(".", 1)[-1]: t["rows"] for t in later[-1].tables}
    for table, want in ctx.data["expected"].items():
        checks.append(Check(f"second run read only new {table}", read.get(table) == want,
                            f"{read.get(table)} rows read, {want} at or after the mark ({NEW_ORDERS} new orders)"))
    return checks


INCREMENTAL = Scenario(
    "incremental", "orders + order_items by updated_at, run twice",
    [Step([("Set up an extractor named shop-sales on the demo connection for public.orders and public.order_items, "
            "both incremental by updated_at, and run it."), "Yes, run it."],
          lambda ctx: extracted(ctx, ["orders", "order_items"], incremental=True)),
     Step(["New orders came in. Run shop-sales again, please.", "Yes, run it."], second_run_checks, before=add_rows)],
    incremental_model)


# --- 4. Error recovery ----------------------------------------------------------------------------------


def password_model() -> Any:
    seen: Seen = yield Turn([Text("Let me check the connection first."), ToolUse("test_connection", {"name": "shop"})])
    test = seen.ok("test_connection")
    if not test["ok"]:
        seen = yield Turn([ToolUse("list_connections", {})])
        target = next(c["target"] for c in seen.ok("list_connections") if c["name"] == "shop")
        seen = yield Turn([Text(f"The connection fails ({test['problem']}): {test['message']} Please type the "
                                "password in the field below."),
                           ToolUse("ask_for_secret", {"label": "shop-password", "prompt": f"Password of {target}"})])
        secret = seen.ok("ask_for_secret")
        if not secret["stored"]:
            yield Turn([Text("I need the password to go on.")])
            return
        seen = yield Turn([ToolUse("add_connection", {"name": "shop", "url": target, "replace": True,
                                                      "password_reference": secret["reference"]})])
        if not seen.ok("add_connection")["test"]["ok"]:
            yield Turn([Text("That password does not work either.")])
            return
    seen = yield Turn([Text("The connection works. Here is the extractor:"),
                       ToolUse("create_extractor", {"name": "shop-orders", "connection": "shop",
                                                    "tables": [{"table": "public.orders"}]})])
    created = seen.ok("create_extractor")
    seen = yield Turn([ToolUse("run_configuration", {"name": created["name"]})])
    job = seen.ok("run_configuration")
    yield Turn([Text(f"Done: {job['tables'][0]['rows']:,} orders in `{job['tables'][0]['table_id']}`.")])


def password_checks(ctx: Context) -> list[Check]:
    works = ctx.project.connections.get("shop").test()
    checks = [Check("connection shop works", works.ok, works.problem or "")]
    checks += extracted(ctx, ["orders"], incremental=False)
    return checks + [secret_kept(ctx)]


WRONG_PASSWORD = Scenario(
    "wrong-password", "recovery: the saved password is wrong",
    [Step(["Extract the orders table from the shop connection into storage, please.", "Yes, go ahead.",
           "Yes, run it."], password_checks)],
    password_model, source="password")


def typo_model() -> Any:
    seen: Seen = yield Turn([Text("Setting it up."), ToolUse("create_extractor", {
        "name": "demo-customers", "connection": "demo", "tables": [{"table": "public.custmers"}]})])
    failed, value = seen.result("create_extractor")
    if failed:
        match = re.search(r"did you mean ([\w.]+)", str(value))
        if match is None:
            seen = yield Turn([ToolUse("list_tables", {"connection": "demo"})])
            tables = [f"{r[0]}.{r[1]}" for r in seen.ok("list_tables")["rows"]]
            table = next(t for t in tables if "cust" in t)
        else:
            table = match.group(1)
        seen = yield Turn([Text(f"There is no `public.custmers`; the closest table is `{table}`. Using that:"),
                           ToolUse("create_extractor", {"name": "demo-customers", "connection": "demo",
                                                        "tables": [{"table": table}]})])
    created = seen.ok("create_extractor")
    seen = yield Turn([ToolUse("run_configuration", {"name": created["name"]})])
    job = seen.ok("run_configuration")
    yield Turn([Text(f"Done: {job['tables'][0]['rows']:,} rows in `{job['tables'][0]['table_id']}`.")])


TYPO = Scenario(
    "misspelled-table", "recovery: a misspelled table name",
    [Step(["Extract public.custmers from the demo connection and run it.", "Yes, go ahead.", "Yes, run it."],
          lambda ctx: extracted(ctx, ["customers"], incremental=False))],
    typo_model)

SCENARIOS = [ONBOARDING, POWER, INCREMENTAL, WRONG_PASSWORD, TYPO]


# --- Running -------------------------------------------------------------------------------------------


class PasswordSource:
    """A PostgreSQL that checks passwords over TCP (the demo trusts every local login), seeded with the shop."""

    def __init__(self) -> None:
        from servers import PostgresServer

        from keboola_nb import demo

        self.server = PostgresServer.start("eval-superuser")
        self.server.execute("CREATE DATABASE shop")
        self.server.execute(demo.SEED_SQL + f"CREATE ROLE etl LOGIN PASSWORD '{PASSWORD}';"
                            "GRANT SELECT ON ALL TABLES IN SCHEMA public TO etl;", database="shop")

    def project(self, name: str) -> Any:
        """A project whose connection `shop` holds a reference to a wrong password."""
        import keboola_nb as kb

        os.environ["EVAL_SHOP_PASSWORD"] = "an-old-password"
        project = kb.Project.open(WORK / name)
        project.connections.add("shop", self.server.url("shop", "etl"), password=kb.secret("EVAL_SHOP_PASSWORD"))
        return project

    def execute(self, sql: str, database: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.server.connect(database) as conn:
            cur = conn.execute(sql, params or None)
            return cur.fetchall() if cur.description else []

    def stop(self) -> None:
        self.server.stop()


def run_scenario(scenario: Scenario, shop: DemoShop, password_source: PasswordSource | None,
                 mode: str) -> dict[str, Any]:
    from assistant_view import RecordingView

    from keboola_nb.ai.agent import Agent
    from keboola_nb.ai.models import Usage

    if scenario.source == "password":
        if password_source is None:
            return {"name": scenario.name, "title": scenario.title, "success": None,
                    "skipped": "no PostgreSQL server binaries for a password-checking source"}
        project, database, source = password_source.project(scenario.name), "shop", password_source
    else:
        database = shop.copy()
        project, source = shop.project(scenario.name, database), shop
    ctx = Context(project, database, source)
    view = RecordingView(decisions=[True] * 50, secrets=[PASSWORD] * 5)
    turns, calls, usage, steps, play = 0, 0, Usage(), [], None
    started = time.perf_counter()
    with standin_api() if mode == "stand-in" else nullcontext() as api:
        if api is not None:
            api.responder = play = Play(scenario.script)
        agent = Agent(project, view)
        for step in scenario.steps:
            if step.before:
                step.before(ctx)
            for message in step.messages:
                reply = agent.send(message)
                turns, calls, usage = turns + 1, calls + reply.calls, usage + reply.usage
                checks = _safe(step.checks, ctx)
                if all(c.ok for c in checks):
                    break
            steps.append(checks)
        sent = json.dumps(api.requests) if api is not None else ""
    seconds = time.perf_counter() - started
    project.close()
    if api is not None and scenario.source == "password":  # the stand-in saw every request
        steps[-1].append(Check("password never sent to the model", PASSWORD not in sent))
    flat = [c for checks in steps for c in checks]
    return {
        "name": scenario.name, "title": scenario.title, "success": all(c.ok for c in flat),
        "user_turns": turns, "model_calls": calls, "seconds": round(seconds, 2),
        "tokens": {"input": usage.input_tokens, "cache_read": usage.cache_read, "cache_write": usage.cache_write,
                   "output": usage.output_tokens},
        "cost_usd": round(usage.cost_usd, 6),
        "checks": [{"step": i + 1, "check": c.name, "ok": c.ok, "detail": c.detail}
                   for i, checks in enumerate(steps) for c in checks],
        "tools": [name for name, _ in view.of("tool_start")],
        "errors_shown": view.of("error"),
        "script_error": play.error if play else None,
    }


def _safe(checks: Callable[[Context], list[Check]], ctx: Context) -> list[Check]:
    try:
        return checks(ctx)
    except Exception as e:  # a check that cannot even look fails, with the reason
        return [Check("checks ran", False, f"{type(e).__name__}: {e}")]


def report(results: dict[str, Any]) -> None:
    print(f"\nmode: {results['mode']}" + (" (scripted model: tools and loop end to end, not Claude's quality)"
                                          if results["mode"] == "stand-in" else ""))
    head = f"{'scenario':<18} {'ok':>4} {'turns':>5} {'calls':>5} {'input':>7} {'c.read':>8} {'c.write':>8} " \
           f"{'output':>7} {'cost $':>8} {'s':>6}"
    print(head)
    for r in results["scenarios"]:
        if r.get("skipped"):
            print(f"{r['name']:<18} skipped: {r['skipped']}")
            continue
        t = r["tokens"]
        print(f"{r['name']:<18} {'yes' if r['success'] else 'NO':>4} {r['user_turns']:>5} {r['model_calls']:>5} "
              f"{t['input']:>7,} {t['cache_read']:>8,} {t['cache_write']:>8,} {t['output']:>7,} "
              f"{r['cost_usd']:>8.4f} {r['seconds']:>6.1f}")
        for c in r["checks"]:
            if not c["ok"]:
                print(f"    failed: step {c['step']} {c['check']}: {c['detail']}")
        if r["script_error"]:
            print(f"    scripted model: {r['script_error']}")
    s = results["summary"]
    print(f"passed {s['passed']}/{s['run']}; {s['model_calls']} model calls, ${s['cost_usd']:.4f} in all")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stand-in", action="store_true", help="use the stand-in even when a key is set")
    parser.add_argument("--only", nargs="*", help="scenario names", choices=[s.name for s in SCENARIOS])
    args = parser.parse_args()
    mode = "stand-in" if args.stand_in or not os.environ.get("ANTHROPIC_API_KEY") else "api"
    chosen = [s for s in SCENARIOS if not args.only or s.name in args.only]
    print(f"mode: {mode}; starting the demo shop ...", flush=True)
    shop = DemoShop()
    password_source = None
    try:
        if any(s.source == "password" for s in chosen):
            try:
                password_source = PasswordSource()
            except Exception as e:  # no server binaries on this machine: that scenario is skipped, and says so
                print(f"no password-checking source: {e}")
        runs = []
        for scenario in chosen:
            print(f"- {scenario.name}: {scenario.title}", flush=True)
            runs.append(run_scenario(scenario, shop, password_source, mode))
    finally:
        shop.stop()
        if password_source is not None:
            password_source.stop()
    ran = [r for r in runs if r["success"] is not None]
    results = {
        "mode": mode,
        "note": ("stand-in: a scripted model plays each scenario against the local stand-in; tools, confirmations, "
                 "storage and jobs are real, tokens are the stand-in's estimates (characters / 4)"
                 if mode == "stand-in" else "real Anthropic API; proposals accepted, the password typed when asked"),
        "summary": {"run": len(ran), "passed": sum(1 for r in ran if r["success"]),
                    "model_calls": sum(r["model_calls"] for r in ran),
                    "cost_usd": round(sum(r["cost_usd"] for r in ran), 6)},
        "scenarios": runs,
    }
    path = write_results("evaluate", results)
    report(results)
    print(f"\nwritten: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
