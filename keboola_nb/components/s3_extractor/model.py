"""The AWS S3 extractor (`keboola.ex-aws-s3`) configuration, with Keboola's own rules.

Root `parameters`: the login (model/aws_login.py). Each row: `parameters` {bucket, key, includeSubfolders,
newFilesOnly, limit} and the `processors.after` chain that turns the downloaded files into one table, as
Keboola's UI writes it:
- CSV: [decompress (gzip keys)], move-files {direction: tables, addCsvSuffix, folder: <table>},
  [flatten-folders {starting_depth: 1} (with decompress)], create-manifest, [skip-lines {lines: 1} (header)],
  then any add-row-number-column / add-filename-column;
- Parquet: kds-team.processor-parquet2csv {table_name, incremental, primary_keys, ...} alone.
A chain keboola_nb cannot run as Keboola does is refused, never run differently.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...errors import KeboolaError
from ...model.aws_login import AwsLogin
from ...model.configuration import Configuration
from ...model.validation import validated

COMPONENT_ID = "keboola.ex-aws-s3"
DECOMPRESS = "keboola.processor-decompress"
MOVE_FILES = "keboola.processor-move-files"
FLATTEN = "keboola.processor-flatten-folders"
CREATE_MANIFEST = "keboola.processor-create-manifest"
SKIP_LINES = "keboola.processor-skip-lines"
ROW_NUMBER = "keboola.processor-add-row-number-column"
FILENAME = "keboola.processor-add-filename-column"
PARQUET = "kds-team.processor-parquet2csv"
CSV_CHAIN = (DECOMPRESS, MOVE_FILES, FLATTEN, CREATE_MANIFEST, SKIP_LINES)  # in this order, each at most once
# Processors that append a column (after the chain: they need headerless files and columns in the manifest),
# with Keboola's default column names.
ADDED_COLUMNS = {ROW_NUMBER: "row_number", FILENAME: "filename"}
PARQUET_FILENAME = "parquet_filename"  # the column parquet2csv's include_filename adds
CHAIN_FIX = ("the CSV chain is: [decompress], move-files, [flatten-folders], create-manifest, [skip-lines], then "
             "add-row-number-column / add-filename-column; Parquet files take kds-team.processor-parquet2csv alone")


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
        if "*" in self.key[:-1]:  # Keboola's Finder lists a prefix only for a key ending in '*'
            raise ValueError(f"key {self.key!r}: Keboola reads '*' as a wildcard only at the end of the key (elsewhere "
                             f"it looks for a file with '*' in its name); end the key with it, e.g. "
                             f"{self.key.partition('*')[0]}*, and keep one kind of file under that prefix")
        if self.includeSubfolders and not self.wildcard:
            raise ValueError("Cannot include subfolders without wildcard; end the key with '*'")
        if self.limit < 0:
            raise ValueError("limit must be 0 (no cap) or a positive number of files")
        return self

    @property
    def wildcard(self) -> bool:
        return self.key.endswith("*")


class Manifest(BaseModel):
    """What `keboola.processor-create-manifest` says about the table."""

    model_config = ConfigDict(extra="ignore")
    incremental: bool = False
    primary_key: list[str] = Field(default_factory=list)
    delimiter: str = ","
    enclosure: str = '"'
    columns: list[str] = Field(default_factory=list)  # the names, for files without a header row
    columns_from: str | None = None  # "header": the first line names them; "auto": col_1, col_2, ...; wins over columns


class Parquet(BaseModel):
    """`kds-team.processor-parquet2csv` parameters (it ignores unknown keys, so do we)."""

    model_config = ConfigDict(extra="ignore")
    table_name: str
    columns: list[str] = Field(default_factory=list)
    incremental: bool = False
    primary_keys: list[str] = Field(default_factory=list)
    include_filename: bool = False
    file_mask: str = "*.parquet"
    debug: bool = False
    fill_empty_values: bool = False
    mode: str | None = "fast"


class S3Table(BaseModel):
    """A row checked and resolved: where to read, which table to write, how the files become its rows."""

    params: S3Row
    table: str  # the move-files folder (CSV) or parquet2csv's table_name without .csv: the table name
    format: Literal["csv", "parquet"] = "csv"
    decompress: bool = False  # keboola.processor-decompress: the files are gzip
    decompress_auto: bool = True  # its compression_type 'auto' takes .gz files only; 'gzip' takes any name
    csv_suffix: bool = False  # move-files addCsvSuffix: '.csv' is appended to each file's name
    manifest: Manifest = Field(default_factory=Manifest)
    skip_header: bool = False  # keboola.processor-skip-lines {lines: 1}: each file's first line is dropped
    added: list[tuple[str, str]] = Field(default_factory=list)  # (processor, column name), in their order
    parquet: Parquet | None = None

    @property
    def incremental(self) -> bool:
        return self.parquet.incremental if self.parquet else self.manifest.incremental

    @property
    def primary_key(self) -> list[str]:
        return self.parquet.primary_keys if self.parquet else self.manifest.primary_key


def check_rows(config: Configuration) -> list[tuple[str, S3Table]]:
    where = f"extractor {config.name!r}"
    validated(S3Root, config.configuration.get("parameters", {}), f"{where}, parameters")
    if not config.rows:
        raise KeboolaError(f"{where} has no files", fix="add at least one row with a key")
    out = []
    for row in config.rows:
        at = f"{where}, row {row.name!r}"
        params = validated(S3Row, config.merged(row).get("parameters", {}), at)
        after = (row.configuration.get("processors") or {}).get("after") or []
        steps = [(str((entry.get("definition") or {}).get("component", "")), entry.get("parameters") or {})
                 for entry in after]
        table = _parquet_table(params, steps, at) if PARQUET in dict(steps) else _csv_table(params, steps, at)
        out.append((row.name, table))
    return out


def _parquet_table(params: S3Row, steps: list[tuple[str, dict[str, Any]]], at: str) -> S3Table:
    if len(steps) != 1:
        raise KeboolaError(f"{at}: {PARQUET} makes the table from the downloaded files by itself; keboola_nb runs it "
                           "as the row's only processor", fix="remove the other processors")
    parquet = validated(Parquet, steps[0][1], f"{at}, {PARQUET}")
    if parquet.fill_empty_values or parquet.mode == "fill":
        raise KeboolaError(f"{at}: {PARQUET} with fill_empty_values is not supported here",
                           fix="leave fill_empty_values out (missing columns are then an error, as in Keboola)")
    name = parquet.table_name.removesuffix(".csv")
    if not name or "/" in name:
        raise KeboolaError(f"{at}: {PARQUET} table_name {parquet.table_name!r} must be a table name",
                           fix="e.g. table_name: sales.csv (the table 'sales')")
    return S3Table(params=params, table=name, format="parquet", parquet=parquet)


def _csv_table(params: S3Row, steps: list[tuple[str, dict[str, Any]]], at: str) -> S3Table:
    names = [component for component, _ in steps]
    unknown = [c for c in names if c not in CSV_CHAIN and c not in ADDED_COLUMNS]
    if unknown:
        raise KeboolaError(f"{at}: processor {unknown[0] or '(no component)'} is not one keboola_nb runs",
                           fix=CHAIN_FIX)
    chain = [c for c in names if c in CSV_CHAIN]
    if names[:len(chain)] != chain or chain != [c for c in CSV_CHAIN if c in chain] or len(set(chain)) != len(chain):
        raise KeboolaError(f"{at}: the processors {', '.join(names)} are not in Keboola's order", fix=CHAIN_FIX)
    given = dict(steps)
    for required in (MOVE_FILES, CREATE_MANIFEST):
        if required not in given:
            raise KeboolaError(f"{at}: no {required} processor", fix=CHAIN_FIX)
    move = given[MOVE_FILES]
    if move.get("direction") != "tables" or not move.get("folder"):
        raise KeboolaError(f"{at}: {MOVE_FILES} needs direction 'tables' and a 'folder'",
                           fix="the folder names the output table, e.g. {direction: tables, addCsvSuffix: true, "
                               "folder: sales}")
    decompress = DECOMPRESS in given
    if decompress:
        options = given[DECOMPRESS]
        if options.get("compression_type", "auto") not in ("auto", "gzip") or options.get("graceful"):
            raise KeboolaError(f"{at}: {DECOMPRESS} runs here for gzip files only, without 'graceful'",
                               fix="leave its parameters out (gzip is detected from the .gz suffix)")
        if FLATTEN not in given:
            raise KeboolaError(f"{at}: {DECOMPRESS} puts each file into a folder of its own, which the table cannot "
                               "hold", fix=f"add {FLATTEN} {{starting_depth: 1}} right after {MOVE_FILES}")
    if FLATTEN in given and (given[FLATTEN].get("starting_depth", 0) != 1
                             or given[FLATTEN].get("flatten_strategy", "concat") != "concat"):
        raise KeboolaError(f"{at}: {FLATTEN} must keep the table's folder",
                           fix="use {starting_depth: 1} (and the default concat strategy)")
    manifest = Manifest.model_validate(given[CREATE_MANIFEST])
    if manifest.columns_from not in (None, "header", "auto"):
        raise KeboolaError(f"{at}: columns_from {manifest.columns_from!r} is not supported",
                           fix="use 'header' (the first line names the columns) or 'auto' (col_1, col_2, ...)")
    if manifest.columns_from is None and not manifest.columns:
        raise KeboolaError(f"{at}: {CREATE_MANIFEST} names no columns, which a table made of several files needs",
                           fix="add columns_from: header (with skip-lines) or auto, or columns: [...]")
    skip = SKIP_LINES in given
    if skip and (given[SKIP_LINES].get("lines") != 1 or given[SKIP_LINES].get("direction_from", "top") != "top"):
        raise KeboolaError(f"{at}: {SKIP_LINES} runs here to drop the header line only",
                           fix="use {lines: 1} (from the top)")
    if manifest.columns_from == "header" and not skip:
        raise KeboolaError(f"{at}: columns_from 'header' without {SKIP_LINES}: Keboola would load each file's header "
                           "line as a data row", fix=f"add {SKIP_LINES} {{lines: 1}} right after {CREATE_MANIFEST}")
    added = [(c, str(options.get("column_name") or ADDED_COLUMNS[c])) for c, options in steps if c in ADDED_COLUMNS]
    return S3Table(params=params, table=str(move["folder"]), decompress=decompress,
                   decompress_auto=given.get(DECOMPRESS, {}).get("compression_type", "auto") == "auto",
                   csv_suffix=bool(move.get("addCsvSuffix", False)), manifest=manifest, skip_header=skip, added=added)


def summarize(config: Configuration) -> list[dict[str, Any]]:
    """One line per row: what it reads, where it lands, how it loads."""
    return [
        {"row": name, "source": f"s3://{t.params.bucket}/{t.params.key}",
         "output_table": config.default_table_id(t.table), "primary_key": t.primary_key,
         "load": ("incremental" if t.incremental else "full") + (", new files only" if t.params.newFilesOnly else "")}
        for name, t in check_rows(config)
    ]


def _processor(component: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"definition": {"component": component}, **({"parameters": parameters} if parameters is not None else {})}


def row_parameters(bucket: str, key: str, *, include_subfolders: bool = False, new_files_only: bool = False,
                   limit: int = 0) -> dict[str, Any]:
    return {"bucket": bucket, "key": key, "includeSubfolders": include_subfolders, "newFilesOnly": new_files_only,
            "limit": limit}


def csv_processors(table: str, *, gzip: bool = False, incremental: bool = False, primary_key: list[str] | None = None,
                   delimiter: str = ",", enclosure: str = '"', header: bool = True, columns: list[str] | None = None,
                   row_number_column: str | None = None, filename_column: str | None = None) -> list[dict[str, Any]]:
    """The CSV chain as the Keboola UI writes it."""
    manifest: dict[str, Any] = {"delimiter": delimiter, "enclosure": enclosure, "incremental": incremental,
                                "primary_key": list(primary_key or [])}
    if columns:
        manifest["columns"] = list(columns)
    else:
        manifest["columns_from"] = "header" if header else "auto"
    return [
        *([_processor(DECOMPRESS)] if gzip else []),
        _processor(MOVE_FILES, {"direction": "tables", "addCsvSuffix": True, "folder": table}),
        *([_processor(FLATTEN, {"starting_depth": 1})] if gzip else []),
        _processor(CREATE_MANIFEST, manifest),
        *([_processor(SKIP_LINES, {"lines": 1})] if manifest.get("columns_from") == "header" else []),
        *[_processor(component, {"column_name": column})
          for component, column in ((ROW_NUMBER, row_number_column), (FILENAME, filename_column)) if column],
    ]


def parquet_processors(table: str, *, incremental: bool = False, primary_key: list[str] | None = None,
                       include_filename: bool = False) -> list[dict[str, Any]]:
    return [_processor(PARQUET, {"table_name": f"{table}.csv", "incremental": incremental,
                                 "primary_keys": list(primary_key or []), "include_filename": include_filename})]


# The YAML shorthand of `%%keboola extractor NAME` for S3 -------------------------------------------

SHORTHAND_FILE_KEYS = {"key", "table", "bucket", "include_subfolders", "new_files_only", "limit", "incremental",
                       "primary_key", "delimiter", "enclosure", "header", "columns", "filename_column",
                       "row_number_column"}
