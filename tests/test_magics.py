"""The %keboola magics in a real IPython shell: help, the walk, and clear errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from IPython.core.error import UsageError

from conftest import ETL_PASSWORD


def test_help_lists_every_command(ip, capsys):
    ip.run_line_magic("keboola", "--help")
    out = capsys.readouterr().out
    for command in ("connect", "connections", "test", "tables", "describe", "preview", "extractor", "run", "components",
                    "storage", "jobs", "config", "demo"):
        assert f"  {command} " in out
    ip.run_line_magic("keboola", "preview --help")
    out = capsys.readouterr().out
    assert "%keboola preview [--limit LIMIT] name table" in out and "runs on the server" in out


def test_walk_through_the_magics(ip, pg, capsys):
    diagnosis = ip.run_line_magic(
        "keboola", f"connect shop postgresql://etl@127.0.0.1:{pg.port}/shop --password-env SHOP_PG_PASSWORD")
    assert diagnosis.ok
    connections = ip.run_line_magic("keboola", "connections")
    assert list(connections["name"]) == ["shop"]
    assert connections["secret"][0] == "vault SHOP_PG_PASSWORD: environment variable SHOP_PG_PASSWORD"
    assert ip.run_line_magic("keboola", "test shop").ok
    assert "orders" in set(ip.run_line_magic("keboola", "tables shop --schema public")["table"])
    assert len(ip.run_line_magic("keboola", "describe shop public.orders")) == 5
    assert len(ip.run_line_magic("keboola", "preview shop public.orders --limit 3")) == 3
    summary = ip.run_cell_magic("keboola", "extractor shop-orders", (
        "connection: shop\n"
        "tables:\n"
        "  - table: public.orders\n"
        "    incremental_fetching_column: updated_at\n"
        "  - table: public.customers\n"))
    assert list(summary["output_table"]) == ["in.c-shop-orders.orders", "in.c-shop-orders.customers"]
    job = ip.run_line_magic("keboola", "run shop-orders")
    assert job.status == "success" and job.rows["in.c-shop-orders.orders"] == 1000
    storage = ip.run_line_magic("keboola", "storage")
    assert set(storage["id"]) == {"in.c-shop-orders.orders", "in.c-shop-orders.customers"}
    assert len(ip.run_line_magic("keboola", "storage in.c-shop-orders.orders --limit 20")) == 20
    assert ip.run_line_magic("keboola", "jobs")["status"][0] == "success"
    ip.run_cell_magic("keboola", "extractor shop-orders --replace", "connection: shop\ntables: [public.orders]\n")
    versions = ip.run_line_magic("keboola", "config shop-orders --versions")
    assert list(versions["version"]) == [1, 2]
    diff = ip.run_line_magic("keboola", "config shop-orders --diff 1 2")
    assert "customers" in diff.data
    ip.run_line_magic("keboola", "config shop-orders --rollback 1")
    shown = ip.run_line_magic("keboola", "config shop-orders")
    assert '"tableName": "customers"' in shown.data
    out = capsys.readouterr()
    assert ETL_PASSWORD not in out.out + out.err


@pytest.mark.parametrize(
    "line, message",
    [
        ("nonsense", "unknown command 'nonsense'"),
        ("test nope", "no connection named 'nope'"),
        ("run nope", "no configuration named 'nope'"),
        ("preview", "the following arguments are required"),
        ("storage in.c-none.t", "storage has no table in.c-none.t"),
    ],
)
def test_errors_are_one_clear_message(ip, line, message):
    with pytest.raises(UsageError, match=message):
        ip.run_line_magic("keboola", line)


@pytest.mark.parametrize("spelling", ['"Sales Data"."Order Items"', '"Sales Data.Order Items"',
                                      "'Sales Data.Order Items'"])
def test_tables_with_spaces_work_in_every_magic_that_takes_a_table(ip, shop, spelling):
    assert len(ip.run_line_magic("keboola", f"preview shop {spelling} --limit 2")) == 2
    assert "Line No" in set(ip.run_line_magic("keboola", f"describe shop {spelling}")["column"])


def test_tables_with_spaces_in_the_extractor_body(ip, shop):
    summary = ip.run_cell_magic("keboola", "extractor items", (
        "connection: shop\n"
        "tables:\n"
        "  - table: '\"Sales Data\".\"Order Items\"'\n"
        "  - table: Sales Data.Order Items\n"
        "    name: again\n"))
    assert list(summary["source"]) == ["Sales Data.Order Items"] * 2


def test_the_spelling_a_hint_suggests_works_when_typed(ip, shop):
    with pytest.raises(UsageError) as error:
        ip.run_line_magic("keboola", 'preview shop "Order Items"')  # not in schema public
    hints = str(error.value).split("did you mean ")[1].rstrip("?").split(", ")
    assert '"Sales Data"."Order Items"' in hints
    for hint in hints:  # each spelling offered is one the magic takes
        assert len(ip.run_line_magic("keboola", f"preview shop {hint} --limit 3")) >= 1


def test_schema_dot_quoted_table_works_in_the_magics(ip, myshop):
    assert len(ip.run_line_magic("keboola", 'preview myshop shop."Order Items" --limit 2')) == 2
    assert ip.run_line_magic("keboola", 'describe myshop shop."Order Items"')["column"][0] == "Line No"


def test_quotes_in_a_query_stay_sql_literals(ip, shop):
    frame = ip.run_line_magic("keboola", "query SELECT 'a b' AS t, length('x  y') AS n")
    assert frame["t"][0] == "a b" and frame["n"][0] == 4


def test_components_lists_the_registry_and_shows_one(ip, capsys):
    frame = ip.run_line_magic("keboola", "components")
    assert {"keboola.ex-db-pgsql", "keboola.wr-aws-s3"} <= set(frame["id"])
    assert dict(zip(frame["id"], frame["entries"]))["keboola.ex-aws-s3"] == "files"
    ip.run_line_magic("keboola", "components keboola.ex-aws-s3")
    out = capsys.readouterr().out
    assert "AWS S3 extractor (for s3 connections)" in out and "%%keboola extractor exports-csv" in out
    assert "- key: exports/sales/*" in out
    with pytest.raises(UsageError, match="not supported"):
        ip.run_line_magic("keboola", "components vendor.ex-gone")


def test_failed_run_raises_with_the_reason(ip, shop, pg, monkeypatch):
    ip.run_cell_magic("keboola", "extractor fails", "connection: shop\ntables: [orders]\n")
    monkeypatch.setenv("SHOP_PG_PASSWORD", "not-the-password")
    shop.connector().close()
    with pytest.raises(UsageError, match="wrong password for user 'etl'"):
        ip.run_line_magic("keboola", "run fails")


def test_a_suggested_key_is_printed_as_a_note(ip, shop, capsys):
    ip.run_cell_magic("keboola", "extractor codes", "connection: shop\ntables: [public.keyed_by_code]\n")
    out = capsys.readouterr().out
    assert "note: extractor 'codes', table entry 1: table public.keyed_by_code has no primary key; " \
           "suggested key: code (unique and not null). To use it, add primary_key: [code]" in out
    assert "Warning" not in out


def test_notices_are_collected_and_other_warnings_pass_through_once():
    import warnings

    from keboola_nb.errors import KeboolaError, KeboolaNotice, notices

    with warnings.catch_warnings(record=True) as outer:
        warnings.simplefilter("always")
        with notices() as notes:
            warnings.warn("a suggested key", KeboolaNotice)
            warnings.warn("something else", DeprecationWarning)
        with pytest.raises(KeboolaError), notices() as failed:
            warnings.warn("said before failing", KeboolaNotice)
            raise KeboolaError("failed")
    assert notes == ["a suggested key"] and failed == ["said before failing"]
    assert [str(w.message) for w in outer] == ["something else"]


def test_load_ext_imports_nothing_heavy():
    code = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "InteractiveShell.instance().run_line_magic('load_ext', 'keboola_nb')\n"
        "heavy = [m for m in ('pandas', 'duckdb', 'psycopg', 'pyarrow', 'pydantic', 'anthropic', 'yaml') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


# the assistant's magics -------------------------------------------------------------------------------
@pytest.fixture
def api(api, monkeypatch):  # the stand-in, and no assistant left over from another test
    import keboola_nb.magics as magics

    monkeypatch.setattr(magics, "_asker", None)
    monkeypatch.setattr(magics, "_chat", None)
    return api


def test_ask_streams_the_answer_and_writes_code_into_the_next_cell(ip, shop, api, capsys):
    from standin import Text, ToolUse, Turn

    sql = ("SELECT CAST(updated_at AS DATE) AS day, SUM(amount) AS revenue FROM in.c-shop-orders.orders\n"
           "WHERE updated_at >= now() - INTERVAL 30 DAY GROUP BY 1 ORDER BY 1")
    check = ToolUse("query_storage", {"sql": sql, "limit": 5})
    write = ToolUse("write_code_cell", {"code": sql, "language": "sql"})
    api.push(Turn([check]), Turn([write]), Turn([Text("The new cell below sums **amount** per day.")]))
    ip.run_cell_magic("keboola", "extractor shop-orders", "connection: shop\ntables:\n  - table: orders\n")
    ip.run_line_magic("keboola", "run shop-orders")
    ip.rl_next_input = None
    ip.run_cell_magic("keboola", "ask", "write a SQL query over in.c-shop-orders.orders that shows daily revenue")
    out = capsys.readouterr().out
    assert "query_storage" in out and "write_code_cell" in out and "$" in out
    assert ip.rl_next_input == "%%keboola query\n" + sql
    checked = json.loads(api.requests[1]["messages"][-1]["content"][0]["content"])
    assert checked["columns"] == ["day", "revenue"]  # the SQL really ran over storage
    # The cell the assistant wrote runs as it is.
    frame = ip.run_cell_magic("keboola", "query", sql)
    assert list(frame.columns) == ["day", "revenue"]
    # cost and history see the conversation
    turns = ip.run_line_magic("keboola", "cost")
    assert len(turns) == 3 and turns["cost_usd"].sum() > 0
    assert "prompt tokens" in capsys.readouterr().out
    history = ip.run_line_magic("keboola", "history")
    assert history["model_calls"].tolist() == [3]


def test_ask_cannot_change_things_and_says_where_to_go(ip, shop, api):
    from standin import Text, ToolUse, Turn

    create = ToolUse("create_extractor", {"name": "x", "connection": "shop", "tables": [{"table": "orders"}]})
    api.push(Turn([create]), Turn([Text("Open the chat panel to create it.")]))
    ip.run_cell_magic("keboola", "ask", "create an extractor for orders")
    result = json.loads(api.requests[1]["messages"][-1]["content"][0]["content"])
    assert result["declined_by_user"] and "%keboola chat" in result["reason"]
    assert ip.run_line_magic("keboola", "configs").empty


def test_ask_without_a_key_and_query_that_writes_are_clear_errors(ip, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(UsageError, match="ANTHROPIC_API_KEY"):
        ip.run_cell_magic("keboola", "ask", "hello")
    with pytest.raises(UsageError, match="only queries that read"):
        ip.run_cell_magic("keboola", "query", "DELETE FROM x")
    with pytest.raises(UsageError, match="no conversation"):
        ip.run_line_magic("keboola", "chat --resume nope")


def test_chat_without_a_front_end_shows_the_panel_inline(ip, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    panel = ip.run_line_magic("keboola", "chat --inline")
    from keboola_nb.ui.chat_panel import ChatPanel

    assert isinstance(panel, ChatPanel) and panel.has_key is False


def test_the_python_magic_saves_the_options_it_shares_with_sql(ip, project, capsys):
    with pytest.raises(UsageError, match="needs Python code in the cell body"):
        ip.run_cell_magic("keboola", "python empty --out out.c-x.clean", "  \n")
    summary = ip.run_cell_magic(
        "keboola", "python clean --out out.c-x.clean --packages requests,pyyaml --pk id --incremental "
                   "--var limit=5 --save-only",
        "open('out/tables/clean.csv', 'w').write('id\\n1\\n')\n")
    assert summary is not None and "saved" in capsys.readouterr().out
    config = project.configs.get("clean")
    assert config.configuration["parameters"]["packages"] == ["requests", "pyyaml"]
    output = config.configuration["storage"]["output"]["tables"][0]
    assert output["destination"] == "out.c-x.clean" and output["incremental"] is True
    assert output["primary_key"] == ["id"]
    assert project.configs.variable_values(config) == {"limit": "5"}
