"""The data folder a Python transformation runs in, laid out as Keboola's `/data`: `in/tables/<name>.csv` with a
`.manifest` beside each input, `out/tables/` for what the code writes, `in/files` and `out/files`, and the
configuration as `config.json`. Locally it lives under the project's local folder, one per job."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...connectors.base import Scan, duck_literal
from ...engine.mapping import input_select
from ...errors import KeboolaError
from ...storage.ids import TableId
from ...storage.storage import META_SCHEMA

if TYPE_CHECKING:
    import duckdb

    from ...model.transformation import TransformationInput, TransformationOutput

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
WRITE_FIX = "write it with a header row, e.g. df.to_csv('out/tables/NAME.csv', index=False)"


class DataFolder:
    """Keboola's data folder for one run (KBC_DATADIR)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.in_tables = root / "in" / "tables"
        self.out_tables = root / "out" / "tables"

    @classmethod
    def create(cls, root: Path, configuration: dict[str, Any]) -> "DataFolder":
        """A fresh, empty data folder (a stale one of the same job id is replaced)."""
        if root.exists():
            shutil.rmtree(root)
        for sub in ("in/tables", "in/files", "out/tables", "out/files"):
            (root / sub).mkdir(parents=True)
        (root / "config.json").write_text(json.dumps(configuration, indent=2, default=str), encoding="utf-8")
        return cls(root)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    # inputs --------------------------------------------------------------------------------------------
    def export(self, con: "duckdb.DuckDBPyConnection", table: "TransformationInput", last_read: str | None,
               where: str) -> tuple[int, str | None]:
        """Write one input as Keboola does (CSV with a header, comma, double quotes, UTF-8, and a manifest);
        the rows written and the newest import time read (for changed_since: adaptive)."""
        select, newest = input_select(con, table, last_read, where)
        path = self.in_tables / table.destination
        copy = f"COPY ({select}) TO {duck_literal(str(path))} (FORMAT CSV, HEADER, DELIMITER ',', QUOTE '\"')"
        rows = con.execute(copy).fetchone()[0]  # type: ignore[index]  # COPY answers the rows it wrote
        columns = [d[0] for d in con.execute(f"SELECT * FROM ({select}) LIMIT 0").description]
        meta = con.execute(f"SELECT primary_key, rows, created, last_import FROM {META_SCHEMA}.tables "
                           "WHERE table_id = ?", [table.source]).fetchone()
        primary_key, total, created, last_import = meta if meta else (None, None, None, None)
        manifest = {"id": table.source, "name": TableId.parse(table.source).table, "columns": columns,
                    "primary_key": [c for c in primary_key or [] if c in columns], "rows_count": total,
                    "created": _iso(created), "last_import_date": _iso(last_import),
                    "last_change_date": _iso(last_import)}
        _write_json(path.with_name(path.name + ".manifest"), manifest)
        return int(rows), newest

    # outputs -------------------------------------------------------------------------------------------
    def written(self) -> list[str]:
        """What the code wrote to out/tables, as paths relative to the data folder."""
        return sorted(p.relative_to(self.root).as_posix() for p in self.out_tables.rglob("*") if p.is_file())

    def missing(self, outputs: list["TransformationOutput"]) -> None:
        """Every output's file must be there; nothing is loaded otherwise."""
        absent = [f"out/tables/{o.source}" for o in outputs if not (self.out_tables / o.source).is_file()]
        if absent:
            wrote = self.written()
            said = f"it wrote {', '.join(wrote)}" if wrote else "it wrote nothing to out/tables"
            raise KeboolaError(f"the script wrote no {', '.join(absent)} ({said})",
                               fix="write each output there, e.g. df.to_csv('out/tables/NAME.csv', index=False) "
                                   "with a relative path, or change the output's source to the file it writes")

    def output(self, output: "TransformationOutput") -> tuple[Scan, "TransformationOutput"]:
        """The scan that reads one output's CSV, and the output with what its manifest adds: the columns of
        a CSV without a header row, and a primary key when the configuration sets none (the configuration
        wins over the manifest, as in Keboola)."""
        path = self.out_tables / output.source
        shown = f"out/tables/{output.source}"
        manifest = self._manifest(path, shown)
        delimiter = str(manifest.get("delimiter") or ",")
        enclosure = str(manifest.get("enclosure") or '"')
        columns = manifest.get("columns") or []
        if not isinstance(columns, list) or not all(isinstance(c, str) and c for c in columns):
            raise KeboolaError(f"{shown}.manifest: columns must be a list of column names",
                               fix='e.g. "columns": ["id", "name"], or leave it out and write a header row')
        if not columns:
            _check_header(path, shown, delimiter, enclosure)
        options = {"delim": delimiter, "quote": enclosure, "escape": enclosure}
        read = ", ".join(f"{k}={duck_literal(v)}" for k, v in options.items())
        header = f"header=false, names=[{', '.join(duck_literal(c) for c in columns)}]" if columns else "header=true"
        # skip=0: without it DuckDB's sniffer may skip ragged rows, header and all, and read nothing;
        # sample_size=-1: types are detected from every row, so a late odd value does not fail the load.
        sql = (f"SELECT * FROM read_csv({duck_literal(str(path))}, {header}, {read}, skip=0, auto_detect=true, "
               "sample_size=-1)")
        primary_key = output.primary_key or [str(c) for c in manifest.get("primary_key") or []]
        return Scan(sql=sql), output.model_copy(update={"primary_key": primary_key})

    def _manifest(self, path: Path, shown: str) -> dict[str, Any]:
        manifest = path.with_name(path.name + ".manifest")
        if not manifest.is_file():
            return {}
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise KeboolaError(f"{shown}.manifest is not valid JSON: {e}",
                               fix="write it with json.dump, or do not write a manifest") from None
        if not isinstance(data, dict):
            raise KeboolaError(f"{shown}.manifest is not a JSON object", fix='e.g. {"primary_key": ["id"]}')
        return data


def _check_header(path: Path, shown: str, delimiter: str, enclosure: str) -> None:
    """The first row must name the columns: Keboola takes the column names from it."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            header = next(csv.reader(f, delimiter=delimiter, quotechar=enclosure), None)
    except UnicodeDecodeError:
        raise KeboolaError(f"{shown} is not UTF-8 text", fix="write it as UTF-8 (pandas does by default)") from None
    except csv.Error as e:
        raise KeboolaError(f"{shown} is not a CSV file: {e}", fix=WRITE_FIX) from None
    if not header or not any(c.strip() for c in header):
        raise KeboolaError(f"{shown} is empty: it has no header row", fix=WRITE_FIX)
    if any(not c.strip() for c in header):
        raise KeboolaError(f"{shown} has a column without a name in its header row ({','.join(header)})",
                           fix="pandas writes its index that way: write with df.to_csv(..., index=False)")
    if all(_is_number(c) for c in header):
        raise KeboolaError(f"{shown} has no header row: its first row is {','.join(header)}",
                           fix=f"{WRITE_FIX}, or list the columns in {shown}.manifest: "
                               '{"columns": ["id", "name"]}')


def _is_number(text: str) -> bool:
    return _NUMBER.fullmatch(text.strip()) is not None


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None and hasattr(value, "isoformat") else None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
