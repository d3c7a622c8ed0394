"""What every connector offers, and the small value types they share."""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from ..errors import KeboolaError
from ..store.secrets import describe_reference

if TYPE_CHECKING:
    import duckdb
    import pandas as pd


@dataclass
class Diagnosis:
    """The answer to "does this connection work?", with what to do when it does not."""

    ok: bool
    problem: str  # ok | auth | network | timeout | missing_database | ssl | access | secret | config | error
    message: str
    fix: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        head = "OK" if self.ok else f"FAILED ({self.problem})"
        lines = [f"{head}: {self.message}"]
        if self.fix:
            lines.append(f"  How to fix: {self.fix}")
        lines += [f"  {k}: {v}" for k, v in self.details.items()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from html import escape

        color = "#1a7f37" if self.ok else "#cf222e"
        head = "OK" if self.ok else f"Failed: {escape(self.problem)}"
        rows = "".join(f"<tr><td>{escape(k)}</td><td>{escape(str(v))}</td></tr>" for k, v in self.details.items())
        fix = f"<div><b>How to fix:</b> {escape(self.fix)}</div>" if self.fix else ""
        return (
            f"<div><b style='color:{color}'>{head}</b> {escape(self.message)}{fix}"
            f"{'<table>' + rows + '</table>' if rows else ''}</div>"
        )


@dataclass
class ExtractSpec:
    """One table (or query) to extract, and the incremental-fetching window."""

    table: tuple[str, str] | None = None  # (schema, table)
    query: str | None = None
    columns: list[str] = field(default_factory=list)  # empty = all
    fetching_column: str | None = None
    since: Any = None  # the last fetched value: rows with fetching_column >= since are read
    limit: int | None = None  # incrementalFetchingLimit


def connected(target: str, user: str, server: str, readable: Any, started: float) -> Diagnosis:
    """The answer of a connection test that got through."""
    return Diagnosis(
        True,
        "ok",
        f"connected to {target} as {user}",
        details={
            "server": server,
            "readable tables": readable,
            "connect + check": f"{(time.perf_counter() - started) * 1000:.0f} ms",
        },
    )


def table_not_found(label: str, known: list[str], connection: str) -> KeboolaError:
    """The error for a table that is not there, naming the closest ones that are."""
    close = difflib.get_close_matches(label, known, n=3)
    hint = f"did you mean {', '.join(close)}?" if close else "list the tables with %keboola tables"
    return KeboolaError(f"table {label} was not found in connection {connection!r}", fix=hint)


def check_columns(label: str, wanted: list[str], available: list[str]) -> None:
    missing = [c for c in wanted if c not in available]
    if missing:
        raise KeboolaError(
            f"table {label} has no column(s) {', '.join(missing)}",
            fix=f"its columns are: {', '.join(available)}",
        )


def with_watermark(sql: str, spec: ExtractSpec, quote: Callable[[str], str], literal: Callable[[Any], str]) -> str:
    """`sql` narrowed to rows at or after the last fetched value, and to the fetching limit, on the server."""
    if spec.fetching_column is not None:
        column = quote(spec.fetching_column)
        if spec.since is not None:
            sql += f" WHERE {column} >= {literal(spec.since)}"
        if spec.limit:
            sql += f" ORDER BY {column} LIMIT {int(spec.limit)}"
    return sql


def duck_literal(value: Any) -> str:
    """A DuckDB SQL literal: an int as it is, anything else as a quoted string."""
    return str(value) if isinstance(value, int) else "'" + str(value).replace("'", "''") + "'"


ARROW_VIEW = "arrow_source"  # the name under which a Scan's Arrow stream is visible to its SQL


@dataclass
class Scan:
    """A SELECT that the storage's DuckDB connection runs to read the source.

    A connector that streams Arrow batches itself hands over the stream (a pyarrow RecordBatchReader)
    in `arrow`; the SQL then reads it as the view ARROW_VIEW."""

    sql: str
    params: list[Any] = field(default_factory=list)
    estimated_rows: int | None = None
    arrow: Any = None


class Connector(Protocol):
    """What every connector offers: the connection test and browsing."""

    def test(self) -> Diagnosis: ...

    def tables(self, schema: str | None = None) -> "pd.DataFrame": ...

    def describe(self, table: str) -> "pd.DataFrame": ...

    def preview(self, table: str, limit: int = 100) -> "pd.DataFrame": ...

    def close(self) -> None: ...


class DatabaseConnector(Connector, Protocol):
    """A database's connector also resolves tables, knows their keys and scans them into storage."""

    def describe(self, table: str | tuple[str, str]) -> "pd.DataFrame": ...

    def resolve_table(self, table: str) -> tuple[str, str]: ...

    def format_table(self, table: tuple[str, str]) -> str: ...

    def primary_key(self, table: tuple[str, str]) -> list[str]: ...

    def key_suggestion(self, table: tuple[str, str]) -> list[str]: ...

    def scan(self, con: "duckdb.DuckDBPyConnection", spec: ExtractSpec) -> Scan: ...


class ConnectionKind:
    """A kind of connection (postgresql, s3, ...): the URLs it is made from, the node it keeps in
    `.keboola/connections.json`, and its connector. Each connector module has one, registered as an entry
    point of the group `keboola_nb.connectors` under its name."""

    name: ClassVar[str]
    schemes: ClassVar[tuple[str, ...]]  # URL schemes, e.g. postgresql, postgres
    node_key: ClassVar[str] = "db"  # the key of the connection's node (Keboola's `db` for databases)
    secret_key: ClassVar[str] = "#password"  # where the node keeps its secret's reference

    def parse_url(self, url: str) -> tuple[dict[str, Any], str | None]:
        """A URL a person would paste -> the node (no credentials) and a password written in it."""
        raise NotImplementedError

    def check_options(self, name: str, node: dict[str, Any], options: dict[str, Any]) -> None:
        """Refuse connect options that cannot work, before anything is stored; `options` are the non-empty
        ones of `ConnectionManager.add` (password, access_key, role_arn, key_file, key_env, private_key)."""

    def prepare(self, name: str, node: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
        """The node with what the kind's own connect options add (keys, a role, a key file)."""
        return node

    def target(self, node: dict[str, Any]) -> str:
        """Where the connection points, for lists and cards (never a secret)."""
        return f"{self.name}://{node.get('user', '')}@{node.get('host')}:{node.get('port')}/{node.get('database')}"

    def describe(self, node: dict[str, Any], options: dict[str, Any]) -> str:
        """The target with what the connect options add, for the card a person confirms (never a secret)."""
        return self.target(node)

    def secret(self, node: dict[str, Any]) -> str:
        """Where the secret lives (never its value)."""
        return describe_reference(node.get(self.secret_key))

    def connector(self, name: str, node: dict[str, Any]) -> "Connector":
        raise NotImplementedError


def parse_server_url(url: str, kind: str, default_port: int, default_user: str,
                     default_database: str = "") -> tuple[dict[str, Any], str | None]:
    """`scheme://user[:password]@host[:port]/database[?sslmode=..&host=/socket/dir]` -> the `db` node, password."""
    parts = urlsplit(url.strip())
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    try:
        port = parts.port or default_port
    except ValueError:
        raise KeboolaError(f"the port in {redact_url(url)!r} is not a number") from None
    db: dict[str, Any] = {
        "host": query.pop("host", None) or parts.hostname or "127.0.0.1",
        "port": port,
        "database": unquote(parts.path.lstrip("/")) or default_database,
        "user": unquote(parts.username or "") or default_user,
    }
    if not db["database"]:
        raise KeboolaError(f"the URL {redact_url(url)!r} names no database",
                           fix=f"end it with the database: {parts.scheme}://user@host:port/DATABASE")
    sslmode = query.pop("sslmode", None)
    if sslmode in ("require", "verify-ca", "verify-full"):
        db["ssl"] = {"enabled": True, "verifyServerCert": sslmode != "require"}
    if query:
        raise KeboolaError(
            f"URL option(s) {', '.join(sorted(query))} are not supported", fix="supported options: sslmode, host"
        )
    return db, unquote(parts.password) if parts.password else None


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url
