"""Checking what a person wrote (configurations, cells, environment variables): one message they can act on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import KeboolaError

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError


def explain(error: "ValidationError", where: str, model: "type[BaseModel] | None" = None) -> KeboolaError:
    problems = []
    for item in error.errors():
        loc = ".".join(str(p) for p in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            allowed = ""
            if model is not None:
                names = [f.alias or n for n, f in model.model_fields.items()]
                allowed = f" (allowed: {', '.join(names)})"
            problems.append(f"unknown key {loc!r}{allowed}")
        elif item["type"] == "missing":
            problems.append(f"missing key {loc!r}")
        elif item["type"] == "value_error":
            problems.append(str(item["msg"]).removeprefix("Value error, "))
        else:
            problems.append(f"{loc}: {item['msg']}")
    return KeboolaError(f"{where}: {'; '.join(problems)}", fix="correct the configuration and save it again")


M = TypeVar("M", bound="BaseModel")


def validated(model: "type[M]", data: Any, where: str, named: "type[BaseModel] | None" = None) -> M:
    """`data` as a `model`, or one KeboolaError naming `where` and each problem (unknown keys are listed
    against the keys of `named`, default `model`)."""
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise explain(e, where, named or model) from None


ROW_KEYS = {"parameters", "storage", "processors", "runtime"}


def check_row_keys(row_configuration: dict[str, Any], where: str) -> None:
    """A configuration row holds only the keys Keboola knows for rows."""
    unknown = set(row_configuration) - ROW_KEYS
    if unknown:
        raise KeboolaError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}",
                           fix="a row holds parameters, storage, processors and runtime only")


def load_shorthand(data: dict[str, Any], where: str, keys: set[str], entries: str = "tables") -> dict[str, Any]:
    """The body of a `%%keboola extractor/writer NAME` cell (a mapping with a connection, read by the builder):
    only `keys`, and a non-empty list under `entries`."""
    refuse_unknown_keys(data, where, keys)
    listed = data.get(entries)
    if not isinstance(listed, list) or not listed:
        raise KeboolaError(f"{where}: '{entries}' must be a list with at least one entry")
    return data


def refuse_unknown_keys(data: dict[str, Any], where: str, keys: set[str]) -> None:
    unknown = set(data) - keys
    if unknown:
        raise KeboolaError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}",
                           fix=f"allowed keys: {', '.join(sorted(keys))}")


def read_yaml(text: str, where: str, yaml_fix: str) -> dict[str, Any]:
    """A cell body that must be a YAML mapping, or one clear error saying where it is malformed."""
    import yaml

    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise KeboolaError(f"{where}: the YAML body is malformed{at}: {getattr(e, 'problem', None) or e}",
                           fix=yaml_fix) from None
    if not isinstance(data, dict):
        raise KeboolaError(f"{where}: the body must be a YAML mapping with 'connection' and its entries")
    return data


def single_input(configuration: dict[str, Any], where: str, fix: str = "one row writes one storage table") -> dict[str, Any]:
    """A writer row's one input mapping (`storage.input.tables[0]`); Keboola writers take one table per row."""
    tables = configuration.get("storage", {}).get("input", {}).get("tables", [])
    if len(tables) != 1:
        raise KeboolaError(f"{where}: storage.input.tables must hold exactly one table", fix=fix)
    return tables[0]


def env_seconds(name: str, default: float, default_said: str) -> float:
    """A time limit from environment variable `name` (seconds), else `default` (`default_said` in words)."""
    import os

    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise KeboolaError(f"the environment variable {name}={raw!r} is not a number of seconds",
                           fix=f"set it to a positive number, e.g. {name}=600, or unset it ({default_said})")
    return value

