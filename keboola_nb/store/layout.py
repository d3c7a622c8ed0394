"""The Keboola CLI (`kbc`) project layout on disk.

```
.keboola/manifest.json                 version 2; configurations[{branchId, componentId, id, path, rows[{id, path}]}]
main/meta.json                         {"name": "Main", "isDefault": true}
main/<type>/<componentId>/<config>/    config.json  meta.json  description.md
    rows/<row>/                        config.json  meta.json  description.md
```
A configuration is written into a fresh folder and swapped in by rename, so a reader sees the old or the
new configuration, never a mix.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

from ..model.configuration import ConfigRow, Configuration, slug
from .files import read_json, write_json_atomic, write_text_atomic

BRANCH_ID = 0  # the default branch until the project is linked to a Keboola project
BRANCH_PATH = "main"

NAMING = {
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


class Layout:
    def __init__(self, root: Path, folder_of: Callable[[str], str]) -> None:
        self.root = root
        self.folder_of = folder_of  # a component id's folder: extractor, writer, transformation, other
        self.manifest_path = root / ".keboola" / "manifest.json"
        self.branch_dir = root / BRANCH_PATH

    def init(self) -> None:
        if not self.manifest_path.exists():
            write_json_atomic(
                self.manifest_path,
                {
                    "version": 2,
                    "project": {"id": 0, "apiHost": ""},
                    "allowTargetEnv": False,
                    "sortBy": "id",
                    "naming": NAMING,
                    "allowedBranches": ["__main__"],
                    "ignoredComponents": [],
                    "templates": {"repositories": []},
                    "branches": [{"id": BRANCH_ID, "path": BRANCH_PATH}],
                    "configurations": [],
                },
            )
        if not (self.branch_dir / "meta.json").exists():
            write_json_atomic(self.branch_dir / "meta.json", {"name": "Main", "isDefault": True})
            write_text_atomic(self.branch_dir / "description.md", "")
        gitignore = self.root / ".gitignore"
        if not gitignore.exists():
            write_text_atomic(gitignore, "/.env.local\n/.keboola-nb/\n")
        if not (self.root / "description.md").exists():
            write_text_atomic(self.root / "description.md", "")

    def manifest(self) -> dict[str, Any]:
        return read_json(self.manifest_path, default={"configurations": []})

    def entries(self) -> list[dict[str, Any]]:
        return list(self.manifest().get("configurations", []))

    def read(self, entry: dict[str, Any]) -> Configuration:
        folder = self.branch_dir / entry["path"]
        meta = read_json(folder / "meta.json", default={})
        rows = []
        for row_entry in entry.get("rows", []):
            row_dir = folder / row_entry["path"]
            row_meta = read_json(row_dir / "meta.json", default={})
            rows.append(
                ConfigRow(
                    id=str(row_entry["id"]),
                    name=row_meta.get("name", row_entry["path"].rsplit("/", 1)[-1]),
                    configuration=read_json(row_dir / "config.json", default={}),
                    description=_read_text(row_dir / "description.md"),
                    is_disabled=bool(row_meta.get("isDisabled", False)),
                )
            )
        return Configuration(
            component_id=entry["componentId"],
            id=str(entry["id"]),
            name=meta.get("name", entry["path"].rsplit("/", 1)[-1]),
            configuration=read_json(folder / "config.json", default={}),
            rows=rows,
            description=_read_text(folder / "description.md"),
            is_disabled=bool(meta.get("isDisabled", False)),
        )

    def config_path(self, config: Configuration) -> str:
        return f"{self.folder_of(config.component_id)}/{config.component_id}/{slug(config.name)}"

    def write(self, config: Configuration, old_path: str | None) -> None:
        """Write the configuration's folder and its manifest entry (caller holds the project lock)."""
        path = self.config_path(config)
        target = self.branch_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.new-"))
        try:
            _write_folder(staging, config.configuration, config.name, config.description, config.is_disabled)
            row_entries = []
            for row in config.rows:
                row_path = f"rows/{slug(row.name)}"
                _write_folder(staging / row_path, row.configuration, row.name, row.description, row.is_disabled)
                row_entries.append({"id": row.id, "path": row_path})
            self._swap_in(staging, target, self.branch_dir / old_path if old_path else None)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        manifest = self.manifest()
        entries = [e for e in manifest.get("configurations", []) if str(e["id"]) != config.id]
        entries.append(
            {"branchId": BRANCH_ID, "componentId": config.component_id, "id": config.id, "path": path, "rows": row_entries}
        )
        manifest["configurations"] = entries
        write_json_atomic(self.manifest_path, manifest)

    def remove(self, entry: dict[str, Any]) -> None:
        manifest = self.manifest()
        manifest["configurations"] = [e for e in manifest["configurations"] if str(e["id"]) != str(entry["id"])]
        write_json_atomic(self.manifest_path, manifest)
        shutil.rmtree(self.branch_dir / entry["path"], ignore_errors=True)

    @staticmethod
    def _swap_in(staging: Path, target: Path, old: Path | None) -> None:
        retired = []
        for existing in {p for p in (target, old) if p is not None and p.exists()}:
            trash = existing.with_name(f".{existing.name}.old-{staging.name[-8:]}")
            existing.rename(trash)
            retired.append(trash)
        staging.rename(target)
        for trash in retired:
            shutil.rmtree(trash, ignore_errors=True)


def _write_folder(folder: Path, configuration: dict[str, Any], name: str, description: str, disabled: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / "config.json", configuration)
    write_json_atomic(folder / "meta.json", {"name": name, "isDisabled": disabled})
    write_text_atomic(folder / "description.md", description)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
