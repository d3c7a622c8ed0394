"""The AWS S3 extractor (`keboola.ex-aws-s3`): files under a key (a trailing wildcard, subfolders, new files
only) into storage tables, as Keboola's component and its processors do (CSV, gzip CSV, Parquet)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..component import Component, ProjectParts
from .build import build
from .model import check_rows, summarize
from .run import extract

if TYPE_CHECKING:
    from ...connections import Connection
    from ...model.configuration import Configuration


class S3Extractor(Component):
    id = "keboola.ex-aws-s3"
    type = "extractor"
    label = "AWS S3 extractor"
    connection_kind = "s3"
    entries = "files"
    help = {
        "rules": ["create it with create_file_extractor; only a * at the end of a key is a wildcard (Keboola's rule): "
                  "exports/* takes every file under exports/, so keep one kind of file (CSV, .gz CSV or Parquet) "
                  "under a prefix; JSON files are refused (Keboola has no processor for them)",
                  "include_subfolders needs a wildcard; new_files_only reads only files added since the last run",
                  "header false: the files have no header row, columns become col_1, col_2, ...",
                  "a primary key makes the load an upsert; tables land in in.c-keboola-ex-aws-s3-<id>"],
        "example": {"name": "exports-csv", "connection": "exports",
                    "files": [{"key": "exports/sales/*", "table": "sales", "primary_key": ["id"]}]},
    }

    def build(self, project: ProjectParts, name: str, connection: "Connection", entries: list[Any], *,
              description: str = "", **options: Any) -> "Configuration":
        return build(name, connection, entries, description)

    check = staticmethod(check_rows)
    summary = staticmethod(summarize)
    run = staticmethod(extract)

S3_EXTRACTOR = S3Extractor()
