"""The Python transformation (keboola.python-transformation-v2) run locally as Keboola runs it: inputs exported into
a data folder laid out as Keboola's /data, the script run by Python in its own process, and the CSV files it
writes loaded into storage, all or nothing."""

from __future__ import annotations

import json
import re
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from keboola_nb.components.python_transformation import PYTHON
from keboola_nb.components.python_transformation.process import TIMEOUT_ENV
from keboola_nb.connectors.base import Scan
from keboola_nb.engine.mapping import STATE_KEY
from keboola_nb.errors import KeboolaError, KeboolaNotice

ROOT = Path(__file__).parent.parent
ORDERS = ("SELECT * FROM (VALUES (1, 'Alice', 10.5::DECIMAL(10, 2), 'open'), (2, 'Bob', 20.0, 'cancelled'), "
          "(3, 'Cecil', NULL, 'open')) t(id, customer, amount, status)")
COPY = """\
import pandas as pd
orders = pd.read_csv("in/tables/orders.csv")
orders.to_csv("out/tables/clean.csv", index=False)
"""


def put(project: Any, table_id: str, sql: str, **options: Any) -> None:
    with project.storage.transaction() as loader:
        loader.load(table_id, Scan(sql=sql), **options)


def fetch(project: Any, sql: str) -> list[tuple[Any, ...]]:
    with project.storage.connect() as con:
        return con.execute(sql).fetchall()


def save(project: Any, name: str, code: str, inputs: list[Any] | None = None, outputs: list[Any] | None = None,
         **options: Any) -> Any:
    config = PYTHON.build_code(name, textwrap.dedent(code), inputs=["in.c-shop.orders"] if inputs is None else inputs,
                               outputs=["out.c-shop.clean"] if outputs is None else outputs, **options)
    return project.configs.save_named(config, replace=True)


def printed(job: Any) -> list[str]:
    """What the script printed to stdout, as the job's log keeps it."""
    return [m.group(1) for m in (re.match(r"^\S+ script: (.*)$", line) for line in job.log) if m]


def runs(project: Any) -> Path:
    return project.storage.path.parent / "runs"


@pytest.fixture
def orders(project: Any) -> Any:
    put(project, "in.c-shop.orders", ORDERS, primary_key=["id"])
    return project


def test_registered_through_its_entry_point() -> None:
    from keboola_nb import components

    assert components.get(PYTHON.id) is PYTHON
    assert (PYTHON.type, PYTHON.language, PYTHON.code_file, PYTHON.per_statement) == \
        ("transformation", "python", "code.py", False)
    assert PYTHON.help["rules"] and "out/tables/" in PYTHON.help["example"]["cell"]


def test_pandas_end_to_end(orders: Any) -> None:
    config = save(orders, "clean", """\
        import json, os
        import pandas as pd
        manifest = json.load(open("in/tables/orders.csv.manifest"))
        print(json.dumps({"cwd": os.getcwd(), "datadir": os.environ["KBC_DATADIR"], "manifest": manifest,
                          "csv": open("in/tables/orders.csv").read()}))
        orders = pd.read_csv(os.path.join(os.environ["KBC_DATADIR"], "in/tables/orders.csv"))
        orders = orders[orders["status"] == "open"].assign(doubled=lambda d: d["amount"] * 2)
        orders[["id", "customer", "doubled"]].to_csv("out/tables/clean.csv", index=False)
        """)
    job = orders.run(config.name)
    assert job.status == "success", job.error
    seen = json.loads(printed(job)[0])
    folder = runs(orders) / str(job.id)
    assert seen["cwd"] == str(folder) and seen["datadir"].rstrip("/") == str(folder)
    assert seen["manifest"]["id"] == "in.c-shop.orders"
    assert seen["manifest"]["columns"] == ["id", "customer", "amount", "status"]
    assert seen["manifest"]["primary_key"] == ["id"]
    assert seen["csv"].splitlines() == ["id,customer,amount,status", "1,Alice,10.50,open", "2,Bob,20.00,cancelled",
                                        "3,Cecil,,open"]
    assert job.rows == {"out.c-shop.clean": 2}
    assert fetch(orders, 'SELECT id, customer, doubled FROM "out.c-shop".clean ORDER BY id') == \
        [(1, "Alice", 21.0), (3, "Cecil", None)]
    assert orders.storage.metadata("out.c-shop.clean")["columns"] == \
        {"id": "BIGINT", "customer": "VARCHAR", "doubled": "DOUBLE"}
    assert not folder.exists() and not (runs(orders) / f"{job.id}-script.py").exists()  # removed after success


def test_data_folder_is_laid_out_as_keboolas(orders: Any) -> None:
    config = save(orders, "layout", """\
        import os
        for folder, dirs, files in sorted(os.walk(".")):
            for name in sorted(dirs + files):
                print(os.path.relpath(os.path.join(folder, name), ".").replace(os.sep, "/"))
        """, outputs=[])
    job = orders.run(config.name)
    assert job.status == "success", job.error
    assert printed(job) == ["config.json", "in", "out", "in/files", "in/tables", "in/tables/orders.csv",
                            "in/tables/orders.csv.manifest", "out/files", "out/tables"]


def test_inputs_and_outputs_named_with_as(orders: Any) -> None:
    config = save(orders, "named", """\
        import pandas as pd
        pd.read_csv("in/tables/o.csv").head(1).to_csv("out/tables/first.csv", index=False)
        """, inputs=["in.c-shop.orders AS o.csv"], outputs=["first.csv AS out.c-shop.first"])
    assert config.configuration["storage"]["input"]["tables"][0]["destination"] == "o.csv"
    job = orders.run(config.name)
    assert job.status == "success", job.error
    assert fetch(orders, 'SELECT id FROM "out.c-shop".first') == [(1,)]
    with pytest.raises(KeboolaError, match=r"destination must be a file name ending in \.csv"):
        PYTHON.build_code("bad", COPY, inputs=["in.c-shop.orders AS orders"], outputs=[])
    with pytest.raises(KeboolaError, match=r"source must be a file name ending in \.csv, without folders"):
        PYTHON.build_code("bad", COPY, inputs=[], outputs=["sub/clean.csv AS out.c-shop.clean"])


def test_incremental_output_upserts_by_primary_key(orders: Any) -> None:
    output = {"destination": "out.c-shop.clean", "incremental": True, "primary_key": ["id"]}
    config = save(orders, "upsert", COPY, outputs=[output])
    assert orders.run(config.name).status == "success"
    put(orders, "in.c-shop.orders", "SELECT * FROM (VALUES (2, 'Bobby', 25.0, 'open'), (4, 'Dana', 4.0, 'open')) "
                                    "t(id, customer, amount, status)", primary_key=["id"])
    job = orders.run(config.name)
    assert job.status == "success", job.error
    assert job.tables[0]["incremental"] is True
    assert fetch(orders, 'SELECT id, customer FROM "out.c-shop".clean ORDER BY id') == \
        [(1, "Alice"), (2, "Bobby"), (3, "Cecil"), (4, "Dana")]


def test_delete_where_before_an_incremental_load(orders: Any) -> None:
    put(orders, "out.c-shop.clean", "SELECT * FROM (VALUES (100, 'old', 1.0::DOUBLE, 'cancelled'), (101, 'kept', 1.0, "
                                    "'open')) t(id, customer, amount, status)")
    output = {"destination": "out.c-shop.clean", "incremental": True, "delete_where_column": "status",
              "delete_where_values": ["cancelled"]}
    code = """\
        import pandas as pd
        pd.read_csv("in/tables/orders.csv").query("id == 1").to_csv("out/tables/clean.csv", index=False)
        """
    job = orders.run(save(orders, "cleanup", code, outputs=[output]).name)
    assert job.status == "success", job.error
    assert fetch(orders, 'SELECT id, status FROM "out.c-shop".clean ORDER BY id') == [(1, "open"), (101, "open")]


def test_adaptive_input_reads_only_new_rows_on_the_next_run(orders: Any) -> None:
    source = {"source": "in.c-shop.orders", "destination": "orders.csv", "changed_since": "adaptive"}
    config = save(orders, "adaptive", COPY, inputs=[source], outputs=[{"destination": "out.c-shop.clean",
                                                                      "incremental": True}])
    first = orders.run(config.name)
    assert first.status == "success", first.error
    assert first.rows == {"out.c-shop.clean": 3}
    assert "in.c-shop.orders" in orders.state.row(config.id, "")[STATE_KEY]
    time.sleep(0.01)  # the next import gets a later import time
    put(orders, "in.c-shop.orders", "SELECT * FROM (VALUES (4, 'Dana', 4.0, 'open')) t(id, customer, amount, status)",
        incremental=True, primary_key=["id"])
    second = orders.run(config.name)
    assert second.status == "success", second.error
    assert second.rows == {"out.c-shop.clean": 1}
    assert any(line.endswith("in.c-shop.orders -> in/tables/orders.csv: 1 rows") for line in second.log)
    assert fetch(orders, 'SELECT id FROM "out.c-shop".clean ORDER BY id') == [(1,), (2,), (3,), (4,)]


def test_a_script_that_raises_names_the_users_line_and_loads_nothing(orders: Any) -> None:
    config = save(orders, "clean", COPY)
    assert orders.run(config.name).status == "success"
    before = fetch(orders, 'SELECT * FROM "out.c-shop".clean ORDER BY id')
    config = save(orders, "clean", """\
        import pandas as pd
        pd.DataFrame({"id": [9]}).to_csv("out/tables/clean.csv", index=False)
        amount = None
        total = amount + 1
        """)
    job = orders.run(config.name)
    assert job.status == "error"
    assert "running the script: the script raised TypeError: unsupported operand" in job.error
    assert "at block 'Block 1', code 'clean', line 4" in job.error
    assert any("total = amount + 1" in line for line in job.log)  # the traceback is in the log
    assert fetch(orders, 'SELECT * FROM "out.c-shop".clean ORDER BY id') == before
    kept = runs(orders) / str(job.id)
    assert str(kept) in job.error and (kept / "out/tables/clean.csv").is_file()
    assert any(f"kept for inspection: {kept}" in line for line in job.log)


def test_the_failing_line_is_told_within_its_code(orders: Any) -> None:
    config = PYTHON.build_code("two", "import os\n", inputs=[], outputs=[])
    config.configuration["parameters"]["blocks"] = [
        {"name": "Prepare", "codes": [{"name": "setup", "script": ["import os\nvalues = {}\n"]}]},
        {"name": "Work", "codes": [{"name": "first", "script": ["x = 1"]},
                                   {"name": "second", "script": ["y = 2\n\nvalues['missing']"]}]},
    ]
    orders.configs.save(config)
    job = orders.run(config.name)
    assert job.status == "error"
    assert "the script raised KeyError: 'missing' at block 'Work', code 'second', line 3" in job.error


def test_a_script_that_never_ends_is_stopped_with_what_it_started(orders: Any,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TIMEOUT_ENV, "3")
    config = save(orders, "forever", """\
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        print(os.getpid(), child.pid)
        while True:
            time.sleep(0.05)
        """, outputs=[])
    started = time.monotonic()
    job = orders.run(config.name)
    assert time.monotonic() - started < 30
    assert job.status == "error"
    assert "running the script: the script ran longer than 3 s and was stopped" in job.error
    assert TIMEOUT_ENV in job.error
    pids = [int(p) for p in printed(job)[0].split()]
    deadline = time.monotonic() + 5
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(p) for p in pids)


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class StopWhenRunning:
    """A face's progress: the user stops the run (cancel, or the kernel's interrupt) once the script runs."""

    def __init__(self, interrupt: bool) -> None:
        self.interrupt, self.running = interrupt, False

    def step(self, index: int, total: int, label: str) -> None:
        self.running = label.startswith("running the script:")  # the script has printed a line
        if self.running and self.interrupt:
            raise KeyboardInterrupt

    def advance(self, fraction: float) -> None:
        pass

    def finish(self, summary: str) -> None:
        pass

    def cancelled(self) -> bool:
        return self.running


@pytest.mark.parametrize("interrupt", [False, True], ids=["cancelled", "interrupted"])
def test_stopping_the_run_kills_the_script(orders: Any, interrupt: bool) -> None:
    config = save(orders, "stoppable", """\
        import os, time
        print(os.getpid(), flush=True)
        time.sleep(120)
        """, outputs=[])
    started = time.monotonic()
    job = orders.run(config.name, progress=StopWhenRunning(interrupt))
    assert time.monotonic() - started < 30
    assert job.status == "error" and "the script was stopped by the user" in job.error
    assert not alive(int(printed(job)[0]))


def test_a_missing_output_file_names_it_and_what_was_written(orders: Any) -> None:
    config = save(orders, "clean", """\
        open("out/tables/other.csv", "w").write("id\\n1\\n")
        """, outputs=["out.c-shop.clean", "out.c-shop.other"])
    job = orders.run(config.name)
    assert job.status == "error"
    assert "the script wrote no out/tables/clean.csv (it wrote out/tables/other.csv)" in job.error
    assert fetch(orders, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'out.c-shop'") == [(0,)]


@pytest.mark.parametrize(("content", "problem"), [
    ("", "out/tables/clean.csv is empty: it has no header row"),
    ("1,2\n3,4\n", "out/tables/clean.csv has no header row: its first row is 1,2"),
    (",id\n0,1\n", "out/tables/clean.csv has a column without a name in its header row"),
    ("id,name\n1,a\n2,b,c\n", "loading out/tables/clean.csv into out.c-shop.clean: DuckDB could not load it"),
])
def test_an_output_that_is_not_a_csv_with_a_header_is_named(orders: Any, content: str, problem: str) -> None:
    put(orders, "out.c-shop.good", "SELECT 1 AS id")
    config = save(orders, "clean", f"""\
        open("out/tables/good.csv", "w").write("id\\n2\\n")
        open("out/tables/clean.csv", "w").write({content!r})
        """, outputs=["out.c-shop.good", "out.c-shop.clean"])
    job = orders.run(config.name)
    assert job.status == "error"
    assert problem in job.error
    assert fetch(orders, 'SELECT id FROM "out.c-shop".good') == [(1,)]  # loaded before the failure, rolled back


def test_output_manifest_columns_and_primary_key(orders: Any) -> None:
    """A CSV without a header row takes its columns from the manifest; the manifest's primary key serves when the
    configuration sets none: the second incremental run upserts instead of adding the rows again."""
    config = save(orders, "clean", """\
        import json
        open("out/tables/clean.csv", "w").write("1,a\\n2,c\\n")
        json.dump({"columns": ["id", "name"], "primary_key": ["id"]}, open("out/tables/clean.csv.manifest", "w"))
        """, outputs=[{"destination": "out.c-shop.clean", "incremental": True}])
    for _ in range(2):
        job = orders.run(config.name)
        assert job.status == "success", job.error
    assert fetch(orders, 'SELECT id, name FROM "out.c-shop".clean ORDER BY id') == [(1, "a"), (2, "c")]
    assert orders.storage.metadata("out.c-shop.clean")["primary_key"] == ["id"]


def test_a_syntax_error_is_caught_before_anything_runs(orders: Any) -> None:
    with pytest.raises(KeboolaError, match=r"Python syntax error at block 'Block 1', code 'broken', line 3"):
        PYTHON.build_code("broken", "import os\n\nvalues = [1, 2\nprint(values)\n", inputs=[], outputs=[])
    config = save(orders, "broken", "x = 1\n")
    config.configuration["parameters"]["blocks"][0]["codes"][0]["script"] = ["x = 1\ndef f(:\n    pass\n"]
    orders.configs.save(config)
    job = orders.run(config.name)
    assert job.status == "error" and "line 2" in job.error and "syntax" in job.error
    assert not runs(orders).exists()  # refused before a data folder was made


def test_output_is_captured_in_the_job_log_last_lines_only(orders: Any) -> None:
    config = save(orders, "chatty", """\
        import sys, time
        for i in range(500):
            print(f"line {i}")
        time.sleep(0.5)  # stdout and stderr are two pipes read apart: let stdout's lines arrive first
        print("a warning", file=sys.stderr)
        """, outputs=[])
    job = orders.run(config.name)
    assert job.status == "success", job.error
    kept = [line for line in job.log if " script: line " in line or " script (stderr): " in line]
    assert len(kept) == 200
    assert kept[-1].endswith("script (stderr): a warning")
    assert kept[0].endswith("script: line 301") and not any(line.endswith("script: line 300") for line in kept)
    assert any("301 earlier line(s) of output left out" in line for line in job.log)


def test_packages_must_be_a_list_and_unknown_ones_are_a_notice() -> None:
    with pytest.warns(KeboolaNotice, match=r"Keboola pip-installs surely-not-installed-xyz before") as caught:
        PYTHON.build_code("pkgs", COPY, inputs=[], outputs=[],
                          parameters={"packages": ["pandas>=2", "surely-not-installed-xyz==1.0"]})
    assert "pandas" not in str(caught[0].message).split("pip-installs", 1)[1].split("before")[0]
    with pytest.raises(KeboolaError, match=r"parameters.packages must be a list"):
        PYTHON.build_code("pkgs", COPY, inputs=[], outputs=[], parameters={"packages": "pandas"})


def test_the_script_runs_with_the_kernels_python(orders: Any) -> None:
    config = save(orders, "which", "import sys\nprint(sys.executable)\n", outputs=[])
    job = orders.run(config.name)
    assert job.status == "success", job.error
    assert printed(job) == [sys.executable]
    assert re.search(r"the script ran in [\d.]+ s", "\n".join(job.log))


def test_variables_fill_the_script_when_it_runs(orders: Any) -> None:
    code = """\
        import pandas as pd
        orders = pd.read_csv("in/tables/orders.csv")
        print("keeping {{status}}")
        orders[orders["status"] == "{{status}}"].to_csv("out/tables/clean.csv", index=False)
    """
    orders.transformations.create_python("by_status", textwrap.dedent(code), inputs=["in.c-shop.orders"],
                                         outputs=["out.c-shop.clean"], variables={"status": "open"})
    job = orders.run("by_status")
    assert job.status == "success", job.error
    assert "keeping open" in printed(job)
    statuses = {r[0] for r in fetch(orders, 'SELECT DISTINCT status FROM "out.c-shop".clean')}
    assert statuses == {"open"}


def test_the_script_does_not_see_the_kernels_secrets(orders: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_DB_PASSWORD", "canary-not-for-scripts")
    code = """\
        import os
        print("password:", os.environ.get("SHOP_DB_PASSWORD"), "datadir set:", bool(os.environ.get("KBC_DATADIR")))
        open("out/tables/clean.csv", "w").write("id\\n1\\n")
    """
    job = orders.run(save(orders, "env", code).name)
    assert job.status == "success", job.error
    assert "password: None datadir set: True" in printed(job)
