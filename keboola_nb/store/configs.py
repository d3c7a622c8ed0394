"""Configurations in the project: save (with a version and an audit entry), find, diff, roll back."""

from __future__ import annotations

import difflib
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import KeboolaError, KeboolaNotice
from ..model.configuration import Configuration, check_name
from .audit import AuditLog
from .files import dump_json, locked, read_json, write_json_atomic
from .layout import Layout
from .secrets import is_encrypted, is_reference


@dataclass
class Version:
    number: int
    at: str
    actor: str
    change: str
    config: Configuration


class ConfigStore:
    def __init__(self, layout: Layout, local_dir: Path, audit: AuditLog) -> None:
        self.layout = layout
        self.versions_dir = local_dir / "versions"
        self.lock_path = local_dir / "project.lock"
        self.audit = audit

    # reading ---------------------------------------------------------------------------------
    def list(self) -> list[Configuration]:
        """Every configuration of the branch; one whose folder is missing is named in a notice and skipped."""
        entries = self.layout.entries()
        out = []
        for entry in entries:
            try:
                out.append(self._read(entry, entries))
            except KeboolaError as e:
                warnings.warn(str(e), KeboolaNotice, stacklevel=2)
        return out

    def find(self, name_or_id: str) -> Configuration | None:
        """By id or by name (its meta.json), never by folder: kbc may name folders differently. Keboola lets two
        components' configurations share a name; such a name must be given as an id."""
        entries = self.layout.entries()
        found = [e for e in entries if str(e["id"]) == name_or_id]
        found = found or [e for e in entries if self.layout.name_of(e, entries) == name_or_id]
        if len(found) > 1:
            ids = ", ".join(f"{e['id']} ({e['componentId']})" for e in found)
            raise KeboolaError(f"{len(found)} configurations are named {name_or_id!r}: {ids}",
                               fix="name the one you mean by its id")
        return self._read(found[0], entries) if found else None

    def get(self, name_or_id: str) -> Configuration:
        config = self.find(name_or_id)
        if config is None:
            known = ", ".join(c.name for c in self.list()) or "none yet"
            raise KeboolaError(
                f"there is no configuration named {name_or_id!r} in this project (known: {known})",
                fix="check the name with %keboola configs, or create it first",
            )
        return config

    def _read(self, entry: dict[str, Any], entries: list[dict[str, Any]]) -> Configuration:
        config = self.layout.read(entry, entries)
        config.version = len(self._version_files(config.id))
        return config

    # writing ---------------------------------------------------------------------------------
    def save_named(self, config: Configuration, *, replace: bool = False, actor: str = "user") -> Configuration:
        """Save a newly built `config` under its name; with `replace`, as a new version of the configuration
        of that name, keeping its id and row ids so incremental and changed_since state carry over."""
        existing = self.find(config.name)
        if existing is not None:
            if not replace:
                raise KeboolaError(
                    f"a configuration named {config.name!r} already exists ({existing.component_id})",
                    fix="choose another name, or pass --replace (replace=True) to save a new version of it",
                )
            if existing.component_id != config.component_id:
                raise KeboolaError(f"{config.name!r} is a {existing.component_id} configuration, "
                                   f"not {config.component_id}")
            config.id = existing.id
            old_ids = {row.name: row.id for row in existing.rows}
            for row in config.rows:
                row.id = old_ids.get(row.name, row.id)
        return self.save(config, actor=actor, change="" if existing is None else "replaced")

    def save(self, config: Configuration, *, actor: str = "user", change: str = "",
             child_of: dict[str, str] | None = None,
             row_relations: dict[str, list[dict[str, Any]]] | None = None) -> Configuration:
        """Create or update `config`; every save is a new version and an audit entry. `child_of` and `row_relations`
        place a new configuration that belongs to another (its variables) as kbc keeps it."""
        _refuse_plain_secrets(config.to_json(), config.name)
        with locked(self.lock_path, "the project"):
            entries = self.layout.entries()
            mine = next((e for e in entries if e["componentId"] == config.component_id and str(e["id"]) == config.id),
                        None)
            named_anew = mine is None or self.layout.name_of(mine, entries) != config.name
            if named_anew:  # a name pulled from Keboola stays as it is, even one this project would not give
                check_name(config.name, "configuration")
            for other in entries if named_anew else []:
                if str(other["id"]) != config.id and self.layout.name_of(other, entries) == config.name:
                    raise KeboolaError(
                        f"a configuration named {config.name!r} already exists ({other['componentId']})",
                        fix="choose another name, or change the existing one with its own command",
                    )
            is_new = mine is None
            self.layout.write(config, child_of, row_relations)
            number = len(self._version_files(config.id)) + 1
            config.version = number
            change = change or ("created" if is_new else "updated")
            write_json_atomic(
                self.versions_dir / config.id / f"{number:04d}.json",
                {
                    "version": number,
                    "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "actor": actor,
                    "change": change,
                    "config": config.to_json(),
                },
            )
            self.audit.record(
                "create" if is_new else "update",
                f"{config.component_id}/{config.name}",
                actor=actor,
                config_id=config.id,
                version=number,
                change=change,
            )
        return config

    # variables ---------------------------------------------------------------------------------
    def children(self, config: Configuration, relation: str) -> list[tuple[Configuration, dict[str, Any]]]:
        """The configurations kbc keeps inside `config` by the manifest relation `relation` (schedulerFor,
        variablesFor), each with its manifest record."""
        entries = self.layout.entries()
        return [(self._read(entry, entries), entry) for entry in entries
                if any(r.get("type") == relation and r.get("componentId") == config.component_id
                       and str(r.get("configId")) == config.id for r in entry.get("relations") or [])]

    def variables_of(self, config: Configuration) -> tuple[Configuration, str] | None:
        """The `keboola.variables` configuration that belongs to `config`, and the id of its values row (the row
        kbc marks as variablesValuesFor, else the first); None when it has none."""
        for child, entry in self.children(config, "variablesFor")[:1]:
            rows = entry.get("rows") or []
            chosen = next((r for r in rows if any(x.get("type") == "variablesValuesFor"
                                                  for x in r.get("relations") or [])), rows[0] if rows else None)
            return child, str(chosen["id"]) if chosen else ""
        return None

    def save_variables(self, config: Configuration, values: dict[str, str], *, actor: str = "user") -> None:
        """Save `values` as `config`'s variables: its `keboola.variables` configuration, kept by kbc in the
        configuration's variables/ folder (variablesFor), with the values in the row marked variablesValuesFor."""
        from ..model import variables
        from ..model.configuration import ConfigRow, new_id

        values = variables.check_values(values, f"configuration {config.name!r}")
        found = self.variables_of(config)
        if found is None:
            child = Configuration(variables.COMPONENT, new_id(), f"{config.name} variables",
                                  variables.definitions(values),
                                  rows=[ConfigRow(new_id(), "Default values", variables.value_row(values))])
            self.save(child, actor=actor, child_of={"componentId": config.component_id, "configId": config.id,
                                                    "type": "variablesFor"},
                      row_relations={child.rows[0].id: [{"type": "variablesValuesFor"}]})
            return
        child, row_id = found
        child.configuration = {**child.configuration, **variables.definitions(values)}
        for row in child.rows:
            if row.id == row_id:
                row.configuration = {**row.configuration, **variables.value_row(values)}
        self.save(child, actor=actor)

    def variable_values(self, config: Configuration) -> dict[str, str]:
        """The values a job fills into `config`'s `{{name}}` placeholders ({} when it has no variables)."""
        from ..model.variables import values_of

        found = self.variables_of(config)
        if found is None:
            return {}
        child, row_id = found
        row = next((r for r in child.rows if r.id == row_id), None)
        return values_of(row.configuration) if row else {}

    def delete(self, name_or_id: str, *, actor: str = "user") -> None:
        config = self.get(name_or_id)
        with locked(self.lock_path, "the project"):
            entry = next(e for e in self.layout.entries()
                         if e["componentId"] == config.component_id and str(e["id"]) == config.id)
            self.layout.remove(entry)
            self.audit.record("delete", f"{config.component_id}/{config.name}", actor=actor, config_id=config.id)

    # versions --------------------------------------------------------------------------------
    def _version_files(self, config_id: str) -> list[Path]:
        return sorted((self.versions_dir / config_id).glob("*.json"))

    def versions(self, name_or_id: str) -> list[Version]:
        config = self.get(name_or_id)
        out = []
        for path in self._version_files(config.id):
            data = read_json(path)
            snapshot = Configuration.from_json(data["config"])
            out.append(Version(data["version"], data["at"], data["actor"], data["change"], snapshot))
        return out

    def version(self, name_or_id: str, number: int) -> Version:
        versions = self.versions(name_or_id)
        for v in versions:
            if v.number == number:
                return v
        raise KeboolaError(
            f"configuration {name_or_id!r} has no version {number} (versions 1-{len(versions)})",
            fix="list them with %keboola config NAME --versions",
        )

    def diff(self, name_or_id: str, a: int, b: int) -> str:
        old, new = self.version(name_or_id, a), self.version(name_or_id, b)
        return "".join(
            difflib.unified_diff(
                _comparable(old.config).splitlines(keepends=True),
                _comparable(new.config).splitlines(keepends=True),
                fromfile=f"version {a}",
                tofile=f"version {b}",
            )
        )

    def rollback(self, name_or_id: str, number: int, *, actor: str = "user") -> Configuration:
        current = self.get(name_or_id)
        snapshot = self.version(name_or_id, number).config
        snapshot.id = current.id
        return self.save(snapshot, actor=actor, change=f"rollback to version {number}")


def _comparable(config: Configuration) -> str:
    data = config.to_json()
    data.pop("version", None)
    return dump_json(data)


def _refuse_plain_secrets(data: Any, where: str, path: str = "") -> None:
    """A `#` key must hold a secret reference; a value there would be written in plain text."""
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{path}.{key}" if path else key
            if key.startswith("#") and isinstance(value, str) and value and not is_reference(value) \
                    and not is_encrypted(value):
                raise KeboolaError(
                    f"configuration {where!r} has a plain-text secret under {here}; it was not saved",
                    fix="pass secrets by reference (kb.secret('ENV_VAR'), --password-env) instead of values",
                )
            _refuse_plain_secrets(value, where, here)
    elif isinstance(data, list):
        for i, item in enumerate(data):
            _refuse_plain_secrets(item, where, f"{path}[{i}]")

