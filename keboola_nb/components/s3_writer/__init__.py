"""The AWS S3 writer (`keboola.wr-aws-s3`): storage tables as plain CSV files under a prefix, each file replaced
whole only when every file of the run is complete."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..component import Component, ProjectParts
from .build import build, summary
from .model import check_rows
from .run import UNTOUCHED, write

if TYPE_CHECKING:
    from ...connections import Connection
    from ...model.configuration import Configuration


class S3Writer(Component):
    id = "keboola.wr-aws-s3"
    type = "writer"
    label = "AWS S3 writer"
    connection_kind = "s3"
    options = ("prefix",)
    untouched = UNTOUCHED
    help = {
        "rules": ["create_writer with an s3 connection: each table becomes a CSV file with a header under its prefix",
                  "a file is overwritten on every run; it is plain CSV, as Keboola's writer does not compress: "
                  "a .gz name is refused",
                  "changed_since adaptive writes only rows imported since the last write"],
        "example": {"name": "to-s3", "connection": "exports",
                    "tables": [{"table": "in.c-crm.activity", "file": "activity.csv"}]},
    }

    def build(self, project: ProjectParts, name: str, connection: "Connection", entries: list[Any], *,
              description: str = "", prefix: str | None = None, **options: Any) -> "Configuration":
        return build(project, name, connection, entries, prefix=prefix, description=description)

    check = staticmethod(check_rows)
    summary = staticmethod(summary)
    run = staticmethod(write)

S3_WRITER = S3Writer()
