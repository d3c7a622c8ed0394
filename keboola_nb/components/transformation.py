"""What SQL and Python transformations share as components: a configuration without rows, made of code in blocks
and a storage mapping (`model/transformation.py`), built from the code of a cell and `--in` / `--out` lists.

A transformation component says how its code is kept in the kbc layout (`code_file`, `per_statement`), which
language and dialects it takes, and how an input and an output are named inside the code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import KeboolaError
from ..model.configuration import Configuration, check_name, new_id
from ..model.transformation import Block, Mapping, TransformationInput, TransformationOutput, blocks_of, mapping_of
from ..storage.ids import TableId
from .component import Component

_AS = re.compile(r"^\s*(\S+)\s+(?:AS|as)\s+(\S+)\s*$")


@dataclass
class Checked:
    """A transformation as its run takes it: the code in blocks and the storage mapping, checked."""

    blocks: list[Block]
    mapping: Mapping
    parameters: dict[str, Any]


class Transformation(Component):
    type = "transformation"
    language: ClassVar[str]  # sql, python
    dialects: ClassVar[tuple[str, ...]] = ()  # sqlglot dialects the code is written in (first: the component's own)
    untouched = "Storage was left as it was."

    # naming inside the code --------------------------------------------------------------------------
    def input_name(self, table_id: TableId) -> str:
        """The name an input is visible under inside the code when none is given."""
        return table_id.table

    def output_source(self, table_id: TableId) -> str:
        """The code's table (or file) an output is taken from when none is given."""
        return table_id.table

    # building ----------------------------------------------------------------------------------------
    def build_code(self, name: str, code: str, inputs: list[str | dict[str, Any]], outputs: list[str | dict[str, Any]],
                   *, dialect: str | None = None, description: str = "", parameters: dict[str, Any] | None = None,
                   load: dict[str, Any] | None = None) -> Configuration:
        """A new configuration: the code as one block with one code named after the transformation. `load` holds
        output mapping keys every output takes (incremental, primary_key)."""
        check_name(name, "transformation")
        if not code.strip():
            raise KeboolaError(f"transformation {name!r} has no code", fix="write the code in the cell body")
        scripts = self.scripts(code, dialect)
        configuration = {
            "parameters": {**(parameters or {}),
                           "blocks": [{"name": "Block 1", "codes": [{"name": name, "script": scripts}]}]},
            "storage": {"input": {"tables": [self._input(i) for i in inputs]},
                        "output": {"tables": [{**self._output(o), **(load or {})} for o in outputs]}},
        }
        config = Configuration(self.id, new_id(), name, configuration, description=description)
        self.check(config)
        return config

    def scripts(self, code: str, dialect: str | None) -> list[str]:
        """The code as Keboola's `script` list."""
        return [code.strip("\n")]

    def _input(self, entry: str | dict[str, Any]) -> dict[str, Any]:
        if isinstance(entry, dict):
            table = TransformationInput.model_validate(entry)
            if not table.destination:
                table.destination = self.input_name(TableId.parse(table.source))
        else:
            match = _AS.match(entry)
            source, name = (match.group(1), match.group(2)) if match else (entry.strip(), None)
            table = TransformationInput(source=source, destination=name or self.input_name(TableId.parse(source)))
        return table.model_dump(exclude_none=True, exclude_defaults=False)

    def _output(self, entry: str | dict[str, Any]) -> dict[str, Any]:
        if isinstance(entry, dict):
            entry = dict(entry)
            entry.setdefault("source", self.output_source(TableId.parse(str(entry.get("destination", "")))))
            return TransformationOutput.model_validate(entry).model_dump()
        match = _AS.match(entry)
        source, destination = (match.group(1), match.group(2)) if match else (None, entry.strip())
        table_id = TableId.parse(destination)
        output = TransformationOutput(source=source or self.output_source(table_id), destination=str(table_id))
        return output.model_dump()

    # checking and describing -------------------------------------------------------------------------
    def checked(self, config: Configuration) -> Checked:
        where = f"transformation {config.name!r}"
        if config.rows:
            raise KeboolaError(f"{where} has rows; Keboola's transformations have none",
                               fix="keep the code in parameters.blocks and the tables in storage")
        blocks, mapping = blocks_of(config.configuration, where), mapping_of(config.configuration, where)
        for table_id in [i.source for i in mapping.inputs] + [o.destination for o in mapping.outputs]:
            try:
                TableId.parse(table_id)
            except KeboolaError as e:
                raise KeboolaError(f"{where}: the storage mapping is not valid: {e.what}", fix=e.fix) from None
        return Checked(blocks, mapping, dict(config.configuration.get("parameters") or {}))

    def check(self, config: Configuration) -> list[tuple[str, Any]]:
        return [(config.name, self.checked(config))]

    def summary(self, config: Configuration) -> list[dict[str, Any]]:
        mapping = self.checked(config).mapping
        inputs = ", ".join(f"{i.source} AS {i.destination}" for i in mapping.inputs) or "-"
        return [{"row": config.name, "inputs": inputs, "output": o.destination, "source": o.source,
                 "primary_key": ", ".join(o.primary_key), "load": "incremental" if o.incremental else "full"}
                for o in mapping.outputs] or [{"row": config.name, "inputs": inputs, "output": "-", "source": "-",
                                                "primary_key": "", "load": "-"}]
