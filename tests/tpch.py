"""TPC-H for the transformation tests and benchmark: data from dbgen, the 22 queries and the official answers, all
from DuckDB's tpch extension out of its PyPI wheel (nothing is downloaded at run time), and comparing result rows
exactly (decimals as Decimal) across engines whose row order and numeric types differ.
"""

from __future__ import annotations

import importlib
import math
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

import pytest

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

TABLES = ("nation", "region", "part", "supplier", "partsupp", "customer", "orders", "lineitem")
FLOAT_REL_TOL = 1e-9  # averages and ratios: doubles in DuckDB, numerics in PostgreSQL
# A decimal with at most this many places is exact (TPC-H's sums of DECIMAL(15,2) products have up to 6);
# PostgreSQL's averages of numerics have 16 and more, and DuckDB's are doubles.
EXACT_PLACES = 6

# TPC-H's own column types (spec 1.4), with primary keys: what a real source database would hold.
POSTGRES_DDL = """
CREATE TABLE region (r_regionkey INTEGER PRIMARY KEY, r_name CHAR(25) NOT NULL, r_comment VARCHAR(152));
CREATE TABLE nation (n_nationkey INTEGER PRIMARY KEY, n_name CHAR(25) NOT NULL, n_regionkey INTEGER NOT NULL,
                     n_comment VARCHAR(152));
CREATE TABLE part (p_partkey BIGINT PRIMARY KEY, p_name VARCHAR(55) NOT NULL, p_mfgr CHAR(25) NOT NULL,
                   p_brand CHAR(10) NOT NULL, p_type VARCHAR(25) NOT NULL, p_size INTEGER NOT NULL,
                   p_container CHAR(10) NOT NULL, p_retailprice DECIMAL(15,2) NOT NULL,
                   p_comment VARCHAR(23) NOT NULL);
CREATE TABLE supplier (s_suppkey BIGINT PRIMARY KEY, s_name CHAR(25) NOT NULL, s_address VARCHAR(40) NOT NULL,
                       s_nationkey INTEGER NOT NULL, s_phone CHAR(15) NOT NULL, s_acctbal DECIMAL(15,2) NOT NULL,
                       s_comment VARCHAR(101) NOT NULL);
CREATE TABLE partsupp (ps_partkey BIGINT NOT NULL, ps_suppkey BIGINT NOT NULL, ps_availqty INTEGER NOT NULL,
                       ps_supplycost DECIMAL(15,2) NOT NULL, ps_comment VARCHAR(199) NOT NULL,
                       PRIMARY KEY (ps_partkey, ps_suppkey));
CREATE TABLE customer (c_custkey BIGINT PRIMARY KEY, c_name VARCHAR(25) NOT NULL, c_address VARCHAR(40) NOT NULL,
                       c_nationkey INTEGER NOT NULL, c_phone CHAR(15) NOT NULL, c_acctbal DECIMAL(15,2) NOT NULL,
                       c_mktsegment CHAR(10) NOT NULL, c_comment VARCHAR(117) NOT NULL);
CREATE TABLE orders (o_orderkey BIGINT PRIMARY KEY, o_custkey BIGINT NOT NULL, o_orderstatus CHAR(1) NOT NULL,
                     o_totalprice DECIMAL(15,2) NOT NULL, o_orderdate DATE NOT NULL,
                     o_orderpriority CHAR(15) NOT NULL, o_clerk CHAR(15) NOT NULL, o_shippriority INTEGER NOT NULL,
                     o_comment VARCHAR(79) NOT NULL);
CREATE TABLE lineitem (l_orderkey BIGINT NOT NULL, l_partkey BIGINT NOT NULL, l_suppkey BIGINT NOT NULL,
                       l_linenumber INTEGER NOT NULL, l_quantity DECIMAL(15,2) NOT NULL,
                       l_extendedprice DECIMAL(15,2) NOT NULL, l_discount DECIMAL(15,2) NOT NULL,
                       l_tax DECIMAL(15,2) NOT NULL, l_returnflag CHAR(1) NOT NULL, l_linestatus CHAR(1) NOT NULL,
                       l_shipdate DATE NOT NULL, l_commitdate DATE NOT NULL, l_receiptdate DATE NOT NULL,
                       l_shipinstruct CHAR(25) NOT NULL, l_shipmode CHAR(10) NOT NULL,
                       l_comment VARCHAR(44) NOT NULL, PRIMARY KEY (l_orderkey, l_linenumber));
"""
PRIMARY_KEYS = {"region": ["r_regionkey"], "nation": ["n_nationkey"], "part": ["p_partkey"],
                "supplier": ["s_suppkey"], "partsupp": ["ps_partkey", "ps_suppkey"], "customer": ["c_custkey"],
                "orders": ["o_orderkey"], "lineitem": ["l_orderkey", "l_linenumber"]}

Row = tuple[Any, ...]


def extension_path() -> Path:
    """The tpch extension file inside the duckdb-extension-tpch wheel."""
    package = Path(importlib.import_module("duckdb_extension_tpch").__file__).parent  # type: ignore[arg-type]
    found = sorted(package.glob("extensions/v*/tpch.duckdb_extension"))
    if not found:
        raise RuntimeError(f"duckdb-extension-tpch carries no tpch.duckdb_extension under {package}")
    return found[-1]


def load_tpch(con: "duckdb.DuckDBPyConnection") -> None:
    """LOAD tpch into `con`, installed from the wheel's file (no download)."""
    con.execute(f"INSTALL '{extension_path()}'")
    con.execute("LOAD tpch")


def connect(database: str = ":memory:") -> "duckdb.DuckDBPyConnection":
    import duckdb

    con = duckdb.connect(database, config={"autoinstall_known_extensions": False,
                                           "autoload_known_extensions": False})
    load_tpch(con)
    return con


def generate(scale: float, database: str = ":memory:") -> "duckdb.DuckDBPyConnection":
    """A DuckDB with the 8 TPC-H tables at scale factor `scale`, made by dbgen."""
    con = connect(database)
    con.execute(f"CALL dbgen(sf={float(scale)})")
    return con


def tpch_queries() -> dict[int, str]:
    """The 22 queries as DuckDB ships them (DuckDB dialect), by number, without the trailing ';'."""
    with connect() as con:
        rows = con.execute("SELECT query_nr, query FROM tpch_queries() ORDER BY query_nr").fetchall()
    return {int(n): text.strip().rstrip(";").strip() for n, text in rows}


def transpiled(query: str, dialect: str) -> str:
    """`query` (DuckDB dialect) in `dialect`, as sqlglot writes it."""
    import sqlglot

    (text,) = sqlglot.transpile(query, read="duckdb", write=dialect, pretty=True)
    return text


def tables_of(query: str) -> list[str]:
    """The TPC-H tables a query reads (its transformation's inputs), in TABLES order."""
    import sqlglot
    from sqlglot import exp

    names = {t.name.lower() for t in sqlglot.parse_one(query, read="duckdb").find_all(exp.Table)}
    return [t for t in TABLES if t in names]


def tpch_answers(scale: float) -> dict[int, tuple[list[str], list[list[str]]]]:
    """The official answers at `scale` (0.01, 0.1 or 1): header and rows of pipe-separated cells, by query."""
    with connect() as con:
        rows = con.execute("SELECT query_nr, answer FROM tpch_answers() WHERE scale_factor = ? ORDER BY query_nr",
                           [float(scale)]).fetchall()
    if not rows:
        raise ValueError(f"tpch_answers() has no answers for scale factor {scale}")
    parsed = {}
    for n, text in rows:
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()  # the text ends with a newline; an empty line before it is a row of one NULL
        parsed[int(n)] = (lines[0].split("|"), [line.split("|") for line in lines[1:]])
    return parsed


def copy_to_postgres(source: "duckdb.DuckDBPyConnection", libpq: str) -> dict[str, int]:
    """Copy the 8 tables from `source` into the PostgreSQL database at `libpq` (tables already created there) with
    DuckDB's postgres scanner (its binary COPY); rows per table."""
    from keboola_nb.storage.extensions import load_extension

    load_extension(source, "postgres_scanner")
    source.execute(f"ATTACH '{libpq}' AS tpch_pg (TYPE postgres)")
    try:
        counts = {}
        for table in TABLES:
            source.execute(f"INSERT INTO tpch_pg.public.{table} SELECT * FROM main.{table}")
            counts[table] = source.execute(f"SELECT count(*) FROM main.{table}").fetchone()[0]  # type: ignore[index]
        return counts
    finally:
        source.execute("DETACH tpch_pg")


# comparing ---------------------------------------------------------------------------------------------------
def frame_rows(df: "pd.DataFrame") -> list[Row]:
    """Rows of a DataFrame (Arrow dtypes) as Python values: Decimal, int, float, str, date; NULL as None."""
    import pyarrow as pa

    table = pa.Table.from_pandas(df, preserve_index=False)
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return list(zip(*columns)) if columns else []


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, (int, float, Decimal)):
        return (1, float(value))
    if isinstance(value, (date, datetime)):
        return (2, value.isoformat())
    return (3, str(value))


def sorted_rows(rows: Iterable[Sequence[Any]]) -> list[Row]:
    """Rows in one order, whatever engine made them (storage keeps no row order)."""
    return sorted((tuple(r) for r in rows), key=lambda r: tuple(_sort_key(v) for v in r))


def same_value(ours: Any, theirs: Any) -> bool:
    """Equal as values: decimals and integers exactly, a double on either side to 1e-9 relative (but never a
    double for an exact decimal)."""
    if ours is None or theirs is None:
        return ours is None and theirs is None
    numbers = (int, float, Decimal)
    if isinstance(ours, numbers) and isinstance(theirs, numbers) and not isinstance(ours, bool):
        if isinstance(ours, float) and isinstance(theirs, Decimal) and theirs.as_tuple().exponent >= -EXACT_PLACES:
            return False  # an exact decimal (a sum of prices) came back as a double: exactness lost on the way
        if isinstance(ours, float) or isinstance(theirs, float):
            return math.isclose(float(ours), float(theirs), rel_tol=FLOAT_REL_TOL, abs_tol=1e-12)
        return Decimal(ours) == Decimal(theirs)
    return type(ours) is type(theirs) and ours == theirs


def differences(ours: Sequence[Sequence[Any]], theirs: Sequence[Sequence[Any]], limit: int = 5) -> list[str]:
    """What differs between two results compared as sorted rows (empty when equal): counts, then cells."""
    if ours and theirs and len(ours[0]) != len(theirs[0]):
        return [f"{len(ours[0])} columns against {len(theirs[0])}"]
    if len(ours) != len(theirs):
        return [f"{len(ours)} rows against {len(theirs)}"]
    found = []
    for index, (a, b) in enumerate(zip(sorted_rows(ours), sorted_rows(theirs))):
        cells = [c for c, (x, y) in enumerate(zip(a, b)) if not same_value(x, y)]
        if cells:
            found.append(f"sorted row {index}, column(s) {cells}: {a!r} against {b!r}")
            if len(found) >= limit:
                break
    return found


def _typed(cell: str, like: Any) -> Any:
    """An answer's text cell as the type of our value in that column."""
    if cell in ("", "NULL"):
        return None
    if like is None:
        return cell
    if isinstance(like, (date, datetime)):
        return date.fromisoformat(cell)
    if isinstance(like, (int, float, Decimal)) and not isinstance(like, bool):
        try:
            return Decimal(cell)
        except InvalidOperation:
            return cell
    return cell


def answer_differences(ours: Sequence[Sequence[Any]], answer: tuple[list[str], list[list[str]]],
                       limit: int = 5) -> list[str]:
    """What differs from an official answer. Its numbers are printed rounded (decimals to their scale, doubles to
    as many places as shown): ours are rounded to the places the answer shows before they are compared."""
    header, cells = answer
    if len(header) != (len(ours[0]) if ours else len(header)):
        return [f"{len(ours[0])} columns against the answer's {len(header)} ({'|'.join(header)})"]
    if any(len(row) != len(header) for row in cells):
        return ["the answer has rows with a different number of cells than its header"]
    if len(ours) != len(cells):
        return [f"{len(ours)} rows against the answer's {len(cells)}"]
    first = ours[0] if ours else ()
    expected = sorted_rows([tuple(_typed(c, like) for c, like in zip(row, first)) for row in cells])
    found = []
    for index, (a, b) in enumerate(zip(sorted_rows(ours), expected)):
        bad = [c for c, (x, y) in enumerate(zip(a, b)) if not _same_as_printed(x, y)]
        if bad:
            found.append(f"sorted row {index}, column(s) {bad}: {a!r} against the answer's {b!r}")
            if len(found) >= limit:
                break
    return found


def _same_as_printed(ours: Any, printed: Any) -> bool:
    if isinstance(printed, Decimal) and isinstance(ours, (int, float, Decimal)):
        places = max(0, -printed.as_tuple().exponent)  # type: ignore[operator]
        if places > 6:  # a double printed in full (an average, a ratio): its last digits are noise
            return math.isclose(float(ours), float(printed), rel_tol=FLOAT_REL_TOL)
        step = Decimal(1).scaleb(-places)
        return Decimal(str(ours)).quantize(step, rounding=ROUND_HALF_EVEN) == printed
    if isinstance(ours, str) and isinstance(printed, str):
        return ours == printed
    return same_value(ours, printed)


def keboola_names(tables: list[str], dialect: str) -> dict[str, str]:
    """The names the inputs (and the output `result`) get in a transformation of unquoted TPC-H SQL: Snowflake
    reads unquoted names upper-case, and Keboola's workspace names each table exactly as the mapping does."""
    upper = dialect == "snowflake"
    return {t: t.upper() if upper else t for t in [*tables, "result"]}


# Module-scoped fixtures the TPC-H test files share (a plugin of tests/conftest.py).
SCALE = 0.01


@pytest.fixture(scope="module")
def tpch_source() -> Iterator[Any]:
    """The TPC-H tables at SF 0.01 in an in-memory DuckDB (dbgen): the data and the DuckDB reference."""
    con = generate(SCALE)
    yield con
    con.close()


@pytest.fixture(scope="module")
def queries() -> dict[int, str]:
    return tpch_queries()


@pytest.fixture(scope="module")
def answers() -> dict[int, tuple[list[str], list[list[str]]]]:
    return tpch_answers(SCALE)
