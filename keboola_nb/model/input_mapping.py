"""Keboola's input mapping: which storage table a writer row reads (`storage.input.tables[]`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

IGNORE = "ignore"  # a writer item of this type is not written (Keboola UI's "IGNORE")


class InputTable(BaseModel):
    model_config = ConfigDict(extra="allow")
    source: str
    destination: str = ""
    columns: list[str] = Field(default_factory=list)
    changed_since: str | None = None
