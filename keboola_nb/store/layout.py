"""The Keboola CLI (`kbc`) project layout on disk.

```
.keboola/manifest.json       version 2; project{id, apiHost}; naming; branches[{id, path}];
                             configurations[{branchId, componentId, id, path, rows[{id, path}]}]
main/meta.json               {"name": "Main", "isDefault": true}
main/<type>/<componentId>/<config>/    config.json  meta.json  description.md
    rows/<row>/                        config.json  meta.json  description.md
```
A folder that `kbc init` or `kbc pull` made keeps its project, branches, naming and configurations; keboola_nb
works in the default branch and adds its configurations there, named by the manifest's templates. A project
started here is not linked to a Keboola project until `link()` gives it the project id, API host and branch
id: until then the manifest leaves them out rather than hold ids kbc would take for real.

A configuration is written into a fresh folder and swapped in by rename, so a reader sees the old or the new
configuration, never a mix; what kbc keeps beside it (schedules/, variables/, ...) moves with it.
"""

from __future__ import annotations

import functools
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import KeboolaError
from ..model.configuration import ConfigRow, Configuration
from . import default_bucket
from .blocks import CodeFiles, read_blocks, write_blocks
from .files import read_json, write_json_atomic, write_text_atomic
from .naming import NAMING, fill, normalize_name, unique
from .phases import PHASES, read_phases, split_phases, write_phases

MAIN = "main"  # kbc's folder of the default branch
# kbc keeps these configurations inside the one they belong to; their manifest path is relative to it.
_CHILD_RELATIONS = ("schedulerFor", "variablesFor")
# A child's naming keys: its folder in the parent's, its rows' folders.
_CHILD_NAMING = {"variablesFor": ("variablesConfig", "variablesValuesRow"),
                 "schedulerFor": ("schedulerConfig", "configRow")}
# kbc's fallback for naming keys a manifest leaves out: the templates with ids.
_NAMING_WITH_IDS = {
    "config": "{component_type}/{component_id}/{config_id}-{config_name}",
    "configRow": "rows/{config_row_id}-{config_row_name}",
}
_TEMPLATE_REPOSITORIES = [
    {"type": "git", "name": "keboola", "url": "https://github.com/keboola/keboola-as-code-templates.git",
     "ref": "main"},
    {"type": "git", "name": "keboola-components",
     "url": "https://github.com/keboola/keboola-as-code-templates-components.git", "ref": "main"},
]
_OWN_FILES = {"config.json", "meta.json", "description.md", "rows"}
_API_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d+)?$")


@dataclass(frozen=True)
class Link:
    """The Keboola project a folder pushes to."""

    project_id: int
    api_host: str
    branch_id: int

    def __str__(self) -> str:
        return f"project {self.project_id} at {self.api_host}, branch {self.branch_id}"


class Layout:
    def __init__(self, root: Path, folder_of: Callable[[str], str],
                 code_of: Callable[[str], CodeFiles | None] = lambda component_id: None,
                 phases_of: Callable[[str], bool] = lambda component_id: False) -> None:
        self.root = root
        self.folder_of = folder_of  # a component id's folder: extractor, writer, transformation, other
        self.code_of = code_of  # how a transformation's code is kept in files; None: in config.json
        self.phases_of = phases_of  # a legacy flow: its phases and tasks kept in phases/ folders
        self.manifest_path = root / ".keboola" / "manifest.json"
        self._branch_dir: tuple[tuple[int, int], Path] | None = None

    # the project -------------------------------------------------------------------------------------
    def init(self) -> None:
        """Make what a new project needs; in a folder kbc made, add only what is missing."""
        if not self.manifest_path.exists():
            write_json_atomic(self.manifest_path, {
                "version": 2,
                "allowTargetEnv": False,
                "sortBy": "id",
                "naming": NAMING,
                "allowedBranches": ["__main__"],
                "ignoredComponents": [],
                "templates": {"repositories": _TEMPLATE_REPOSITORIES},
                "branches": [{"path": MAIN}],
                "configurations": [],
            })
        branch_dir = self.branch_dir
        if not (branch_dir / "meta.json").exists():
            write_json_atomic(branch_dir / "meta.json", {"name": "Main", "isDefault": True})
            write_text_atomic(branch_dir / "description.md", "\n")
        if not (self.root / "description.md").exists():
            write_text_atomic(self.root / "description.md", "\n")
        _ensure_lines(self.root / ".gitignore", ["/.env.local", "/.keboola/project.json", "/.keboola-nb/"])

    def manifest(self) -> dict[str, Any]:
        manifest = read_json(self.manifest_path)
        if not isinstance(manifest, dict):
            raise KeboolaError(f"{self.manifest_path} is missing or not a kbc manifest",
                               fix="open a folder made by keboola_nb or by kbc init / kbc pull")
        return manifest

    def link(self) -> Link | None:
        """The Keboola project this folder pushes to; None until it is linked."""
        manifest = self.manifest()
        project = manifest.get("project") or {}
        branch_id = self._branch(manifest).get("id")
        if not project.get("id") or not project.get("apiHost") or not branch_id:
            return None
        return Link(int(project["id"]), str(project["apiHost"]), int(branch_id))

    def set_link(self, link: Link) -> None:
        """Link the folder to a Keboola project (caller holds the project lock): the manifest's project, the
        default branch's id and every configuration of that branch."""
        if link.project_id <= 0 or link.branch_id <= 0:
            raise KeboolaError(f"project id {link.project_id} and branch id {link.branch_id} must be positive numbers",
                               fix="copy them from the project's URL in Keboola (…/admin/projects/ID/…) or "
                                   "from a kbc checkout's .keboola/manifest.json")
        host = link.api_host.removeprefix("https://")
        if not _API_HOST.match(host):
            raise KeboolaError(f"{link.api_host!r} is not a Keboola API host",
                               fix="give the stack's host, e.g. connection.keboola.com or "
                                   "connection.eu-central-1.keboola.com")
        manifest = self.manifest()
        branch = self._branch(manifest)
        old_id = branch.get("id")
        others = [b for b in manifest.get("branches", []) if b is not branch]
        if any(b.get("id") == link.branch_id for b in others):
            raise KeboolaError(f"branch id {link.branch_id} is already another branch's in this folder",
                               fix="give the id of the default branch (main)")
        project = manifest.get("project") or {}
        if others and project.get("id") and int(project["id"]) != link.project_id:
            raise KeboolaError(f"this folder holds branches of Keboola project {project['id']}; linking it to "
                               f"project {link.project_id} would mix the two",
                               fix="check out the other project with kbc init in a new folder, and link that")
        manifest["configurations"] = [_first(e, "branchId", link.branch_id) if e.get("branchId") == old_id else e
                                      for e in manifest.get("configurations", [])]
        manifest["branches"] = [_first(b, "id", link.branch_id) if b is branch else b for b in manifest["branches"]]
        manifest["project"] = {"id": link.project_id, "apiHost": host}
        write_json_atomic(self.manifest_path, _ordered(manifest))

    @property
    def branch_dir(self) -> Path:
        """The default branch's folder (remembered while the manifest is unchanged: it is asked for per entry)."""
        stat = self.manifest_path.stat()
        stamp = (stat.st_mtime_ns, stat.st_ino)  # written by rename: a new file each time
        if self._branch_dir is None or self._branch_dir[0] != stamp:
            self._branch_dir = (stamp, self.root / self._branch(self.manifest()).get("path", MAIN))
        return self._branch_dir[1]

    def _branch(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """The manifest's entry of the default branch: the one whose meta.json says so (kbc's rule)."""
        branches = manifest.setdefault("branches", [])
        for branch in branches:
            if (read_json(self.root / branch.get("path", "") / "meta.json", default={}) or {}).get("isDefault"):
                return branch
        for branch in branches:
            if branch.get("path") == MAIN:
                return branch
        if not branches:
            branches.append({"path": MAIN})
        return branches[0]

    # configurations ----------------------------------------------------------------------------------
    def entries(self) -> list[dict[str, Any]]:
        """The manifest entries of the default branch's configurations (other branches' are kept, not listed)."""
        manifest = self.manifest()
        branch_id = self._branch(manifest).get("id")
        return [e for e in manifest.get("configurations", []) if e.get("branchId") == branch_id]

    def folder(self, entry: dict[str, Any], entries: list[dict[str, Any]] | None = None) -> str:
        """A configuration's folder relative to the branch (a schedule's or variables' is inside its parent's)."""
        for relation in entry.get("relations") or []:
            if relation.get("type") in _CHILD_RELATIONS:
                parent = next((e for e in entries or self.entries()
                               if e["componentId"] == relation.get("componentId")
                               and str(e["id"]) == str(relation.get("configId"))), None)
                if parent is not None:
                    return f"{self.folder(parent, entries)}/{entry['path']}"
        return str(entry["path"])

    def name_of(self, entry: dict[str, Any], entries: list[dict[str, Any]] | None = None) -> str:
        """A configuration's name, from its meta.json (the folder name is only kbc's rendering of it)."""
        folder = self.folder(entry, entries)
        return str((read_json(self.branch_dir / folder / "meta.json", default={}) or {}).get("name")
                   or folder.rsplit("/", 1)[-1])

    def read(self, entry: dict[str, Any], entries: list[dict[str, Any]] | None = None) -> Configuration:
        entries = entries if entries is not None else self.entries()
        folder = self.branch_dir / self.folder(entry, entries)
        if not folder.is_dir():
            time.sleep(0.05)  # another kernel may be swapping it in: two renames apart
            if not folder.is_dir():
                raise KeboolaError(f"configuration {entry['componentId']}/{entry['id']}: its folder "
                                   f"{folder.relative_to(self.root)} is missing",
                                   fix="restore it from version control, or remove its record from "
                                       ".keboola/manifest.json")
        buckets = functools.cache(lambda: self._buckets(entries))
        meta = read_json(folder / "meta.json", default={}) or {}
        configuration = read_json(folder / "config.json", default={})
        code_files = self.code_of(entry["componentId"])
        if code_files is not None:
            configuration = read_blocks(folder, configuration, code_files)
        if self.phases_of(entry["componentId"]):
            configuration = read_phases(folder, configuration, lambda path: self._config_at(path, entries))
        rows = []
        for row_entry in entry.get("rows") or []:
            row_dir = folder / row_entry["path"]
            row_meta = read_json(row_dir / "meta.json", default={}) or {}
            rows.append(ConfigRow(
                id=str(row_entry["id"]),
                name=row_meta.get("name") or row_entry["path"].rsplit("/", 1)[-1],
                configuration=default_bucket.resolve(read_json(row_dir / "config.json", default={}), buckets),
                description=_read_description(row_dir / "description.md"),
                is_disabled=bool(row_meta.get("isDisabled", False)),
            ))
        return Configuration(
            component_id=entry["componentId"],
            id=str(entry["id"]),
            name=meta.get("name") or folder.name,
            configuration=default_bucket.resolve(configuration, buckets),
            rows=rows,
            description=_read_description(folder / "description.md"),
            is_disabled=bool(meta.get("isDisabled", False)),
        )

    def write(self, config: Configuration, child_of: dict[str, str] | None = None,
              row_relations: dict[str, list[dict[str, Any]]] | None = None) -> None:
        """Write the configuration's folder and its manifest entry (caller holds the project lock). A new
        configuration that belongs to another (`child_of`: {componentId, configId, type: variablesFor}) goes into
        that one's folder, as kbc keeps it; `row_relations` are new rows' relations (variablesValuesFor)."""
        manifest = self.manifest()
        branch_id = self._branch(manifest).get("id")
        entries = [e for e in manifest.get("configurations", []) if e.get("branchId") == branch_id]
        entry = next((e for e in entries if _is(e, config.component_id, config.id)), None)
        old_folder = self.folder(entry, entries) if entry else None
        others = [e for e in entries if e is not entry]
        relation = child_of or next((r for r in (entry or {}).get("relations") or [] if r.get("type") in _CHILD_NAMING),
                                    None)
        row_template = _CHILD_NAMING[relation["type"]][1] if relation else "configRow"
        if entry is not None and (self.name_of(entry, entries) == config.name or old_folder != entry["path"]):
            # kbc's (or a teammate's) folder stays where it is, and one inside another configuration stays there
            path, folder = str(entry["path"]), str(old_folder)
        elif child_of is not None:
            path, folder = self._child_path(manifest, config, child_of, entries)
        else:
            path = folder = self._new_path(manifest, config, {self.folder(e, entries) for e in others})
        old_rows = {str(r["id"]): r for r in (entry or {}).get("rows") or []}
        row_paths = self._row_paths(manifest, config, old_rows, self.branch_dir / old_folder if old_folder else None,
                                    row_template)
        path_of = {bucket: p for p, bucket in self._buckets(others).items()}

        target = self.branch_dir / folder
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.new-"))
        try:
            configuration = config.configuration
            code_files = self.code_of(config.component_id)
            if code_files is not None:
                configuration = write_blocks(staging, configuration, code_files,
                                             self.branch_dir / old_folder if old_folder else None)
            if self.phases_of(config.component_id):
                configuration = self._write_phases(staging, configuration, old_folder, entries)
            _write_folder(staging, default_bucket.placeholders(configuration, path_of), config.name,
                          config.description, config.is_disabled)
            for row, row_path in zip(config.rows, row_paths):
                _write_folder(staging / row_path, default_bucket.placeholders(row.configuration, path_of), row.name,
                              row.description, row.is_disabled)
            if old_folder:
                _keep_the_rest(self.branch_dir / old_folder, staging)
            self._swap_in(staging, target, self.branch_dir / old_folder if old_folder else None)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        new = {"branchId": branch_id, "componentId": config.component_id, "id": config.id}
        if child_of is not None:
            new["relations"] = [child_of]  # written after the path, where kbc writes it
        relations = row_relations or {}
        rows = [{**old_rows.get(row.id, {}), "id": row.id, "path": row_path,
                 **({"relations": relations[row.id]} if row.id in relations and row.id not in old_rows else {})}
                for row, row_path in zip(config.rows, row_paths)]
        new_entry = {**(entry or new), "path": path, "rows": rows}
        if "relations" in new_entry:  # kbc's order: ..., path, relations, rows
            new_entry = {**{k: v for k, v in new_entry.items() if k not in ("relations", "rows")},
                         "relations": new_entry["relations"], "rows": rows}
        if branch_id is None:
            new_entry.pop("branchId", None)
        configurations = manifest.setdefault("configurations", [])
        if entry is None:
            configurations.append(new_entry)
        else:
            configurations[configurations.index(entry)] = new_entry
        write_json_atomic(self.manifest_path, _ordered(manifest))
        if old_folder and old_folder != folder:
            self._moved(old_folder, folder, others)

    def _write_phases(self, staging: Path, configuration: dict[str, Any], old_folder: str | None,
                      entries: list[dict[str, Any]]) -> dict[str, Any]:
        """A legacy flow's phases as kbc keeps them; unchanged ones keep their folders as they were."""
        rest, flow = split_phases(configuration)
        old = self.branch_dir / old_folder if old_folder else None
        if old is not None and (old / PHASES).is_dir():
            if split_phases(read_phases(old, {}, lambda path: self._config_at(path, entries)))[1] == flow:
                return rest  # the folder is carried over with the rest of what kbc keeps
        write_phases(staging, flow, lambda component_id, config_id: next(
            (self.folder(e, entries) for e in entries if _is(e, component_id, config_id)), None))
        return rest

    def _config_at(self, path: str, entries: list[dict[str, Any]]) -> tuple[str, str] | None:
        """The configuration whose folder is `path` (relative to the branch), as (component id, id)."""
        found = next((e for e in entries if self.folder(e, entries) == path.strip("/")), None)
        return (str(found["componentId"]), str(found["id"])) if found else None

    def remove(self, entry: dict[str, Any]) -> None:
        """The configuration's folder and record, with the records of what lives inside it (schedules, variables)."""
        folder = self.folder(entry)
        manifest = self.manifest()

        def inside(e: dict[str, Any]) -> bool:
            return e.get("branchId") == entry.get("branchId") and any(
                r.get("type") in _CHILD_RELATIONS and r.get("componentId") == entry["componentId"]
                and str(r.get("configId")) == str(entry["id"]) for r in e.get("relations") or [])

        manifest["configurations"] = [e for e in manifest.get("configurations", []) if e != entry and not inside(e)]
        write_json_atomic(self.manifest_path, manifest)
        shutil.rmtree(self.branch_dir / folder, ignore_errors=True)

    # naming ------------------------------------------------------------------------------------------
    def _new_path(self, manifest: dict[str, Any], config: Configuration, taken: set[str]) -> str:
        template = (manifest.get("naming") or {}).get("config") or _NAMING_WITH_IDS["config"]
        path = fill(template, {"component_type": self.folder_of(config.component_id),
                               "component_id": config.component_id, "config_id": config.id,
                               "config_name": normalize_name(config.name)})
        parent = path.rpartition("/")[0]
        on_disk = self.branch_dir / parent
        if on_disk.is_dir():  # a folder no record names (copied in for kbc persist, say) is never replaced
            taken = taken | {f"{parent}/{d.name}" if parent else d.name for d in on_disk.iterdir()}
        return unique(path, taken)

    def _child_path(self, manifest: dict[str, Any], config: Configuration, child_of: dict[str, str],
                    entries: list[dict[str, Any]]) -> tuple[str, str]:
        """A new child's manifest path (relative to its parent) and its folder in the branch."""
        parent = next((e for e in entries if _is(e, child_of["componentId"], str(child_of["configId"]))), None)
        if parent is None:
            raise KeboolaError(f"configuration {child_of['componentId']}/{child_of['configId']} is not in the project",
                               fix="save it before what belongs to it")
        key = _CHILD_NAMING[child_of["type"]][0]
        template = (manifest.get("naming") or {}).get(key) or NAMING[key]
        parent_folder = self.folder(parent, entries)
        on_disk = self.branch_dir / parent_folder
        taken = {d.name for d in on_disk.iterdir()} if on_disk.is_dir() else set()
        path = unique(fill(template, {"config_name": normalize_name(config.name), "config_id": config.id}), taken)
        return path, f"{parent_folder}/{path}"

    def _row_paths(self, manifest: dict[str, Any], config: Configuration, old_rows: dict[str, dict[str, Any]],
                   old_folder: Path | None, template_key: str = "configRow") -> list[str]:
        template = (manifest.get("naming") or {}).get(template_key) or _NAMING_WITH_IDS.get(template_key) \
            or NAMING[template_key]
        paths: list[str] = []
        for row in config.rows:
            old = old_rows.get(row.id)
            old_name = (read_json(old_folder / old["path"] / "meta.json", default={}) or {}).get("name") \
                if old and old_folder else None
            if old and old_name == row.name and old["path"] not in paths:
                paths.append(str(old["path"]))
                continue
            path = fill(template, {"config_row_id": row.id, "config_row_name": normalize_name(row.name) or "row"})
            taken = set(paths) | {str(r["path"]) for rid, r in old_rows.items()
                                  if rid != row.id and rid in {x.id for x in config.rows}}
            paths.append(unique(path, taken, "config-row"))
        return paths

    def _buckets(self, entries: list[dict[str, Any]]) -> dict[str, str]:
        """Each configuration's folder in the branch -> its default bucket."""
        return {self.folder(e, entries): default_bucket.bucket_of(e["componentId"], str(e["id"])) for e in entries}

    def _moved(self, old: str, new: str, others: list[dict[str, Any]]) -> None:
        """A renamed configuration's folder: other configurations' placeholders follow it, as kbc's do."""
        before, after = "{{:default-bucket:" + old + "}}", "{{:default-bucket:" + new + "}}"
        for entry in others:
            folder = self.branch_dir / self.folder(entry, others)
            rows = [folder / r["path"] / "config.json" for r in entry.get("rows") or []]
            for path in [folder / "config.json", *rows]:
                try:
                    text = path.read_text(encoding="utf-8")
                except FileNotFoundError:
                    continue
                if before in text:
                    write_text_atomic(path, text.replace(before, after))

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


def _is(entry: dict[str, Any], component_id: str, config_id: str) -> bool:
    return entry.get("componentId") == component_id and str(entry.get("id")) == config_id


def _first(entry: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """`entry` with `key` set to `value` as its first key, where kbc writes it."""
    return {key: value, **{k: v for k, v in entry.items() if k != key}}


def _keep_the_rest(old: Path, staging: Path) -> None:
    """What kbc keeps in a configuration's folder besides its own files (schedules/, variables/, blocks/, ...)."""
    for child in old.iterdir() if old.is_dir() else []:
        if child.name not in _OWN_FILES and not (staging / child.name).exists():
            (shutil.copytree if child.is_dir() else shutil.copy2)(child, staging / child.name)


def _write_folder(folder: Path, configuration: dict[str, Any], name: str, description: str, disabled: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / "config.json", configuration)
    write_json_atomic(folder / "meta.json", {"name": name, "isDisabled": disabled})
    write_text_atomic(folder / "description.md", description.rstrip(" \r\n\t") + "\n")


def _read_description(path: Path) -> str:
    """kbc trims the trailing whitespace of a description.md when it reads it."""
    try:
        return path.read_text(encoding="utf-8").rstrip(" \r\n\t")
    except FileNotFoundError:
        return ""


def _ordered(manifest: dict[str, Any]) -> dict[str, Any]:
    """kbc's key order: version and project first."""
    head = ["version", "project", "allowTargetEnv", "sortBy", "naming", "allowedBranches", "ignoredComponents",
            "templates", "branches", "configurations"]
    return {**{k: manifest[k] for k in head if k in manifest}, **{k: v for k, v in manifest.items() if k not in head}}


def _ensure_lines(path: Path, lines: list[str]) -> None:
    """Add the lines a file lacks and keep the rest (kbc treats .gitignore the same way)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    missing = [line for line in lines if line not in text.splitlines()]
    if missing:
        write_text_atomic(path, text + ("\n" if text and not text.endswith("\n") else "") + "\n".join(missing) + "\n")
