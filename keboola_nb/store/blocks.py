"""A transformation's code as kbc keeps it: `parameters.blocks` out of config.json, into folders.

```
<config>/blocks/.gitkeep
<config>/blocks/001-block-1/meta.json              {"name": "Block 1"}
<config>/blocks/001-block-1/001-daily/meta.json    {"name": "daily"}
<config>/blocks/001-block-1/001-daily/code.sql     the code's scripts
```
Folders are `{order:03d}-{normalized name}`; the code file's name depends on the component (code.sql, code.py,
code.txt). Where kbc splits a code into statements (Snowflake), the file holds them separated by blank lines and
is split again on read; elsewhere a code's scripts are joined by newlines and read back as one script.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .files import read_json, write_json_atomic, write_text_atomic
from .naming import normalize_name, unique

BLOCKS = "blocks"


@dataclass(frozen=True)
class CodeFiles:
    """How a component's code is kept: the file of each code and whether it holds one script per statement."""

    file: str
    per_statement: bool = False


def write_blocks(folder: Path, configuration: dict[str, Any], files: CodeFiles,
                 old: Path | None = None) -> dict[str, Any]:
    """Write the configuration's blocks under `folder` and return the configuration without them. A block or code
    keeps its folder in `old` (the configuration's folder before) while its place and name are unchanged, as kbc
    keeps paths it has loaded."""
    configuration = copy.deepcopy(configuration)
    blocks = (configuration.get("parameters") or {}).pop("blocks", None) or []
    write_text_atomic(folder / BLOCKS / ".gitkeep", "")
    old_blocks = _folders(old / BLOCKS) if old is not None else []
    taken: set[str] = set()
    for b, block in enumerate(blocks, 1):
        block_dir = _path(b, str(block.get("name", "")), "block", old_blocks, taken)
        write_json_atomic(folder / BLOCKS / block_dir / "meta.json", {"name": block.get("name", "")})
        old_codes = _folders(old / BLOCKS / block_dir) if old is not None else []
        code_taken: set[str] = set()
        for c, code in enumerate(block.get("codes") or [], 1):
            code_dir = _path(c, str(code.get("name", "")), "code", old_codes, code_taken)
            path = folder / BLOCKS / block_dir / code_dir
            write_json_atomic(path / "meta.json", {"name": code.get("name", "")})
            scripts = code.get("script") or []
            scripts = [scripts] if isinstance(scripts, str) else scripts
            items = [str(s).rstrip(" \r\n\t") for s in scripts]
            write_text_atomic(path / files.file, ("\n\n" if files.per_statement else "\n").join(items) + "\n")
    return configuration


def read_blocks(folder: Path, configuration: dict[str, Any], files: CodeFiles) -> dict[str, Any]:
    """The configuration with the blocks kept under `folder` put back into `parameters.blocks`."""
    root = folder / BLOCKS
    if not root.is_dir():
        return configuration
    blocks = []
    for block_dir in _folders(root):
        codes = []
        for code_dir in _folders(block_dir):
            try:
                text = (code_dir / files.file).read_text(encoding="utf-8").rstrip("\n\r\t ")
            except FileNotFoundError:
                text = ""
            if files.per_statement:
                from ..sql.statements import split

                script = split(text)
            else:
                script = [text] if text else []
            codes.append({"name": _name(code_dir), "script": script})
        blocks.append({"name": _name(block_dir), "codes": codes})
    configuration = copy.deepcopy(configuration)
    configuration.setdefault("parameters", {})["blocks"] = blocks
    return configuration


def _folders(parent: Path) -> list[Path]:
    return sorted(p for p in parent.iterdir() if p.is_dir()) if parent.is_dir() else []


def _path(order: int, name: str, kind: str, old: list[Path], taken: set[str]) -> str:
    """The folder of the `order`-th block or code: its old one when that held the same name, else kbc's
    `{order:03d}-{name}`, made unique."""
    if order <= len(old) and _name(old[order - 1]) == name and old[order - 1].name not in taken:
        path = old[order - 1].name
    else:
        path = unique(f"{order:03d}-{normalize_name(name) or kind}", taken, kind)
    taken.add(path)
    return path


def _name(folder: Path) -> str:
    return str((read_json(folder / "meta.json", default={}) or {}).get("name") or folder.name.partition("-")[2])
