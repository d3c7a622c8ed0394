"""Keboola's variables: `{{name}}` in a configuration, filled in when a job starts from the values of the
`keboola.variables` configuration that belongs to it (definitions `{"variables": [{"name", "type"}]}`, values in a
row `{"values": [{"name", "value"}]}`). `{{ vault.NAME }}` is the vault's, not a variable, and is left alone.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import TYPE_CHECKING, Any

from ..errors import KeboolaError

if TYPE_CHECKING:
    from .configuration import Configuration

COMPONENT = "keboola.variables"  # the configuration that holds a configuration's variables (kbc: variables/)
_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")


def check_values(values: dict[str, str], where: str) -> dict[str, str]:
    """Variable names Keboola accepts, with text values."""
    for name, value in values.items():
        if not _NAME.match(name):
            raise KeboolaError(f"{where}: variable name {name!r} is not allowed",
                               fix="use letters, digits and '_'")
        if not isinstance(value, str):
            raise KeboolaError(f"{where}: variable {name!r} must be text, not {type(value).__name__}")
    return values


def definitions(values: dict[str, str]) -> dict[str, Any]:
    """The variables configuration's own JSON."""
    return {"variables": [{"name": name, "type": "string"} for name in values]}


def value_row(values: dict[str, str]) -> dict[str, Any]:
    """A values row's JSON."""
    return {"values": [{"name": name, "value": value} for name, value in values.items()]}


def values_of(row_configuration: dict[str, Any]) -> dict[str, str]:
    return {str(v.get("name")): str(v.get("value", "")) for v in row_configuration.get("values") or []}


def placeholders(configuration: dict[str, Any]) -> list[str]:
    """The variable names a configuration uses (the vault's excluded), in order of first use."""
    found = _PLACEHOLDER.findall(json.dumps(configuration, ensure_ascii=False))
    return list(dict.fromkeys(n for n in found if not n.startswith("vault.")))


def resolve(configuration: dict[str, Any], values: dict[str, str], where: str) -> dict[str, Any]:
    """The configuration with every `{{name}}` replaced by its value, as Keboola does when a job starts."""
    missing = [n for n in placeholders(configuration) if n not in values]
    if missing:
        raise KeboolaError(f"{where} uses variable(s) {', '.join(missing)} with no value",
                           fix="give them values (--var name=value), or remove the {{...}} from the code")

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return _PLACEHOLDER.sub(lambda m: m.group(0) if m.group(1).startswith("vault.") else values[m.group(1)],
                                    value)
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value

    return fill(configuration)


def filled(config: "Configuration", values: dict[str, str]) -> "Configuration":
    """A copy of `config` as a job runs it: its variables filled in (the configuration itself unchanged)."""
    if not placeholders(config.configuration):
        return config
    return dataclasses.replace(config, configuration=resolve(config.configuration, values,
                                                             f"configuration {config.name!r}"))
