"""A legacy flow's (`keboola.orchestrator`) phases and tasks as kbc keeps them: out of config.json, into folders.

```
<config>/phases/.gitkeep
<config>/phases/001-extract/phase.json               {"name": "Extract", "dependsOn": []}
<config>/phases/001-extract/001-orders/task.json     {"name": "orders", "enabled": true,
                                                      "task": {"mode": "run", "configPath": "extractor/..."},
                                                      "continueOnFailure": false}
<config>/phases/002-load/phase.json                  {"name": "Load", "dependsOn": ["001-extract"]}
```
A task names its configuration by folder (`configPath`, relative to the branch); `dependsOn` names phase folders.
In Keboola's JSON, as kbc pushes it, phase ids are their order (from "1") and task ids count on across phases.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

from .files import read_json, write_json_atomic, write_text_atomic
from .naming import normalize_name, unique

PHASES = "phases"
Locate = Callable[[str], "tuple[str, str] | None"]  # configPath -> (componentId, configId)
Place = Callable[[str, str], "str | None"]  # (componentId, configId) -> configPath


def read_phases(folder: Path, configuration: dict[str, Any], locate: Locate) -> dict[str, Any]:
    """The configuration with the phases and tasks kept under `folder` put back as Keboola's JSON."""
    root = folder / PHASES
    if not root.is_dir():
        return configuration
    phase_dirs = _folders(root)
    ids = {d.name: str(i) for i, d in enumerate(phase_dirs, 1)}
    phases, tasks = [], []
    for phase_dir in phase_dirs:
        data = read_json(phase_dir / "phase.json", default={}) or {}
        depends = [ids.get(str(d), str(d)) for d in data.get("dependsOn") or []]
        phases.append({"id": ids[phase_dir.name], "name": data.get("name", ""), "dependsOn": depends,
                       **{k: v for k, v in data.items() if k not in ("name", "dependsOn")}})
        for task_dir in _folders(phase_dir):
            data = read_json(task_dir / "task.json", default={}) or {}
            target = dict(data.get("task") or {})
            path = target.pop("configPath", None)
            if path is not None:
                found = locate(str(path))
                if found is not None:
                    target["componentId"], target["configId"] = found
            tasks.append({"id": str(len(tasks) + 1), "name": data.get("name", ""),
                          "enabled": data.get("enabled", True), "phase": ids[phase_dir.name],
                          **{k: v for k, v in data.items() if k not in ("name", "enabled", "task")}, "task": target})
    configuration = copy.deepcopy(configuration)
    configuration["phases"], configuration["tasks"] = phases, tasks
    return configuration


def split_phases(configuration: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the configuration without phases and tasks, its phases and tasks)."""
    rest = {k: v for k, v in configuration.items() if k not in ("phases", "tasks")}
    return rest, {"phases": configuration.get("phases") or [], "tasks": configuration.get("tasks") or []}


def write_phases(folder: Path, flow: dict[str, Any], place: Place) -> None:
    """Write the phases and tasks under `folder` as kbc does."""
    write_text_atomic(folder / PHASES / ".gitkeep", "")
    taken: set[str] = set()
    dirs: dict[str, str] = {}
    for i, phase in enumerate(flow["phases"], 1):
        dirs[str(phase.get("id"))] = name = unique(f"{i:03d}-{normalize_name(str(phase.get('name', '')))}", taken,
                                                   "phase")
        taken.add(name)
    for phase in flow["phases"]:
        phase_dir = folder / PHASES / dirs[str(phase.get("id"))]
        depends = [dirs.get(str(d), str(d)) for d in phase.get("dependsOn") or []]
        write_json_atomic(phase_dir / "phase.json", {"name": phase.get("name", ""), "dependsOn": depends, **{
            k: v for k, v in phase.items() if k not in ("id", "name", "dependsOn")}})
        task_taken: set[str] = set()
        mine = [t for t in flow["tasks"] if str(t.get("phase")) == str(phase.get("id"))]
        for j, task in enumerate(mine, 1):
            name = unique(f"{j:03d}-{normalize_name(str(task.get('name', '')))}", task_taken, "task")
            task_taken.add(name)
            target = dict(task.get("task") or {})
            path = place(str(target.get("componentId", "")), str(target.get("configId", ""))) \
                if target.get("configId") else None
            if path is not None:
                target = {k: v for k, v in target.items() if k not in ("componentId", "configId")}
                target["configPath"] = path
            write_json_atomic(phase_dir / name / "task.json", {
                "name": task.get("name", ""), "enabled": task.get("enabled", True), "task": target,
                **{k: v for k, v in task.items() if k not in ("id", "name", "enabled", "phase", "task")}})


def _folders(parent: Path) -> list[Path]:
    return sorted(p for p in parent.iterdir() if p.is_dir())
