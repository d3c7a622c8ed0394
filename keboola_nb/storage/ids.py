"""Keboola storage ids: buckets `in.c-shop`, tables `in.c-shop.orders`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import KeboolaError

STAGES = ("in", "out")
_PART = re.compile(r"^[A-Za-z0-9_\-]{1,96}$")
_TABLE_ID = re.compile(r"^(in|out)\.c-([A-Za-z0-9_\-]+)\.([A-Za-z0-9_\-]+)$")


@dataclass(frozen=True)
class TableId:
    stage: str
    bucket: str  # without the c- prefix
    table: str

    @property
    def bucket_id(self) -> str:
        return f"{self.stage}.c-{self.bucket}"

    def __str__(self) -> str:
        return f"{self.bucket_id}.{self.table}"

    @classmethod
    def parse(cls, text: str) -> "TableId":
        match = _TABLE_ID.match(text or "")
        if not match:
            raise KeboolaError(
                f"{text!r} is not a storage table id",
                fix="table ids look like in.c-<bucket>.<table> or out.c-<bucket>.<table>, using letters, digits, '-' and '_'",
            )
        return cls(*match.groups())


def safe_name(text: str) -> str:
    """A table or bucket name Keboola accepts, made from any source name."""
    name = re.sub(r"[^A-Za-z0-9_\-]+", "_", text).strip("_-")
    return name[:96] or "table"


def check_part(text: str, what: str) -> str:
    if not _PART.match(text):
        raise KeboolaError(f"{what} {text!r} is not allowed", fix="use letters, digits, '-' and '_' (at most 96)")
    return text
