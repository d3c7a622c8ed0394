"""The AWS S3 extractor (`keboola.ex-aws-s3`) configuration, with Keboola's own rules.

Root `parameters`: the login (model/aws_login.py). Each row: `parameters`
{bucket, key, includeSubfolders, newFilesOnly, limit} and the processors that name the table
(`keboola.processor-move-files` folder) and describe the load (`keboola.processor-create-manifest`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...errors import KeboolaError
from ...model.aws_login import AwsLogin
from ...model.configuration import Configuration, processor
from ...model.validation import validated

COMPONENT_ID = "keboola.ex-aws-s3"
MOVE_FILES = "keboola.processor-move-files"
CREATE_MANIFEST = "keboola.processor-create-manifest"
# Optional processors that append a column, with Keboola's default column names.
ADDED_COLUMNS = {"keboola.processor-add-filename-column": "filename",
                 "keboola.processor-add-row-number-column": "row_number"}


class S3Root(AwsLogin):
    """The root `parameters`: the login only."""


class S3Row(AwsLogin):
    """One row's `parameters`, merged with the root."""

    bucket: str
    key: str
    includeSubfolders: bool = False
    newFilesOnly: bool = False
    limit: int = 0

    @model_validator(mode="after")
    def _keboola_rules(self) -> S3Row:
        if self.key.endswith("/"):
            raise ValueError(f"key {self.key!r} ends with '/'; use the wildcard: {self.key}*")
        if self.includeSubfolders and "*" not in self.key:
            raise ValueError("Cannot include subfolders without wildcard; end the key with '*'")
        if self.key.count("*") > 1:
            raise ValueError("the key may hold one wildcard '*' only")
        if self.limit < 0:
            raise ValueError("limit must be 0 (no cap) or a positive number of files")
        return self

    @property
    def wildcard(self) -> bool:
        return "*" in self.key


class Manifest(BaseModel):
    """What `keboola.processor-create-manifest` says about the table."""

    model_config = ConfigDict(extra="ignore")
    incremental: bool = False
    primary_key: list[str] = Field(default_factory=list)
    delimiter: str = ","
    enclosure: str = '"'
    columns: list[str] = Field(default_factory=list)  # given: the files have no header row
    columns_from: str = "header"  # or "auto": no header row, columns named col_1, col_2, ...

    @property
    def header(self) -> bool:
        return self.columns_from == "header" and not self.columns


class S3Table(BaseModel):
    """A row checked and resolved: where to read, which table to write, how to load."""

    params: S3Row
    table: str  # the move-files folder, i.e. the table name
    manifest: Manifest
    added: list[tuple[str, str]] = Field(default_factory=list)  # (processor, column name), in their order


def check_rows(config: Configuration) -> list[tuple[str, S3Table]]:
    where = f"extractor {config.name!r}"
    validated(S3Root, config.configuration.get("parameters", {}), f"{where}, parameters")
    if not config.rows:
        raise KeboolaError(f"{where} has no files", fix="add at least one row with a key")
    out = []
    for row in config.rows:
        merged = config.merged(row)
        params = validated(S3Row, merged.get("parameters", {}), f"{where}, row {row.name!r}")
        move = processor(row.configuration, "after", MOVE_FILES)
        if not move or not move.get("folder"):
            raise KeboolaError(f"{where}, row {row.name!r}: no {MOVE_FILES} processor with a 'folder'",
                               fix="the folder names the output table; add the processor")
        manifest = Manifest.model_validate(processor(row.configuration, "after", CREATE_MANIFEST) or {})
        if manifest.columns_from not in ("header", "auto"):
            raise KeboolaError(f"{where}, row {row.name!r}: columns_from {manifest.columns_from!r} is not supported",
                               fix="use 'header' (the first line names the columns) or 'auto' (col_1, col_2, ...)")
        added = [(entry["definition"]["component"],
                  str((entry.get("parameters") or {}).get("column_name") or ADDED_COLUMNS[entry["definition"]["component"]]))
                 for entry in (row.configuration.get("processors") or {}).get("after", [])
                 if entry.get("definition", {}).get("component") in ADDED_COLUMNS]
        out.append((row.name, S3Table(params=params, table=str(move["folder"]), manifest=manifest, added=added)))
    return out


def summarize(config: Configuration) -> list[dict[str, Any]]:
    """One line per row: what it reads, where it lands, how it loads."""
    return [
        {"row": name, "source": f"s3://{t.params.bucket}/{t.params.key}", "output_table": config.default_table_id(t.table),
         "primary_key": t.manifest.primary_key,
         "load": ("incremental" if t.manifest.incremental else "full")
                 + (", new files only" if t.params.newFilesOnly else "")}
        for name, t in check_rows(config)
    ]


def row_configuration(
    bucket: str, key: str, table: str, *, include_subfolders: bool = False, new_files_only: bool = False,
    limit: int = 0, incremental: bool = False, primary_key: list[str] | None = None, delimiter: str = ",",
    enclosure: str = '"', header: bool = True, columns: list[str] | None = None, filename_column: str | None = None,
    row_number_column: str | None = None,
) -> dict[str, Any]:
    """A row as the Keboola UI saves it."""
    manifest: dict[str, Any] = {"delimiter": delimiter, "enclosure": enclosure, "incremental": incremental,
                                "primary_key": list(primary_key or [])}
    if columns:
        manifest["columns"] = list(columns)
    else:
        manifest["columns_from"] = "header" if header else "auto"
    added = [{"definition": {"component": component}, "parameters": {"column_name": column}}
             for component, column in zip(ADDED_COLUMNS, (filename_column, row_number_column)) if column]
    return {
        "parameters": {"bucket": bucket, "key": key, "includeSubfolders": include_subfolders,
                       "newFilesOnly": new_files_only, "limit": limit},
        "processors": {"after": [
            {"definition": {"component": MOVE_FILES},
             "parameters": {"direction": "tables", "addCsvSuffix": True, "folder": table}},
            {"definition": {"component": CREATE_MANIFEST}, "parameters": manifest},
            *added,
        ]},
    }


# The YAML shorthand of `%%keboola extractor NAME` for S3 -------------------------------------------

SHORTHAND_FILE_KEYS = {"key", "table", "bucket", "include_subfolders", "new_files_only", "limit", "incremental",
                       "primary_key", "delimiter", "enclosure", "header", "columns", "filename_column",
                       "row_number_column"}
