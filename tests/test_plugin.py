"""A third-party plug-in, installed with pip, working end to end with no change to keboola_nb: the CSV folder
source of tests/plugin/ (a connection kind and an extractor, registered through entry points) through the
registry, the magics, the kbc layout, storage, jobs and the assistant's tools.

The test to copy when writing a plug-in: install it, forget the registries, use it as a user would.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from assistant_view import RecordingView
from standin import StandIn, Text, ToolUse, Turn
from test_assistant import agent_for, tool_results

PLUGIN_SOURCE = Path(__file__).parent / "plugin"
MODULE = "keboola_nb_csvfolder"
COMPONENT_ID = "example.ex-csv-folder"
BUCKET_PREFIX = "in.c-example-ex-csv-folder-"  # Keboola's default bucket: in.c-<component id>-<config id>

ORDERS = "id,customer,amount,ordered_on\n1,Alice,10.5,2024-01-02\n2,Bob,20.0,2024-01-03\n3,Alice,7.25,2024-01-04\n"
CUSTOMERS = "id,name,city\n1,Alice,Prague\n2,Bob,Brno\n"
SHORTHAND = """\
connection: files
tables:
  - orders.csv
  - table: customers.csv
    name: clients
    primary_key: [id]
    incremental: true
"""


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The plug-in installed as pip installs any package (into a folder put on sys.path), found through its
    entry points; afterwards the registries hold the built-ins only again."""
    from keboola_nb import components, connectors

    assert importlib.util.find_spec(MODULE) is None, "the plug-in must be importable only once installed"
    assert COMPONENT_ID not in components.ids()
    work = tmp_path_factory.mktemp("plugin")
    # A copy: the build writes build/ and *.egg-info beside the source it builds.
    source = shutil.copytree(PLUGIN_SOURCE, work / "source", ignore=shutil.ignore_patterns("build", "*.egg-info"))
    target = work / "site-packages"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target),
                          str(source)], capture_output=True, text=True, check=False)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    components.forget()
    connectors.forget()
    yield target
    sys.path.remove(str(target))
    for name in [m for m in sys.modules if m == MODULE or m.startswith(f"{MODULE}.")]:
        del sys.modules[name]
    importlib.invalidate_caches()
    components.forget()
    connectors.forget()
    assert COMPONENT_ID not in components.ids() and "csvfolder" not in connectors.kinds()
    assert importlib.util.find_spec(MODULE) is None


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The source: two CSV files and a file that is not a table."""
    data = tmp_path / "exports"
    data.mkdir()
    (data / "orders.csv").write_text(ORDERS)
    (data / "customers.csv").write_text(CUSTOMERS)
    (data / "notes.txt").write_text("not a table\n")
    return data


@pytest.fixture
def ip(plugin, project, monkeypatch):  # type: ignore[no-untyped-def]
    from keboola_nb import magics

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "keboola_nb")
    monkeypatch.setattr(magics, "_project", project)
    yield shell
    monkeypatch.setattr(magics, "_project", None)


def records(frame) -> list[dict]:  # type: ignore[no-untyped-def]
    """Rows as plain values (dates as text), for comparing with what the CSV files hold."""
    return json.loads(frame.to_json(orient="records", date_format="iso"))


def test_the_registry_finds_the_installed_plugin(plugin: Path) -> None:
    from keboola_nb import components, connectors

    component = components.get(COMPONENT_ID)
    assert (component.type, component.connection_kind, component.entries) == ("extractor", "csvfolder", "tables")
    assert Path(sys.modules[type(component).__module__].__file__).is_relative_to(plugin)  # the installed copy
    assert components.for_connection("extractor", "csvfolder") is component
    kind = connectors.kind("csvfolder")
    assert (kind.schemes, kind.node_key) == (("csvfolder",), "folder")
    assert connectors.parse_connection_url("csvfolder:///data/exports/") == ("csvfolder", {"path": "/data/exports"}, None)
    assert {"keboola.ex-db-pgsql", "keboola.ex-aws-s3"} <= set(components.ids())  # the built-ins are still there
    assert {"postgresql", "s3"} <= set(connectors.kinds())


def test_walk_through_the_magics(ip, project, folder: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    url = f"csvfolder://{folder}"
    diagnosis = ip.run_line_magic("keboola", f"connect files {url}")
    assert diagnosis.ok and diagnosis.details["csv files"] == 2, diagnosis
    assert f"connection 'files' saved ({url}; secret: none)" in capsys.readouterr().out
    stored = json.loads((project.root / ".keboola" / "connections.json").read_text())["connections"]["files"]
    assert stored == {"kind": "csvfolder", "folder": {"path": str(folder)}}
    assert records(ip.run_line_magic("keboola", "connections")) == [
        {"name": "files", "kind": "csvfolder", "target": url, "secret": "none"}]

    # Browsing: the CSV files are the tables.
    assert records(ip.run_line_magic("keboola", "tables files")) == [
        {"table": "customers.csv", "rows": 2, "columns": 3}, {"table": "orders.csv", "rows": 3, "columns": 4}]
    assert records(ip.run_line_magic("keboola", "describe files orders.csv")) == [
        {"column": "id", "type": "BIGINT"}, {"column": "customer", "type": "VARCHAR"},
        {"column": "amount", "type": "DOUBLE"}, {"column": "ordered_on", "type": "DATE"}]
    assert records(ip.run_line_magic("keboola", "preview files orders.csv --limit 2")) == [
        {"id": 1, "customer": "Alice", "amount": 10.5, "ordered_on": "2024-01-02T00:00:00.000"},
        {"id": 2, "customer": "Bob", "amount": 20.0, "ordered_on": "2024-01-03T00:00:00.000"}]

    # The component is listed beside the built-ins, with its rules and example cell.
    listed = ip.run_line_magic("keboola", "components").set_index("id")
    assert listed.loc[COMPONENT_ID].to_dict() == {"type": "extractor", "label": "CSV folder extractor",
                                                  "connection_kind": "csvfolder", "entries": "tables"}
    assert "keboola.ex-db-pgsql" in listed.index
    capsys.readouterr()
    ip.run_line_magic("keboola", f"components {COMPONENT_ID}")
    out = capsys.readouterr().out
    assert out.startswith(f"{COMPONENT_ID}: CSV folder extractor (for csvfolder connections)\n  - create it with")
    assert "%%keboola extractor files-orders\nconnection: files\ntables:\n- table: orders.csv\n" in out

    # The extractor, saved in the kbc layout.
    summary = ip.run_cell_magic("keboola", "extractor files-orders", SHORTHAND)
    config = project.configs.get("files-orders")
    bucket = f"{BUCKET_PREFIX}{config.id}"
    assert records(summary) == [
        {"row": "orders", "source": f"{folder}/orders.csv", "output_table": f"{bucket}.orders",
         "primary_key": [], "load": "full"},
        {"row": "clients", "source": f"{folder}/customers.csv", "output_table": f"{bucket}.clients",
         "primary_key": ["id"], "load": "incremental"}]
    on_disk = project.root / "main" / "extractor" / COMPONENT_ID / "files-orders"
    assert json.loads((on_disk / "config.json").read_text()) == {"parameters": {"path": str(folder)}}
    assert json.loads((on_disk / "rows" / "clients" / "config.json").read_text()) == {
        "parameters": {"file": "customers.csv", "table": "clients", "incremental": True, "primaryKey": ["id"]}}
    entry = json.loads((project.root / ".keboola" / "manifest.json").read_text())["configurations"][0]
    assert (entry["componentId"], entry["path"]) == (COMPONENT_ID, f"extractor/{COMPONENT_ID}/files-orders")
    assert [r["path"] for r in entry["rows"]] == ["rows/orders", "rows/clients"]
    shown = json.loads(ip.run_line_magic("keboola", "config files-orders").data)
    assert (shown["componentId"], shown["id"], len(shown["rows"])) == (COMPONENT_ID, config.id, 2)

    # The run: both files into storage.
    job = ip.run_line_magic("keboola", "run files-orders")
    assert job.status == "success" and job.rows == {f"{bucket}.orders": 3, f"{bucket}.clients": 2}, job.error
    storage = ip.run_line_magic("keboola", "storage").set_index("id")
    assert storage.loc[f"{bucket}.orders", "rows"] == 3 and storage.loc[f"{bucket}.clients", "rows"] == 2
    assert list(storage.loc[f"{bucket}.clients", "primary_key"]) == ["id"]
    assert storage.loc[f"{bucket}.clients", "source"] == f"{COMPONENT_ID}/files-orders/clients"
    assert records(ip.run_line_magic("keboola", f"storage {bucket}.orders").sort_values("id")) == records(
        ip.run_line_magic("keboola", "preview files orders.csv"))

    # Run again after the files changed: orders is replaced, clients upserted by its primary key.
    (folder / "orders.csv").write_text("".join(ORDERS.splitlines(keepends=True)[:3]))  # order 3 is gone
    (folder / "customers.csv").write_text("id,name,city\n2,Bob,Ostrava\n3,Carol,Plzen\n")
    job = ip.run_line_magic("keboola", "run files-orders")
    assert job.status == "success" and job.rows == {f"{bucket}.orders": 2, f"{bucket}.clients": 2}, job.error
    assert len(ip.run_line_magic("keboola", f"storage {bucket}.orders")) == 2
    clients = ip.run_line_magic("keboola", f"storage {bucket}.clients").sort_values("id")
    assert records(clients) == [{"id": 1, "name": "Alice", "city": "Prague"}, {"id": 2, "name": "Bob", "city": "Ostrava"},
                                {"id": 3, "name": "Carol", "city": "Plzen"}]

    jobs = ip.run_line_magic("keboola", "jobs")
    assert list(jobs["config"]) == ["files-orders"] * 2 and set(jobs["component"]) == {COMPONENT_ID}
    assert list(jobs["status"]) == ["success", "success"] and list(jobs["rows"]) == [4, 5]


def test_mistakes_give_one_clear_error(ip, project, folder: Path) -> None:  # type: ignore[no-untyped-def]
    from keboola_nb.errors import KeboolaError

    ip.run_line_magic("keboola", f"connect files csvfolder://{folder}")

    def extractor_error(entries: str) -> str:
        with pytest.raises(UsageError) as error:
            ip.run_cell_magic("keboola", "extractor bad", f"connection: files\ntables:\n{entries}")
        return str(error.value)

    assert extractor_error("  - table: orders.csv\n    colour: red\n") == (
        "extractor 'bad', entry 1: unknown key(s) colour\n"
        "  How to fix: allowed keys: table, name, primary_key, incremental")
    assert extractor_error("  - customers.csv\n  - ordrs.csv\n") == (
        "extractor 'bad', entry 2: table ordrs.csv was not found in connection 'files'\n"
        "  How to fix: did you mean orders.csv, customers.csv?")
    assert extractor_error("  - {table: orders.csv, primary_key: [order_id]}\n") == (
        "extractor 'bad', entry 1: primary key column(s) order_id are not in orders.csv\n"
        "  How to fix: its columns are: id, customer, amount, ordered_on")
    assert extractor_error("  - notes.txt\n").startswith("extractor 'bad', entry 1: table notes.txt was not found")
    assert project.configs.list() == [] and not (project.root / "main" / "extractor").exists()
    with pytest.raises(KeboolaError, match=r"^extractor 'bad', entry 1: unknown key\(s\) colour"):
        project.extractors.create("bad", "files", [{"table": "orders.csv", "colour": "red"}])

    # A configuration edited by hand may not read outside its folder.
    config = project.extractors.create("files-orders", "files", ["orders.csv"])
    edited = config.to_json()
    edited["rows"][0]["configuration"]["parameters"]["file"] = "../secrets.csv"
    with pytest.raises(KeboolaError, match="file '../secrets.csv' must be a file name in the folder, not a path"):
        project.extractors.from_json(json.dumps(edited))

    # A file gone by the time of the run fails the job and leaves storage as it was.
    (folder / "orders.csv").unlink()
    with pytest.raises(UsageError, match=r"is not there any more\. Storage and state were left as they were\."):
        ip.run_line_magic("keboola", "run files-orders")
    assert project.storage.tables().empty and project.jobs.recent(1)[0].status == "error"

    # A folder that is not there: the test says so and how to fix it; a relative URL is refused.
    diagnosis = ip.run_line_magic("keboola", f"connect gone csvfolder://{folder}/gone")
    assert not diagnosis.ok and diagnosis.problem == "missing_database", diagnosis
    assert diagnosis.message == f"the folder {folder}/gone of connection 'gone' does not exist"
    assert "%keboola connect gone csvfolder:///path --replace" in diagnosis.fix
    with pytest.raises(UsageError, match="three slashes: csvfolder:///absolute/path/to/folder"):
        ip.run_line_magic("keboola", "connect relative csvfolder://data/exports")
    assert project.connections.names() == ["files", "gone"]


def test_the_assistant_builds_and_runs_it(plugin, project, folder: Path, api: StandIn) -> None:  # type: ignore[no-untyped-def]
    from keboola_nb import components

    add = ToolUse("add_connection", {"name": "files", "url": f"csvfolder://{folder}"})
    helped = ToolUse("component_help", {"connection": "files"})  # the model knows the connection, not the id
    listing = ToolUse("list_tables", {"connection": "files"})
    create = ToolUse("create_extractor", {"name": "files-chat", "connection": "files",
                                          "tables": [{"table": "orders.csv", "primary_key": ["id"],
                                                      "incremental": True}]})  # the plug-in's own key
    run = ToolUse("run_configuration", {"name": "files-chat"})
    api.push(Turn([add]), Turn([helped, listing]), Turn([Text("Here is the extractor:"), create]), Turn([run]),
             Turn([Text("Loaded 3 orders.")]))
    view = RecordingView(decisions=[True, True, True])  # save the connection, create the extractor, run it
    reply = agent_for(project, view).send(f"load the CSV files in {folder}")
    assert reply.text.endswith("Loaded 3 orders."), view.events

    def result(step: int, call: ToolUse) -> dict:
        block = tool_results(api.requests[step])[call.id]
        assert not block.get("is_error"), block["content"]
        return json.loads(block["content"])

    assert result(1, add)["test"]["ok"] is True
    assert ("Target", f"csvfolder://{folder}") in view.proposals[0].overview
    component = components.get(COMPONENT_ID)
    assert result(2, helped) == [{"component": COMPONENT_ID, "type": "extractor", "label": "CSV folder extractor",
                                  "entries": "tables", **component.help}]
    assert result(2, listing)["rows"] == [["customers.csv", 2, 3], ["orders.csv", 3, 4]]

    card = view.proposals[1]
    assert json.loads(card.json)["componentId"] == COMPONENT_ID
    assert list(card.preview["id"]) == [1, 2, 3]  # the first rows of orders.csv
    assert any(f"{folder}/orders.csv -> {BUCKET_PREFIX}" in value and "primary key id; incremental" in value
               for _, value in card.overview), card.overview
    created = result(3, create)
    config = project.configs.get("files-chat")
    table_id = f"{BUCKET_PREFIX}{config.id}.orders"
    assert created["created"] is True and created["output_tables"] == [table_id]
    assert config.rows[0].configuration["parameters"]["incremental"] is True

    ran = result(4, run)
    assert ran["status"] == "success" and ran["tables"] == [{"table_id": table_id, "rows": 3, "total_rows": 3}]
    assert list(project.storage.preview(table_id)["customer"]) == ["Alice", "Bob", "Alice"]
    assert project.storage.metadata(table_id)["primary_key"] == ["id"]
    assert project.jobs.recent(1)[0].actor == "assistant"
