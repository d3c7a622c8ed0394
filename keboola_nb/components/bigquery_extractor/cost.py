"""What a BigQuery extraction will cost, before it runs, and the budget that stops an expensive one.

Prices are data (bigquery_prices.json, with where and when they were read). BigQuery bills on-demand
queries by the bytes they process: rounded up to a whole MiB, at least 10 MiB per query that reads data.
A table read straight from storage (no query) is billed by the Storage Read API's price per byte read.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ...errors import KeboolaError

BUDGET_ENV = "KEBOOLA_NB_BIGQUERY_BUDGET"
TIB = 1 << 40
MIB = 1 << 20
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}


@lru_cache(maxsize=1)
def prices() -> dict[str, Any]:
    return json.loads((Path(__file__).with_name("bigquery_prices.json")).read_text(encoding="utf-8"))


def billed_bytes(processed: int, table_read: bool = False) -> int:
    """The bytes BigQuery bills for a query that processes `processed` bytes (or for a direct table read)."""
    if processed <= 0:
        return 0  # a dry run of 0 bytes: cached, metadata-only, or nothing to read
    if table_read:
        return processed
    return max(math.ceil(processed / MIB) * MIB, int(prices()["minimum_billed_bytes_per_query"]))


def dollars(billed: int, table_read: bool = False) -> float:
    rate = prices()["storage_read_per_tib" if table_read else "query_per_tib"]
    return billed / TIB * float(rate)


def parse_size(text: str | int) -> int:
    """`107374182400`, `100GiB`, `50 GB`, `1TiB` -> bytes."""
    if isinstance(text, int):
        return text
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", str(text))
    if not match or match.group(2).lower() not in _UNITS:
        raise KeboolaError(f"{text!r} is not a size", fix="write it like 50GB, 100GiB, 1TiB or a number of bytes")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def budget() -> int:
    """The most bytes one run may bill: $KEBOOLA_NB_BIGQUERY_BUDGET, else the default in bigquery_prices.json."""
    value = os.environ.get(BUDGET_ENV)
    return parse_size(value) if value else int(prices()["default_budget_bytes"])


def human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.2f} {unit}"
        size /= 1024
    return ""


@dataclass
class Estimate:
    """The dry-run estimate of one run: a line per row, the total, and the budget it is checked against."""

    budget: int
    lines: list[dict[str, Any]] = field(default_factory=list)

    def add(self, row: str, processed: int, table_read: bool) -> dict[str, Any]:
        billed = billed_bytes(processed, table_read)
        line = {"row": row, "read": "table (Storage Read API)" if table_read else "query",
                "bytes_processed": processed, "bytes_billed": billed, "usd": round(dollars(billed, table_read), 6)}
        self.lines.append(line)
        return line

    @property
    def billed(self) -> int:
        return sum(line["bytes_billed"] for line in self.lines)

    @property
    def usd(self) -> float:
        return sum(line["usd"] for line in self.lines)

    @property
    def over_budget(self) -> bool:
        return self.billed > self.budget

    def summary(self) -> str:
        return (f"estimated {human(self.billed)} billed, ${self.usd:.4f} at ${prices()['query_per_tib']}/TiB "
                f"(prices of {prices()['checked']}); budget {human(self.budget)}")

    def check(self) -> None:
        if self.over_budget:
            worst = max(self.lines, key=lambda line: line["bytes_billed"])
            raise KeboolaError(
                f"the run would bill {human(self.billed)} (about ${self.usd:.2f}), over the budget of "
                f"{human(self.budget)}; the largest is row {worst['row']!r} ({human(worst['bytes_billed'])}). "
                "Nothing was run",
                fix=f"narrow the queries (select fewer columns, filter on partitions), or raise the budget: "
                    f"os.environ[{BUDGET_ENV!r}] = '500GB'")

    def frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.lines, columns=["row", "read", "bytes_processed", "bytes_billed", "usd"])
