"""Running a database writer: the target of the writer's database, fed by the shared table writer."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ...engine.table_writer import write_tables

if TYPE_CHECKING:
    from ...engine.runner import Run


def write(run: "Run", rows: list[tuple[str, str, Any]], target_module: str) -> None:
    db = rows[0][2].db.model_dump(by_alias=True, exclude_none=True)
    target = importlib.import_module(f".{target_module}", __package__).target(run.config.name, db)
    write_tables(run, target, rows)
