"""The `csvfolder` connection kind: a local folder whose `*.csv` files are its tables, read by DuckDB.

    %keboola connect files csvfolder:///data/exports

`.keboola/connections.json` keeps `{"kind": "csvfolder", "folder": {"path": "/data/exports"}}`; a folder needs
no credentials, so there is no secret.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from keboola_nb.connectors.base import ConnectionKind, Diagnosis, duck_literal, table_not_found
from keboola_nb.errors import KeboolaError

if TYPE_CHECKING:
    import duckdb
    import pandas as pd


def read_csv(path: Path) -> str:
    """The DuckDB table function reading one CSV file: a header row, column types inferred."""
    return f"read_csv({duck_literal(str(path))}, header = true)"


class CsvFolderConnector:
    kind = "csvfolder"

    def __init__(self, name: str, folder: Path) -> None:
        self.name = name  # the connection's name, for messages
        self.folder = folder

    @contextmanager
    def _duckdb(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A fresh in-memory DuckDB per call: the assistant browses from several threads at once, and a
        connection must not be shared between threads. Driver errors become one line the user can act on."""
        import duckdb

        con = duckdb.connect()
        try:
            yield con
        except duckdb.Error as e:
            raise KeboolaError(f"DuckDB could not read a CSV file in {self.folder}: {str(e).splitlines()[0]}",
                               fix="check that the file is CSV with a header row") from None
        finally:
            con.close()

    def _frame(self, sql: str) -> pd.DataFrame:
        import pandas as pd

        with self._duckdb() as con:  # Arrow types keep integers integers in the assistant's JSON
            return con.execute(sql).to_arrow_table().to_pandas(types_mapper=pd.ArrowDtype)

    def names(self) -> list[str]:
        """The table names: the folder's CSV files (not its subfolders)."""
        if not self.folder.is_dir():
            raise KeboolaError(f"the folder {self.folder} of connection {self.name!r} does not exist",
                               fix=f"create it, or point the connection elsewhere: "
                                   f"%keboola connect {self.name} csvfolder:///path --replace")
        return sorted(p.name for p in self.folder.glob("*.csv") if p.is_file())

    def file(self, table: str) -> Path:
        """The file a table names; only a file of the folder, so a name can never reach outside it."""
        names = self.names()
        if table not in names:
            raise table_not_found(table, names, self.name)  # says which names are close
        return self.folder / table

    # what every connector offers -------------------------------------------------------------------
    def test(self) -> Diagnosis:
        details: dict[str, Any] = {"folder": str(self.folder)}
        try:
            files = self.names()
        except KeboolaError as e:
            return Diagnosis(False, "missing_database", e.what, e.fix or "", details)
        return Diagnosis(True, "ok", f"folder {self.folder} is readable", details=details | {"csv files": len(files)})

    def tables(self, schema: str | None = None) -> pd.DataFrame:
        """One line per CSV file: table (the file name), rows, columns."""
        import pandas as pd

        if schema is not None:
            raise KeboolaError(f"connection {self.name!r} is a folder of CSV files: it has no schemas",
                               fix="leave out the schema")
        lines = []
        for name in self.names():
            counted = self._frame(f"SELECT count(*) AS n FROM {read_csv(self.folder / name)}")
            lines.append({"table": name, "rows": int(counted["n"][0]), "columns": len(self.describe(name))})
        return pd.DataFrame(lines, columns=["table", "rows", "columns"])

    def describe(self, table: str) -> pd.DataFrame:
        """The columns of one file and the types DuckDB infers for them."""
        return self._frame("SELECT column_name AS column, column_type AS type "
                           f"FROM (DESCRIBE SELECT * FROM {read_csv(self.file(table))})")

    def preview(self, table: str, limit: int = 100) -> pd.DataFrame:
        """The first rows of one file; DuckDB stops reading at the limit."""
        return self._frame(f"SELECT * FROM {read_csv(self.file(table))} LIMIT {max(0, int(limit))}")

    def close(self) -> None:
        """Nothing stays open between calls."""


class CsvFolderKind(ConnectionKind):
    name = "csvfolder"
    schemes = ("csvfolder",)
    node_key = "folder"

    def parse_url(self, url: str) -> tuple[dict[str, Any], str | None]:
        """`csvfolder:///absolute/path` -> the node; no password can be written in such a URL."""
        parts = urlsplit(url.strip())
        path = unquote(parts.path)
        if parts.netloc or not path.startswith("/"):  # csvfolder://data/x would silently drop "data"
            raise KeboolaError(f"{url!r} does not name an absolute folder",
                               fix="write it with three slashes: csvfolder:///absolute/path/to/folder")
        return {"path": str(Path(path))}, None

    def target(self, node: dict[str, Any]) -> str:
        return f"csvfolder://{node['path']}"

    def secret(self, node: dict[str, Any]) -> str:
        return "none"  # a local folder needs no credentials

    def connector(self, name: str, node: dict[str, Any]) -> CsvFolderConnector:
        return CsvFolderConnector(name, Path(node["path"]))
