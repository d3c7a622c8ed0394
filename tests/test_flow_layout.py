"""Flows in the kbc layout: a legacy `keboola.orchestrator` keeps its phases and tasks as kbc pulls them
(keboola-as-code's `test/cli/pull/orchestrator-partial` fixture: `phases/NNN-name/phase.json` with `dependsOn` by
folder, `phases/NNN-name/NNN-task/task.json` naming its configuration by `configPath`); `keboola.flow` is one
config.json."""

from __future__ import annotations

import json
from pathlib import Path

from kbc import BRANCH_ID, kbc_pulled_folder, problems, snapshot

import keboola_nb as kb

MYSQL = "extractor/keboola.ex-db-mysql/my-config"
WRITER = "writer/keboola.wr-db-mysql/im-default-bucket"


def _json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def pulled_with_a_legacy_flow(root: Path) -> Path:
    kbc_pulled_folder(root)
    manifest = json.loads((root / ".keboola/manifest.json").read_text())
    manifest["configurations"].append({"branchId": BRANCH_ID, "componentId": "keboola.orchestrator", "id": "801",
                                       "path": "other/keboola.orchestrator/orchestrator", "rows": []})
    _json(root / ".keboola/manifest.json", manifest)
    flow = root / "main/other/keboola.orchestrator/orchestrator"
    _json(flow / "config.json", {})
    _json(flow / "meta.json", {"name": "orchestrator", "isDisabled": False})
    (flow / "description.md").write_text("\n")
    (flow / "phases").mkdir(parents=True)
    (flow / "phases/.gitkeep").write_text("")
    _json(flow / "phases/001-phase-1/phase.json", {"name": "Phase 1", "dependsOn": []})
    _json(flow / "phases/001-phase-1/001-task-1/task.json", {
        "name": "Task 1", "enabled": True, "task": {"mode": "run", "configPath": MYSQL}, "continueOnFailure": False})
    _json(flow / "phases/002-phase-2/phase.json", {"name": "Phase 2", "dependsOn": ["001-phase-1"]})
    _json(flow / "phases/002-phase-2/001-task-2/task.json", {
        "name": "Task 2", "enabled": True, "task": {"mode": "run", "configPath": WRITER}, "continueOnFailure": True})
    return root


def test_a_pulled_legacy_flow_reads_as_keboolas_json(tmp_path):
    from keboola_nb.components.flow import ORCHESTRATOR, model

    project = kb.Project.open(pulled_with_a_legacy_flow(tmp_path / "p"))
    config = project.configs.get("orchestrator")
    assert config.configuration["phases"] == [{"id": "1", "name": "Phase 1", "dependsOn": []},
                                              {"id": "2", "name": "Phase 2", "dependsOn": ["1"]}]
    assert [(t["id"], t["phase"], t["task"]) for t in config.configuration["tasks"]] == [
        ("1", "1", {"mode": "run", "componentId": "keboola.ex-db-mysql", "configId": "456"}),
        ("2", "2", {"mode": "run", "componentId": "keboola.wr-db-mysql", "configId": "124"})]
    [(_, flow)] = ORCHESTRATOR.check(config)
    assert model.order(flow) == ["1", "2"]
    assert [t.job.continue_on_failure for t in flow.tasks] == [False, True]


def test_saving_a_legacy_flow_unchanged_keeps_its_files_and_a_change_is_written_as_kbc_writes_it(tmp_path):
    root = pulled_with_a_legacy_flow(tmp_path / "p")
    project = kb.Project.open(root)
    before = snapshot(root / "main")
    project.configs.save(project.configs.get("orchestrator"))
    assert snapshot(root / "main") == before

    config = project.configs.get("orchestrator")
    config.configuration["tasks"][1]["enabled"] = False
    project.configs.save(config)
    task = json.loads((root / "main/other/keboola.orchestrator/orchestrator/phases/002-phase-2/001-task-2/task.json")
                      .read_text())
    assert task == {"name": "Task 2", "enabled": False, "task": {"mode": "run", "configPath": WRITER},
                    "continueOnFailure": True}
    assert json.loads((root / "main/other/keboola.orchestrator/orchestrator/config.json").read_text()) == {}
    assert project.configs.get("orchestrator").configuration == config.configuration
    project.link(12345, "connection.keboola.com", BRANCH_ID)
    assert problems(root) == []


def test_a_new_flow_is_one_config_json_under_other(project):
    from keboola_nb.connectors.base import Scan

    with project.storage.transaction() as loader:
        loader.load("in.c-shop.orders", Scan(sql="SELECT 1 AS id"))
    project.transformations.create_sql("copy", "CREATE TABLE copy AS SELECT id FROM orders",
                                       inputs=["in.c-shop.orders"], outputs=["out.c-x.copy"])
    project.flows.create("daily", "phases:\n  - only: [copy]\n")
    folder = project.layout.branch_dir / "other" / "keboola.flow" / "daily"
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "description.md", "meta.json"]
    saved = json.loads((folder / "config.json").read_text())
    assert [p["id"] for p in saved["phases"]] == ["only"] and saved["tasks"][0]["task"]["componentId"] == \
        "keboola.duckdb-transformation"
