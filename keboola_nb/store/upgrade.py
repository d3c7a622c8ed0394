"""Bringing a project folder written by an earlier keboola_nb up to date, once, when it is opened.

Earlier versions wrote what `kbc push` cannot take: project and branch ids of 0 with an empty API host, secret
references as `KBNB::<scheme>::<name>` (push would have encrypted that text as the secret itself) and component
ids that are not Keboola's (a component names its former ids in `replaces`). The upgrade leaves the project
unlinked, turns references into vault placeholders (copying a secret file to the vault name) and moves the
configurations of a renamed component to its folder.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from .files import read_json, write_json_atomic, write_text_atomic
from .secrets import KEYRING_SERVICE, SecretRef, secrets_dir, vault_name, write_secret_file

FORMAT = "2"  # the layout this keboola_nb writes; .keboola-nb/format records it
_LEGACY_REF = re.compile(r"^KBNB::(env|file|keyring)::([A-Za-z0-9_.\-]+)$")


def needed(local: Path) -> bool:
    return (read_text(local / "format") or "").strip() != FORMAT


def mark(local: Path) -> None:
    write_text_atomic(local / "format", FORMAT + "\n")


def upgrade(root: Path, local: Path, branch_dir: Path, renamed: dict[str, str]) -> None:
    """Bring the folder to FORMAT (caller holds the project lock); `renamed`: former component id -> id."""
    manifest_path = root / ".keboola" / "manifest.json"
    manifest = read_json(manifest_path)
    if isinstance(manifest, dict):
        _unfake_ids(manifest)
        _rename_components(manifest, branch_dir, renamed)
        write_json_atomic(manifest_path, manifest)
    files = [root / ".keboola" / "connections.json", *branch_dir.rglob("config.json"),
             *(local / "versions").rglob("*.json")]
    for path in files:
        data = read_json(path)
        if data is None:
            continue
        changed = _upgrade_values(data, renamed)
        if changed != data:
            write_json_atomic(path, changed)


def _unfake_ids(manifest: dict[str, Any]) -> None:
    """Ids of 0 and an empty host meant "not linked": say so by leaving them out."""
    project = manifest.get("project") or {}
    if not project.get("id") or not project.get("apiHost"):
        manifest.pop("project", None)
    for key, entries in (("id", manifest.get("branches", [])), ("branchId", manifest.get("configurations", []))):
        for entry in entries:
            if entry.get(key) in (0, "0"):
                del entry[key]


def _rename_components(manifest: dict[str, Any], branch_dir: Path, renamed: dict[str, str]) -> None:
    for entry in manifest.get("configurations", []):
        new_id = renamed.get(entry.get("componentId", ""))
        if new_id is None:
            continue
        old_path = str(entry["path"])
        new_path = old_path.replace(f"/{entry['componentId']}/", f"/{new_id}/", 1)
        if not (branch_dir / old_path).exists() and (branch_dir / new_path).exists():
            entry["path"] = new_path  # moved before an earlier upgrade was cut short
        elif (branch_dir / old_path).exists() and not (branch_dir / new_path).exists():
            (branch_dir / new_path).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(branch_dir / old_path), str(branch_dir / new_path))
            entry["path"] = new_path
            if not any((branch_dir / old_path).parent.iterdir()):
                (branch_dir / old_path).parent.rmdir()
        entry["componentId"] = new_id


def _upgrade_values(data: Any, renamed: dict[str, str]) -> Any:
    if isinstance(data, dict):
        return {k: _upgrade_values(v, renamed) for k, v in data.items()}
    if isinstance(data, list):
        return [_upgrade_values(v, renamed) for v in data]
    if isinstance(data, str):
        if data in renamed:  # the componentId of a version snapshot
            return renamed[data]
        match = _LEGACY_REF.match(data)
        if match:
            return str(_vault_ref(match.group(1), match.group(2)))
    return data


def _vault_ref(scheme: str, name: str) -> SecretRef:
    """The vault reference of a legacy one; a stored secret is copied to its vault name."""
    ref = SecretRef(vault_name(name))
    if scheme == "file" and ref.name != name:
        old, new = secrets_dir() / name, secrets_dir() / ref.name
        if old.is_file() and not new.exists():
            write_secret_file(ref.name, old.read_text(encoding="utf-8"))
    elif scheme == "keyring" and ref.name != name:
        try:
            import keyring

            value = keyring.get_password(KEYRING_SERVICE, name)
            if value and not keyring.get_password(KEYRING_SERVICE, ref.name):
                keyring.set_password(KEYRING_SERVICE, ref.name, value)
        except Exception:  # no keyring here: the entry is still under its old name, which resolve will say
            pass
    return ref


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
