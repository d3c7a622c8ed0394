"""What the Keboola CLI (keboola/keboola-as-code) writes and requires, as its own fixtures and code show it:
a folder laid out as `kbc init` + `kbc pull` leave it, and kbc's checks of a manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PROJECT_ID = 12345
API_HOST = "connection.keboola.com"
BRANCH_ID = 987
OTHER_BRANCH_ID = 988

# `kbc init` (test/cli/project-init/ok/out/.keboola/manifest.json), with the ids filled in.
INIT_NAMING = {
    "branch": "{branch_name}",
    "config": "{component_type}/{component_id}/{config_name}",
    "configRow": "rows/{config_row_name}",
    "schedulerConfig": "schedules/{config_name}",
    "sharedCodeConfig": "_shared/{target_component_id}",
    "sharedCodeConfigRow": "codes/{config_row_name}",
    "variablesConfig": "variables",
    "variablesValuesRow": "values/{config_row_name}",
    "dataAppConfig": "app/{component_id}/{config_name}",
}
INIT_TEMPLATES = {"repositories": [
    {"type": "git", "name": "keboola", "url": "https://github.com/keboola/keboola-as-code-templates.git",
     "ref": "main"},
    {"type": "git", "name": "keboola-components",
     "url": "https://github.com/keboola/keboola-as-code-templates-components.git", "ref": "main"},
]}


def _json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def kbc_pulled_folder(root: Path) -> Path:
    """A project folder as `kbc init --branches "*"` then `kbc pull` leave it: two branches, a MySQL extractor
    with a row and a schedule in the main branch (its password a vault placeholder, as in
    test/cli/push/vault-validation), an S3 extractor and a MySQL writer whose row reads the extractor's default
    bucket through a placeholder (test/cli/pull/im-default-bucket-row), and in branch foo a configuration with
    the same id as one in main."""
    _json(root / ".keboola/manifest.json", {
        "version": 2,
        "project": {"id": PROJECT_ID, "apiHost": API_HOST},
        "allowTargetEnv": False,
        "sortBy": "path",
        "naming": INIT_NAMING,
        "allowedBranches": ["__all__"],
        "ignoredComponents": [],
        "templates": INIT_TEMPLATES,
        "branches": [{"id": OTHER_BRANCH_ID, "path": "foo"}, {"id": BRANCH_ID, "path": "main"}],
        "configurations": [
            {"branchId": OTHER_BRANCH_ID, "componentId": "keboola.ex-db-mysql", "id": "456",
             "path": "extractor/keboola.ex-db-mysql/my-config", "rows": []},
            {"branchId": BRANCH_ID, "componentId": "keboola.ex-db-mysql", "id": "456",
             "path": "extractor/keboola.ex-db-mysql/my-config", "rows": [{"id": "789", "path": "rows/users"}]},
            {"branchId": BRANCH_ID, "componentId": "keboola.scheduler", "id": "1001", "path": "schedules/nightly",
             "relations": [{"componentId": "keboola.ex-db-mysql", "configId": "456", "type": "schedulerFor"}],
             "rows": []},
            {"branchId": BRANCH_ID, "componentId": "keboola.ex-aws-s3", "id": "123",
             "path": "extractor/keboola.ex-aws-s3/om-default-bucket", "rows": []},
            {"branchId": BRANCH_ID, "componentId": "keboola.wr-db-mysql", "id": "124",
             "path": "writer/keboola.wr-db-mysql/im-default-bucket", "rows": [{"id": "125", "path": "rows/test"}]},
        ],
    })
    (root / ".env.local").write_text('KBC_STORAGE_API_TOKEN="not-a-real-token"\n')
    (root / ".env.dist").write_text("KBC_STORAGE_API_TOKEN=\n")
    (root / ".gitignore").write_text("/.env.local\n/.keboola/project.json\n")
    _json(root / ".keboola/project.json", {"backends": ["snowflake"], "features": [], "defaultBranchId": BRANCH_ID})
    (root / "description.md").write_text("\n")
    for branch, name, default in (("main", "Main", True), ("foo", "foo", False)):
        _json(root / branch / "meta.json", {"name": name, "isDefault": default})
        (root / branch / "description.md").write_text("\n")
    mysql = root / "main/extractor/keboola.ex-db-mysql/my-config"
    db = {"host": "mysql.example.com", "#password": "{{ vault.test_pass }}", "port": 3306, "user": "root",
          "database": "shop"}
    _json(mysql / "config.json", {"parameters": {"db": db}})
    _json(mysql / "meta.json", {"name": "my config", "isDisabled": False})
    (mysql / "description.md").write_text("test fixture\n")
    _json(mysql / "rows/users/config.json", {"parameters": {"table": {"schema": "shop", "tableName": "users"},
                                                            "outputTable": "in.c-shop.users", "incremental": False}})
    _json(mysql / "rows/users/meta.json", {"name": "users", "isDisabled": False})
    (mysql / "rows/users/description.md").write_text("test fixture\n")
    _json(mysql / "schedules/nightly/config.json", {"schedule": {"cronTab": "0 1 * * *", "timezone": "UTC",
                                                                 "state": "enabled"}, "target": {"mode": "run"}})
    _json(mysql / "schedules/nightly/meta.json", {"name": "nightly", "isDisabled": False})
    (mysql / "schedules/nightly/description.md").write_text("\n")
    other = root / "foo/extractor/keboola.ex-db-mysql/my-config"
    _json(other / "config.json", {"parameters": {"db": {"host": "other.example.com"}}})
    _json(other / "meta.json", {"name": "my config in foo", "isDisabled": False})
    s3 = root / "main/extractor/keboola.ex-aws-s3/om-default-bucket"
    _json(s3 / "config.json", {})
    _json(s3 / "meta.json", {"name": "om-default-bucket", "isDisabled": False})
    writer = root / "main/writer/keboola.wr-db-mysql/im-default-bucket"
    _json(writer / "config.json", {})
    _json(writer / "meta.json", {"name": "im-default-bucket", "isDisabled": False})
    _json(writer / "rows/test/config.json", {"parameters": {}, "storage": {"input": {"tables": [{
        "columns": [], "source": "{{:default-bucket:extractor/keboola.ex-aws-s3/om-default-bucket}}.table",
        "destination": "table", "where_column": "", "where_operator": "eq", "where_values": []}]}}})
    _json(writer / "rows/test/meta.json", {"name": "test", "isDisabled": False})
    return root


def problems(root: Path) -> list[str]:
    """What kbc would refuse in the folder's manifest (internal/pkg/project/manifest: its validate tags), and
    records whose folder is missing; empty when kbc takes it."""
    manifest = json.loads((root / ".keboola/manifest.json").read_text())
    found = []
    if manifest.get("version") not in (1, 2):
        found.append('"version" must be 1 or 2')
    project = manifest.get("project") or {}
    for key in ("id", "apiHost"):
        if not project.get(key):
            found.append(f'"project.{key}" is a required field')
    if manifest.get("sortBy", "id") not in ("id", "path"):
        found.append('"sortBy" must be one of [id path]')
    naming = manifest.get("naming") or {}
    for key in INIT_NAMING:
        if key != "branch" and not naming.get(key):
            found.append(f'"naming.{key}" is a required field')
    if not manifest.get("allowedBranches"):
        found.append('"allowedBranches" is a required field')
    branches = {}
    for i, branch in enumerate(manifest.get("branches") or []):
        if not branch.get("id"):
            found.append(f'"branches[{i}].id" is a required field')
        if not branch.get("path"):
            found.append(f'"branches[{i}].path" is a required field')
        branches[branch.get("id")] = branch.get("path")
    configs = manifest.get("configurations") or []
    for i, config in enumerate(configs):
        for key in ("branchId", "componentId", "id", "path"):
            if not config.get(key):
                found.append(f'"configurations[{i}].{key}" is a required field')
        if not isinstance(config.get("id"), str):
            found.append(f'"configurations[{i}].id" must be a string')
        for j, row in enumerate(config.get("rows") or []):
            if not row.get("id") or not row.get("path") or not isinstance(row.get("id"), str):
                found.append(f'"configurations[{i}].rows[{j}]" needs a string id and a path')
        folder = root / str(branches.get(config.get("branchId"), "?")) / _folder(config, configs)
        if not (folder / "meta.json").is_file():
            found.append(f"{folder.relative_to(root)}/meta.json is missing")
        for row in config.get("rows") or []:
            if not (folder / row["path"] / "config.json").is_file():
                found.append(f"{folder.relative_to(root)}/{row['path']}/config.json is missing")
    keys = [(c.get("branchId"), c.get("componentId"), c.get("id")) for c in configs]
    if len(set(keys)) != len(keys):
        found.append("two configuration records have the same branch, component and id")
    return found


def _folder(config: dict[str, Any], configs: list[dict[str, Any]]) -> str:
    for relation in config.get("relations") or []:
        if relation.get("type") in ("schedulerFor", "variablesFor"):
            parent = next(c for c in configs if c["branchId"] == config["branchId"]
                          and c["componentId"] == relation["componentId"] and c["id"] == relation["configId"])
            return f"{_folder(parent, configs)}/{config['path']}"
    return str(config["path"])


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (relative path -> bytes)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
