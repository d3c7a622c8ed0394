"""Storage (DuckDB) types -> MySQL / MariaDB column types for `keboola.wr-db-mysql` items."""

from __future__ import annotations

import re

_SIMPLE = {
    "BOOLEAN": ("tinyint", "1"), "TINYINT": ("tinyint", ""), "SMALLINT": ("smallint", ""),
    "INTEGER": ("int", ""), "BIGINT": ("bigint", ""), "UTINYINT": ("tinyint unsigned", ""),
    "USMALLINT": ("smallint unsigned", ""), "UINTEGER": ("int unsigned", ""), "UBIGINT": ("bigint unsigned", ""),
    "HUGEINT": ("decimal", "39,0"), "UHUGEINT": ("decimal", "39,0"), "FLOAT": ("float", ""),
    "DOUBLE": ("double", ""), "VARCHAR": ("longtext", ""), "DATE": ("date", ""), "TIME": ("time", "6"),
    "TIME WITH TIME ZONE": ("varchar", "32"),
    # DATETIME, not TIMESTAMP: TIMESTAMP ends in 2038. Zoned values are written in UTC.
    "TIMESTAMP": ("datetime", "6"), "TIMESTAMP_S": ("datetime", "6"), "TIMESTAMP_MS": ("datetime", "6"),
    "TIMESTAMP_NS": ("datetime", "6"), "TIMESTAMP WITH TIME ZONE": ("datetime", "6"),
    "INTERVAL": ("varchar", "64"), "UUID": ("char", "36"), "BLOB": ("longblob", ""), "JSON": ("json", ""),
    "BIT": ("longtext", ""),
}
_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")
KEY_TEXT = ("varchar", "255")  # TEXT cannot be a primary key without a prefix; 255 utf8mb4 chars fit InnoDB's limit


def mysql_type(duck_type: str, key: bool = False) -> tuple[str, str]:
    """(type, size): DECIMAL(12,2) -> ("decimal", "12,2"); lists, structs and maps become JSON."""
    t = duck_type.upper().strip()
    if t in _SIMPLE:
        found = _SIMPLE[t]
    elif match := _DECIMAL.match(t):
        found = ("decimal", f"{match.group(1)},{match.group(2)}")
    elif t.startswith("ENUM("):
        found = ("longtext", "")
    else:
        found = ("json", "")  # lists, structs, maps, unions
    if key and found[0] in ("longtext", "json"):
        return KEY_TEXT
    if key and found[0] == "longblob":
        return "varbinary", "255"
    return found
