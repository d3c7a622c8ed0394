"""Storage (DuckDB) types -> Snowflake column types for `keboola.wr-db-snowflake` items."""

from __future__ import annotations

import re

_SIMPLE = {
    "BOOLEAN": ("BOOLEAN", ""), "TINYINT": ("NUMBER", "3,0"), "SMALLINT": ("NUMBER", "5,0"),
    "INTEGER": ("NUMBER", "10,0"), "BIGINT": ("NUMBER", "19,0"), "UTINYINT": ("NUMBER", "3,0"),
    "USMALLINT": ("NUMBER", "5,0"), "UINTEGER": ("NUMBER", "10,0"), "UBIGINT": ("NUMBER", "20,0"),
    "HUGEINT": ("NUMBER", "38,0"), "UHUGEINT": ("NUMBER", "38,0"), "FLOAT": ("FLOAT", ""), "DOUBLE": ("FLOAT", ""),
    "VARCHAR": ("VARCHAR", ""), "DATE": ("DATE", ""), "TIME": ("TIME", ""), "TIME WITH TIME ZONE": ("VARCHAR", "32"),
    "TIMESTAMP": ("TIMESTAMP_NTZ", ""), "TIMESTAMP_S": ("TIMESTAMP_NTZ", ""), "TIMESTAMP_MS": ("TIMESTAMP_NTZ", ""),
    "TIMESTAMP_NS": ("TIMESTAMP_NTZ", ""), "TIMESTAMP WITH TIME ZONE": ("TIMESTAMP_TZ", ""),
    "INTERVAL": ("VARCHAR", "64"), "UUID": ("VARCHAR", "36"), "BLOB": ("BINARY", ""), "JSON": ("VARIANT", ""),
    "BIT": ("VARCHAR", ""),
}
_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")


def snowflake_type(duck_type: str) -> tuple[str, str]:
    """(type, size): DECIMAL(12,2) -> ("NUMBER", "12,2"); lists, structs and maps become VARIANT."""
    t = duck_type.upper().strip()
    if t in _SIMPLE:
        return _SIMPLE[t]
    if match := _DECIMAL.match(t):
        return "NUMBER", f"{match.group(1)},{match.group(2)}"
    if t.startswith("ENUM("):
        return "VARCHAR", ""
    return "VARIANT", ""  # lists, structs, maps, unions
