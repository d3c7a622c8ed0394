"""The AWS S3 extractor (`keboola.ex-aws-s3`) configuration, with Keboola's own rules.

Root `parameters`: {loginType: credentials, accessKeyId, #secretAccessKey}. Each row: `parameters`
{bucket, key, includeSubfolders, newFilesOnly, limit} and the processors that name the table
(`keboola.processor-move-files` folder) and describe the load (`keboola.processor-create-manifest`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import KeboolaError
from .configuration import Configuration
from .validation import explain

COMPONENT_ID = "keboola.ex-aws-s3"
MOVE_FILES = "keboola.processor-move-files"
CREATE_MANIFEST = "keboola.processor-create-manifest"


class S3Root(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    loginType: str = "credentials"
    accessKeyId: str
    secretAccessKey: str = Field(alias="#secretAccessKey")

    @model_validator(mode="after")
    def _credentials_only(self) -> S3Root:
        if self.loginType != "credentials":
            raise ValueError("only loginType 'credentials' is supported here (not role login)")
        return self


class S3Row(BaseModel):
    """One row's `parameters`, merged with the root."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    loginType: str = "credentials"
    accessKeyId: str
    secretAccessKey: str = Field(alias="#secretAccessKey")
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
    columns_from: str = "header"


class S3Table(BaseModel):
    """A row checked and resolved: where to read, which table to write, how to load."""

    params: S3Row
    table: str  # the move-files folder, i.e. the table name
    manifest: Manifest


def _processor(row_config: dict[str, Any], component_id: str) -> dict[str, Any] | None:
    for entry in (row_config.get("processors") or {}).get("after", []):
        if entry.get("definition", {}).get("component") == component_id:
            return entry.get("parameters") or {}
    return None


def check_rows(config: Configuration) -> list[tuple[str, S3Table]]:
    where = f"extractor {config.name!r}"
    try:
        S3Root.model_validate(config.configuration.get("parameters", {}))
    except ValidationError as e:
        raise explain(e, f"{where}, parameters", S3Root) from None
    if not config.rows:
        raise KeboolaError(f"{where} has no files", fix="add at least one row with a key")
    out = []
    for row in config.rows:
        merged = config.merged(row)
        try:
            params = S3Row.model_validate(merged.get("parameters", {}))
        except ValidationError as e:
            raise explain(e, f"{where}, row {row.name!r}", S3Row) from None
        move = _processor(row.configuration, MOVE_FILES)
        if not move or not move.get("folder"):
            raise KeboolaError(f"{where}, row {row.name!r}: no {MOVE_FILES} processor with a 'folder'",
                               fix="the folder names the output table; add the processor")
        manifest = Manifest.model_validate(_processor(row.configuration, CREATE_MANIFEST) or {})
        if manifest.columns_from != "header":
            raise KeboolaError(f"{where}, row {row.name!r}: columns_from {manifest.columns_from!r} is not supported",
                               fix="use columns_from: header (files with a header row)")
        out.append((row.name, S3Table(params=params, table=str(move["folder"]), manifest=manifest)))
    return out


def row_configuration(
    bucket: str, key: str, table: str, *, include_subfolders: bool = False, new_files_only: bool = False,
    limit: int = 0, incremental: bool = False, primary_key: list[str] | None = None, delimiter: str = ",",
    enclosure: str = '"',
) -> dict[str, Any]:
    """A row as the Keboola UI saves it."""
    return {
        "parameters": {"bucket": bucket, "key": key, "includeSubfolders": include_subfolders,
                       "newFilesOnly": new_files_only, "limit": limit},
        "processors": {"after": [
            {"definition": {"component": MOVE_FILES},
             "parameters": {"direction": "tables", "addCsvSuffix": True, "folder": table}},
            {"definition": {"component": CREATE_MANIFEST},
             "parameters": {"delimiter": delimiter, "enclosure": enclosure, "incremental": incremental,
                            "primary_key": list(primary_key or []), "columns_from": "header"}},
        ]},
    }


# The YAML shorthand of `%%keboola extractor NAME` for S3 -------------------------------------------

SHORTHAND_FILE_KEYS = {"key", "table", "bucket", "include_subfolders", "new_files_only", "limit", "incremental",
                       "primary_key", "delimiter", "enclosure"}
