"""A Keboola configuration with its rows, as the Storage API and the CLI layout hold it."""

from __future__ import annotations

import copy
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import KeboolaError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,95}$")


def check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise KeboolaError(
            f"{what} name {name!r} is not allowed",
            fix="use 1-96 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit",
        )
    return name


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id() -> str:
    """A new configuration or row id as the Keboola CLI makes one (`kbc local create`): a ULID, 48 bits of
    milliseconds and 80 random bits in 26 Crockford base-32 characters. `kbc push` creates the configuration in
    Keboola under this very id, so it must not repeat one the project already has there."""
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Keboola's row merge: the row's keys win, nested objects merge."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def processor(row_configuration: dict[str, Any], stage: str, component_id: str) -> dict[str, Any] | None:
    """The parameters of a row's `processors.<stage>` entry for `component_id` (stage: before or after)."""
    for entry in (row_configuration.get("processors") or {}).get(stage, []):
        if entry.get("definition", {}).get("component") == component_id:
            return entry.get("parameters") or {}
    return None


@dataclass
class ConfigRow:
    id: str
    name: str
    configuration: dict[str, Any]
    description: str = ""
    is_disabled: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "isDisabled": self.is_disabled,
            "configuration": self.configuration,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ConfigRow":
        return cls(
            id=str(data["id"]),
            name=data["name"],
            configuration=data.get("configuration") or {},
            description=data.get("description", ""),
            is_disabled=bool(data.get("isDisabled", False)),
        )


@dataclass
class Configuration:
    component_id: str
    id: str
    name: str
    configuration: dict[str, Any]
    rows: list[ConfigRow] = field(default_factory=list)
    description: str = ""
    is_disabled: bool = False
    version: int = 0

    def row(self, name: str) -> ConfigRow:
        for row in self.rows:
            if row.name == name or row.id == name:
                return row
        known = ", ".join(r.name for r in self.rows) or "none"
        raise KeboolaError(f"configuration {self.name!r} has no row {name!r} (rows: {known})")

    def default_table_id(self, table: str) -> str:
        """Keboola's default output bucket for this configuration: in.c-<componentId, '.' as '-'>-<configId>."""
        return f"in.c-{self.component_id.replace('.', '-')}-{self.id}.{table}"

    def merged(self, row: ConfigRow) -> dict[str, Any]:
        return deep_merge(self.configuration, row.configuration)

    def to_json(self) -> dict[str, Any]:
        """The Storage API's configuration detail shape (without server-only fields)."""
        return {
            "componentId": self.component_id,
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "isDisabled": self.is_disabled,
            "version": self.version,
            "configuration": self.configuration,
            "rows": [row.to_json() for row in self.rows],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Configuration":
        return cls(
            component_id=data["componentId"],
            id=str(data["id"]),
            name=data["name"],
            configuration=data.get("configuration") or {},
            rows=[ConfigRow.from_json(r) for r in data.get("rows", [])],
            description=data.get("description", ""),
            is_disabled=bool(data.get("isDisabled", False)),
            version=int(data.get("version", 0)),
        )

    def __repr__(self) -> str:
        return f"<Configuration {self.component_id} {self.name!r} id={self.id} rows={len(self.rows)} v{self.version}>"
