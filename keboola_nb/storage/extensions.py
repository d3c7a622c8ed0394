"""DuckDB extensions from their PyPI wheels, so nothing is ever downloaded at run time."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import KeboolaError

if TYPE_CHECKING:
    import duckdb

# extension name as DuckDB knows it -> the wheel that carries it
WHEELS = {"postgres_scanner": "duckdb_extension_postgres", "httpfs": "duckdb_extension_httpfs"}


def load_extension(con: "duckdb.DuckDBPyConnection", name: str) -> None:
    # Checked, not tried: a failed statement would abort the caller's open transaction.
    state = con.execute(
        "SELECT loaded, installed FROM duckdb_extensions() WHERE extension_name = ?", [name]
    ).fetchone()
    if state and state[0]:
        return
    if state and state[1]:
        con.execute(f"LOAD {name}")
        return
    try:
        package = importlib.import_module(WHEELS[name])
    except ImportError:
        raise KeboolaError(
            f"the DuckDB extension {name} is missing", fix=f"pip install {WHEELS[name].replace('_', '-')}"
        ) from None
    files = sorted(Path(package.__file__).parent.glob("extensions/*/*.duckdb_extension"))
    if not files:
        raise KeboolaError(f"the package {WHEELS[name]} carries no extension file", fix="reinstall it")
    con.execute(f"INSTALL '{files[-1]}'")
    con.execute(f"LOAD {name}")
