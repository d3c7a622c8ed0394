"""The `example.ex-csv-folder` extractor: CSV files of a `csvfolder` connection into storage tables.

```
%%keboola extractor files-orders
connection: files
tables:
  - orders.csv                      # table orders, replaced on every run
  - table: customers.csv
    name: clients                   # optional; default: the file name without .csv
    primary_key: [id]               # optional; must be in the file's header
    incremental: true               # optional; upsert by the primary key
```

The configuration: root `parameters.path` (the folder), one row per file with
`parameters {file, table, incremental, primaryKey}`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from keboola_nb.components.component import Component, ProjectParts
from keboola_nb.connectors.base import Scan
from keboola_nb.errors import KeboolaError
from keboola_nb.model.configuration import ConfigRow, Configuration, new_id
from keboola_nb.model.validation import validated
from keboola_nb.storage.ids import safe_name

from .connector import read_csv

if TYPE_CHECKING:
    from keboola_nb.connections import Connection
    from keboola_nb.engine.runner import Run

ENTRY_KEYS = ("table", "name", "primary_key", "incremental")  # what a shorthand entry may hold


class FolderParameters(BaseModel):
    """The root `parameters`."""

    model_config = ConfigDict(extra="forbid")
    path: str


class FileParameters(FolderParameters):
    """One row's `parameters`, merged with the root: which file, which table, how it loads."""

    file: str
    table: str = Field(pattern=r"^[A-Za-z0-9_\-]{1,96}$")  # a Keboola table name
    incremental: bool = False
    primaryKey: list[str] = Field(default_factory=list)

    @field_validator("file")
    @classmethod
    def _in_the_folder(cls, file: str) -> str:
        if Path(file).name != file:  # a configuration edited by hand must not read outside the folder
            raise ValueError(f"file {file!r} must be a file name in the folder, not a path")
        return file


class CsvFolderExtractor(Component):
    id = "example.ex-csv-folder"
    type = "extractor"
    label = "CSV folder extractor"
    connection_kind = "csvfolder"
    entries = "tables"
    help = {  # what the assistant reads through component_help
        "table_entry_keys": {
            "table": "a CSV file of the connection's folder, e.g. orders.csv (list_tables lists them)",
            "name": "the output table's name (default: the file name without .csv)",
            "primary_key": "columns identifying a row; they must be in the file's header",
            "incremental": "true: upsert by the primary key instead of replacing the table",
        },
        "rules": [
            "create it with create_extractor; each entry is one file, read whole on every run",
            "tables land in in.c-example-ex-csv-folder-<configuration id>.<name>",
        ],
        "example": {"name": "files-orders", "connection": "files",
                    "tables": [{"table": "orders.csv", "primary_key": ["id"]}]},
    }

    def build(self, project: ProjectParts, name: str, connection: Connection, entries: list[Any], *,
              description: str = "", **options: Any) -> Configuration:
        rows = []
        for i, entry in enumerate(entries, 1):
            where = f"extractor {name!r}, entry {i}"
            if isinstance(entry, str):  # `- orders.csv`
                entry = {"table": entry}
            if not isinstance(entry, dict) or "table" not in entry:
                raise KeboolaError(f"{where}: needs 'table', a file of the folder such as orders.csv")
            unknown = set(entry) - set(ENTRY_KEYS)
            if unknown:
                raise KeboolaError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}",
                                   fix=f"allowed keys: {', '.join(ENTRY_KEYS)}")
            file = str(entry["table"])
            try:  # checked against the folder now, not at the first run
                columns = list(connection.describe(file)["column"])
            except KeboolaError as e:
                raise KeboolaError(f"{where}: {e.what}", fix=e.fix) from None
            primary_key = [str(c) for c in entry.get("primary_key") or []]
            missing = [c for c in primary_key if c not in columns]
            if missing:
                raise KeboolaError(f"{where}: primary key column(s) {', '.join(missing)} are not in {file}",
                                   fix=f"its columns are: {', '.join(columns)}")
            table = safe_name(str(entry.get("name") or Path(file).stem))
            parameters = {"file": file, "table": table, "incremental": bool(entry.get("incremental", False)),
                          "primaryKey": primary_key}
            rows.append(ConfigRow(id=new_id(), name=table, configuration={"parameters": parameters}))
        if len({r.name for r in rows}) != len(rows):
            raise KeboolaError(f"extractor {name!r}: two entries write the same table", fix="give each a distinct 'name'")
        config = Configuration(component_id=self.id, id=new_id(), name=name, description=description,
                               configuration={"parameters": {"path": connection.db["path"]}}, rows=rows)
        self.check(config)  # the same rules as for a configuration edited by hand
        return config

    def check(self, config: Configuration) -> list[tuple[str, Any]]:
        where = f"extractor {config.name!r}"
        validated(FolderParameters, config.configuration.get("parameters", {}), f"{where}, parameters")
        if not config.rows:
            raise KeboolaError(f"{where} has no files", fix="add a row with a file")
        return [(row.name, validated(FileParameters, config.merged(row).get("parameters", {}),
                                     f"{where}, row {row.name!r}"))
                for row in config.rows]

    def summary(self, config: Configuration) -> list[dict[str, Any]]:
        return [{"row": name, "source": f"{p.path}/{p.file}", "output_table": config.default_table_id(p.table),
                 "primary_key": p.primaryKey, "load": "incremental" if p.incremental else "full"}
                for name, p in self.check(config)]

    def run(self, run: Run, rows: list[tuple[str, str, Any]]) -> None:
        """Every file into its table in one storage transaction: all of them load, or none."""
        with run.storage.transaction() as loader:
            for index, (_row_id, row_name, p) in enumerate(rows, 1):
                table_id = run.config.default_table_id(p.table)
                run.progress.step(index, len(rows), f"{row_name} -> {table_id}")
                source = Path(p.path) / p.file
                if not source.is_file():  # it was there when the configuration was built
                    raise KeboolaError(f"row {row_name!r}: the file {source} is not there any more",
                                       fix="put it back, or remove the row from the configuration")
                run.load(loader, row_name, table_id, Scan(f"SELECT * FROM {read_csv(source)}"),
                         incremental=p.incremental, primary_key=p.primaryKey)
