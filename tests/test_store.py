"""The project store: versions, diff, rollback, audit, bad input, and two processes at once."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

import keboola_nb as kb
from keboola_nb.model.configuration import Configuration, ConfigRow


def _config(name: str, marker: int = 0) -> Configuration:
    db = {"host": "h", "port": 5432, "database": "d", "user": "u"}
    row = ConfigRow("1", "t", {"parameters": {"table": {"schema": "public", "tableName": "t"},
                                              "outputTable": "in.c-x.t", "marker": marker}})
    return Configuration("keboola.ex-db-pgsql", "100", name, {"parameters": {"db": db}}, [row])


def test_versions_diff_and_rollback(project, shop):
    project.extractors.create("ver", "shop", ["orders"])
    project.extractors.create("ver", "shop", ["orders", "customers"], replace=True)
    versions = project.configs.versions("ver")
    assert [v.number for v in versions] == [1, 2] and versions[1].change == "replaced"
    diff = project.configs.diff("ver", 1, 2)
    assert '+      "name": "customers"' in diff
    rolled = project.configs.rollback("ver", 1)
    assert rolled.version == 3 and [r.name for r in rolled.rows] == ["orders"]
    on_disk = project.configs.get("ver")
    assert [r.name for r in on_disk.rows] == ["orders"]
    assert not (project.root / "main/extractor/keboola.ex-db-pgsql/ver/rows/customers").exists()
    with pytest.raises(kb.KeboolaError, match="no version 9"):
        project.configs.diff("ver", 1, 9)


def test_audit_trail_marks_the_actor(project, shop):
    project.extractors.create("aud", "shop", ["orders"], actor="assistant")
    project.configs.rollback("aud", 1)
    entries = project.audit.entries()
    actions = [(e["action"], e["target"], e["actor"]) for e in entries]
    assert ("create", "connection/shop", "user") in actions
    assert ("create", "keboola.ex-db-pgsql/aud", "assistant") in actions
    assert ("update", "keboola.ex-db-pgsql/aud", "user") in actions


def test_duplicate_names_are_refused(project, shop, pg):
    project.extractors.create("dup", "shop", ["orders"])
    with pytest.raises(kb.KeboolaError, match="already exists"):
        project.extractors.create("dup", "shop", ["customers"])
    with pytest.raises(kb.KeboolaError, match="already exists"):
        project.connections.add("shop", pg.url("shop", "etl"))
    assert [r.name for r in project.configs.get("dup").rows] == ["orders"]


def test_keboola_rules_reject_bad_rows_and_nothing_is_written(project, shop):
    before = (project.root / ".keboola/manifest.json").read_text()
    cases = [
        ("connection: shop\ntables:\n  - table: public.orders\n    query: SELECT 1\n", "both 'table' and 'query'"),
        ("connection: shop\ntables:\n  - query: SELECT 1\n    name: q\n    incremental_fetching_column: id\n",
         "incremental fetching does not work with 'query'"),
        ("connection: shop\ntables:\n  - table: public.orders\n    colour: red\n", "unknown key(s) colour"),
        ("connection: shop\nextra: 1\ntables: [orders]\n", "unknown key(s) extra"),
        ("connection: shop\ntables:\n  - table: public.orders\n   bad_indent: 1\n", "malformed"),
        ("connection: nope\ntables: [orders]\n", "no connection named 'nope'"),
        ("connection: shop\ntables: [public.nope]\n", "table public.nope was not found"),
        ("connection: shop\ntables:\n  - table: orders\n    incremental_fetching_column: status\n",
         "needs a number or a timestamp"),
    ]
    for body, message in cases:
        with pytest.raises(kb.KeboolaError) as e:
            project.extractors.create_from_yaml("bad", body)
        assert message in str(e.value), (body, str(e.value))
    assert (project.root / ".keboola/manifest.json").read_text() == before
    assert not (project.root / "main/extractor").exists()


def test_hand_edited_config_is_validated_at_run(project, shop):
    config = project.extractors.create("hand", "shop", ["orders"])
    row_file = project.root / "main/extractor/keboola.ex-db-pgsql/hand/rows/orders/config.json"
    data = json.loads(row_file.read_text())
    data["parameters"]["query"] = "SELECT 1"
    row_file.write_text(json.dumps(data))
    job = project.run("hand")
    assert job.status == "error" and "both 'table' and 'query'" in job.error
    assert config.id == project.configs.get("hand").id


def test_plain_text_secret_is_refused(project):
    config = _config("leaky")
    config.configuration["parameters"]["db"]["#password"] = "hunter2-plain"
    with pytest.raises(kb.KeboolaError, match="plain-text secret"):
        project.configs.save(config)
    assert "hunter2-plain" not in "".join(p.read_text() for p in project.root.rglob("*.json"))


def _save_many(root: str, worker: int, count: int) -> None:
    proj = kb.Project.open(root)
    for i in range(count):
        config = _config(f"w{worker}-c{i}", marker=i)
        config.id = f"{worker}{i:03d}"
        proj.configs.save(config)


def test_two_processes_saving_at_once(project):
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_save_many, args=(str(project.root), w, 15)) for w in (1, 2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    manifest = json.loads((project.root / ".keboola/manifest.json").read_text())
    assert len(manifest["configurations"]) == 30
    assert len(project.configs.list()) == 30
    assert sum(1 for _ in (project.local / "versions").rglob("*.json")) == 30
    assert not list(Path(project.root / "main").rglob(".*.new-*"))  # no half-written folders left


def _load_many(root: str, worker: int) -> None:
    from keboola_nb.connectors import Scan

    proj = kb.Project.open(root)
    for i in range(5):
        with proj.storage.transaction() as loader:
            loader.load(f"in.c-w{worker}.t", Scan(f"SELECT range AS id, {i} AS run FROM range(1000)"))


def test_two_processes_share_the_storage(project):
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_load_many, args=(str(project.root), w)) for w in (1, 2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    tables = project.storage.tables().set_index("id")
    assert tables.loc["in.c-w1.t", "rows"] == 1000 and tables.loc["in.c-w2.t", "rows"] == 1000


def test_open_refuses_a_folder_with_other_files(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(kb.KeboolaError, match="no .keboola/manifest.json"):
        kb.Project.open(tmp_path)


def test_storage_errors_are_clear(project):
    with pytest.raises(kb.KeboolaError, match="not a storage table id"):
        project.storage.preview("orders")
    with pytest.raises(kb.KeboolaError, match="storage has no table in.c-x.y"):
        project.storage.preview("in.c-x.y")
