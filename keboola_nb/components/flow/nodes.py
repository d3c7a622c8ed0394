"""What every part of a flow shares: the Keboola keys it does not model and the key order it was read in, kept
so that a flow pulled from Keboola is written back unchanged (kbc diff and push then show no change)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ...errors import KeboolaError
from ...model.validation import explain


class Node(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unknown: dict[str, Any] = Field(default_factory=dict, repr=False)  # Keboola keys this model does not know
    key_order: tuple[str, ...] = Field(default=(), repr=False)  # the order the JSON had; () when built here


def written(node: Node, known: dict[str, Any]) -> dict[str, Any]:
    """`known` (the modelled keys, in Keboola's usual order) with the unknown keys, in the order read."""
    out = {**known, **{k: v for k, v in node.unknown.items() if k not in known}}
    if not node.key_order:
        return out
    first = {k: out[k] for k in node.key_order if k in out}
    return {**first, **{k: v for k, v in out.items() if k not in first}}


def mapping(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise KeboolaError(f"{where} must be a JSON object, not {type(data).__name__}",
                           fix="correct the flow's JSON (see component_help('keboola.flow'))")
    return data


def text(data: dict[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    """A string field; Keboola's legacy ids may be numbers, which become strings."""
    value = data.get(key)
    if value is None:
        if required:
            raise KeboolaError(f"{where} has no {key!r}", fix=f"give it a {key!r}")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise KeboolaError(f"{where}: {key!r} must be a string, not {type(value).__name__}")
    return str(value)


def rest(data: dict[str, Any], known: set[str]) -> dict[str, Any]:
    """The keys of `data` a model does not know, kept as they were."""
    return {k: v for k, v in data.items() if k not in known}


def build(model: type[Node], where: str, **fields: Any) -> Any:
    """`model(**fields)`, pydantic's complaint turned into one KeboolaError naming `where`."""
    try:
        return model(**fields)
    except ValidationError as e:
        raise explain(e, where, model) from None
