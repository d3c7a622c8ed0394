"""What every Keboola transformation shares: code in blocks, and the storage mapping around it.

```json
{"parameters": {"blocks": [{"name": "Block 1", "codes": [{"name": "daily", "script": ["SELECT ..."]}]}]},
 "storage": {"input": {"tables": [{"source": "in.c-shop.orders", "destination": "orders", ...}]},
             "output": {"tables": [{"source": "daily", "destination": "out.c-sales.daily", ...}]}}}
```
Blocks run in order; the codes in a block run in order. An input is visible to the code under its
`destination`; an output takes the code's table (or file) named by `source` into storage `destination`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import KeboolaError
from .input_mapping import InputTable


class TransformationInput(InputTable):
    """An input table: which rows and columns of a storage table the code sees, and under what name."""

    where_column: str = ""
    where_values: list[str] = Field(default_factory=list)
    where_operator: Literal["eq", "ne"] = "eq"
    days: int | None = None  # deprecated in Keboola; read as changed_since "-N days"
    column_types: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def since(self) -> str | None:
        """changed_since as Keboola reads it ("adaptive", "-7 days", a timestamp), `days` folded in."""
        if self.changed_since:
            return self.changed_since
        return f"-{self.days} days" if self.days else None


class TransformationOutput(BaseModel):
    """An output table: the code's table (or CSV file) `source`, loaded into the storage table `destination`."""

    model_config = ConfigDict(extra="allow")
    source: str
    destination: str
    incremental: bool = False
    primary_key: list[str] = Field(default_factory=list)
    delete_where_column: str = ""
    delete_where_values: list[str] = Field(default_factory=list)
    delete_where_operator: Literal["eq", "ne"] = "eq"


class Code(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    script: list[str]

    @field_validator("script", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value  # Keboola accepts one string or a list


class Block(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    codes: list[Code] = Field(default_factory=list)


class Mapping(BaseModel):
    """A transformation's storage mapping, read from its configuration."""

    inputs: list[TransformationInput]
    outputs: list[TransformationOutput]


def blocks_of(configuration: dict[str, Any], where: str) -> list[Block]:
    """The configuration's `parameters.blocks`, checked."""
    raw = (configuration.get("parameters") or {}).get("blocks") or []
    try:
        blocks = [Block.model_validate(b) for b in raw]
    except ValidationError as e:
        raise KeboolaError(f"{where}: parameters.blocks is not valid: {_first_problem(e)}",
                           fix="each block needs a name and codes; each code a name and a script") from None
    if not any(code.script for block in blocks for code in block.codes):
        raise KeboolaError(f"{where} has no code", fix="add a block with a code that has a script")
    return blocks


def mapping_of(configuration: dict[str, Any], where: str) -> Mapping:
    """The configuration's storage input and output tables, checked."""
    storage = configuration.get("storage") or {}
    try:
        inputs = [TransformationInput.model_validate(t) for t in (storage.get("input") or {}).get("tables") or []]
        outputs = [TransformationOutput.model_validate(t) for t in (storage.get("output") or {}).get("tables") or []]
    except ValidationError as e:
        raise KeboolaError(f"{where}: the storage mapping is not valid: {_first_problem(e)}",
                           fix="inputs need a storage table id as source; outputs a source and a table id as "
                               "destination, e.g. out.c-sales.daily") from None
    for what, names in (("input", [i.destination for i in inputs]), ("output", [o.destination for o in outputs])):
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise KeboolaError(f"{where}: two {what}s are mapped to {', '.join(twice)}",
                               fix=f"give each {what} its own name")
    return Mapping(inputs=inputs, outputs=outputs)


def script_of(blocks: list[Block]) -> list[tuple[str, str]]:
    """(where, text) of every script in run order; where is "block NAME, code NAME"."""
    return [(f"block {block.name!r}, code {code.name!r}", text)
            for block in blocks for code in block.codes for text in code.script]


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    place = ".".join(str(p) for p in problem.get("loc", ()))
    return f"{place}: {problem.get('msg')}" if place else str(problem.get("msg"))
