"""Snowflake: the official connector (snowflake-connector-python) for everything, Arrow for extraction.

The connection's `db` node is Keboola's (`host` account.snowflakecomputing.com, port 443, database, schema,
warehouse, roleName, user, `#password` or `#privateKey`) and nothing else, so configurations made from it
run the same in Keboola; a local endpoint such as an emulator is a host that is not *.snowflakecomputing.com.

Extraction runs the SELECT once and hands the result's Arrow batches (`fetch_arrow_batches`) to storage as
they arrive; the Scan's SQL casts every column to the exact storage type the catalog names (NUMBER(p,s) ->
DECIMAL(p,s), VARIANT -> JSON, TIMESTAMP_TZ -> TIMESTAMPTZ, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator
from urllib.parse import parse_qs, unquote, urlsplit

from ..errors import KeboolaError
from ..store.secrets import describe_reference, is_reference, redact, resolve, store_secret
from .base import (
    ARROW_VIEW,
    ConnectionKind,
    Diagnosis,
    ExtractSpec,
    Scan,
    check_columns,
    redact_url,
    table_not_found,
    with_watermark,
)
from .postgres import parse_table_name
from .sql import CONNECT_TIMEOUT_S, STATEMENT_TIMEOUT_S, SqlConnector

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    import pyarrow as pa
    from snowflake.connector import SnowflakeConnection

HOST_SUFFIX = ".snowflakecomputing.com"
_PLAIN = re.compile(r"^[A-Z_][A-Z0-9_$]*$")  # an identifier Snowflake needs no quotes for

# Snowflake errors a user can cause, by the connector's errno.
_AUTH = (390100, 390144)  # wrong password or user; invalid JWT (key pair)
_ROLE = (390189,)  # the role in the connect string does not exist or is not granted


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def format_table(table: tuple[str, str]) -> str:
    return ".".join(p if _PLAIN.match(p) else quote_ident(p) for p in table)


def account_of(db: dict[str, Any]) -> str:
    """The account identifier: the host's name before .snowflakecomputing.com; a local endpoint has none."""
    host = str(db.get("host") or "")
    return host[: -len(HOST_SUFFIX)] if host.endswith(HOST_SUFFIX) else "local"


def protocol_of(db: dict[str, Any]) -> str:
    """Snowflake speaks https on 443; a local endpoint (an emulator) on another port speaks http."""
    host, port = str(db.get("host") or ""), int(db.get("port") or 443)
    return "https" if host.endswith(HOST_SUFFIX) or port == 443 else "http"


@dataclass
class Column:
    """A result column as the connector describes it, and the exact storage type it becomes."""

    name: str
    type: str  # Snowflake's name: FIXED, REAL, TEXT, DATE, TIMESTAMP_NTZ, VARIANT, ...
    precision: int | None = None
    scale: int | None = None

    @classmethod
    def from_metadata(cls, meta: Any) -> "Column":
        from snowflake.connector.constants import FIELD_ID_TO_NAME

        return cls(meta.name, FIELD_ID_TO_NAME[meta.type_code], meta.precision, meta.scale)

    def storage_type(self) -> str:
        if self.type == "FIXED":
            return f"DECIMAL({self.precision or 38}, {self.scale})" if self.scale else "BIGINT"
        return {"REAL": "DOUBLE", "TEXT": "VARCHAR", "DATE": "DATE", "TIME": "TIME", "BOOLEAN": "BOOLEAN",
                "TIMESTAMP_NTZ": "TIMESTAMP", "TIMESTAMP_LTZ": "TIMESTAMPTZ", "TIMESTAMP_TZ": "TIMESTAMPTZ",
                "TIMESTAMP": "TIMESTAMP", "BINARY": "BLOB", "VARIANT": "JSON", "OBJECT": "JSON",
                "ARRAY": "JSON"}.get(self.type, "VARCHAR")

    def storage_expr(self) -> str:
        c = '"' + self.name.replace('"', '""') + '"'
        return f"CAST({c} AS {self.storage_type()}) AS {c}"


class SnowflakeConnector(SqlConnector):
    kind = "snowflake"

    # connecting ------------------------------------------------------------------------------
    @property
    def database(self) -> str:
        return str(self.db.get("database") or "")

    @property
    def schema(self) -> str:
        return str(self.db.get("schema") or "PUBLIC")

    def _params(self) -> dict[str, Any]:
        return self.params()

    def params(self, statement_timeout: int = STATEMENT_TIMEOUT_S, **extra: Any) -> dict[str, Any]:
        """snowflake.connector.connect() arguments (0 = no statement timeout); the secret is resolved here only."""
        db = self.db
        params: dict[str, Any] = {
            "account": account_of(db),
            "host": db.get("host"),
            "port": int(db.get("port") or 443),
            "protocol": protocol_of(db),
            "user": db.get("user"),
            "database": self.database or None,
            "schema": self.schema,
            "warehouse": db.get("warehouse") or None,
            "role": db.get("roleName") or None,
            "login_timeout": CONNECT_TIMEOUT_S,
            "network_timeout": CONNECT_TIMEOUT_S,
            "paramstyle": "qmark",  # values are bound on the server, never pasted into SQL
            "application": "keboola_nb",
            "session_parameters": {"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False, "TIMEZONE": "UTC",
                                   "STATEMENT_TIMEOUT_IN_SECONDS": statement_timeout},
        }
        where = f"connection {self.name!r}"
        if db.get("#privateKey"):
            params["authenticator"] = "SNOWFLAKE_JWT"
            params["private_key"] = _private_key_der(resolve(db["#privateKey"], where), where)
        elif db.get("#password"):
            params["password"] = resolve(db["#password"], where)
        else:
            raise KeboolaError(f"{where} has no secret", fix="add --password-env VAR or --private-key-env VAR (and --replace)")
        return params | extra

    def open(self, statement_timeout: int = STATEMENT_TIMEOUT_S, **extra: Any) -> "SnowflakeConnection":
        """A new session (the writer opens its own, with autocommit off); errors get a diagnosis."""
        import snowflake.connector

        params = self.params(statement_timeout, **extra)
        try:
            return snowflake.connector.connect(**params)
        except snowflake.connector.Error as e:
            diagnosis = self._diagnose(e, params)
            raise KeboolaError(diagnosis.message, fix=diagnosis.fix) from None

    def _connect(self) -> "SnowflakeConnection":
        return self.open()

    def _alive(self, conn: "SnowflakeConnection") -> bool:
        return not conn.is_closed()

    def _driver_errors(self) -> type[Exception]:
        import snowflake.connector

        return snowflake.connector.Error

    def _execute(self, sql: str, args: Any = None) -> tuple[list[Any], list[tuple]]:
        """The result's metadata and rows."""
        import snowflake.connector

        with self._lock:
            conn = self.connection()
            try:
                with conn.cursor() as cur:
                    cur.execute(sql, args)
                    return list(cur.description or []), list(cur.fetchall())
            except snowflake.connector.Error as e:
                if getattr(e, "errno", 0) == 604:  # the statement timeout cancelled it
                    raise self._too_long(STATEMENT_TIMEOUT_S) from None
                raise KeboolaError(f"connection {self.name!r}: {_message(e)}") from None

    def _query(self, sql: str, args: Any = None) -> list[tuple]:
        return self._execute(sql, args)[1]

    # test ------------------------------------------------------------------------------------
    def _probe(self, params: dict[str, Any]) -> Diagnosis | tuple[str, Any]:
        import snowflake.connector

        conn = snowflake.connector.connect(**params)
        try:
            with conn.cursor() as cur:
                missing = self._missing_context(cur)
                if missing:
                    return missing
                cur.execute("SELECT CURRENT_VERSION()")
                version = cur.fetchone()[0]  # type: ignore[index]
                cur.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema <> 'INFORMATION_SCHEMA'")
                return f"Snowflake {version}", cur.fetchone()[0]  # type: ignore[index]
        finally:
            conn.close()

    def _missing_context(self, cur: Any) -> Diagnosis | None:
        """Snowflake logs in even when the database, schema or warehouse does not exist: look them up."""
        where = f"connection {self.name!r}"
        cur.execute("SHOW DATABASES")
        if not _named(cur, self.database):
            return Diagnosis(False, "missing_database", f"{where}: database {self.database!r} does not exist "
                             "(or the role may not use it)", "check the database in the URL, and the role's grants")
        cur.execute(f"SHOW SCHEMAS IN DATABASE {ident(self.database)}")
        if not _named(cur, self.schema):
            return Diagnosis(False, "missing_database", f"{where}: schema {self.schema!r} does not exist in "
                             f"database {self.database!r}", "check the schema in the URL (snowflake://user@account/DB/SCHEMA)")
        warehouse = self.db.get("warehouse")
        if warehouse:
            cur.execute("SHOW WAREHOUSES")
            if not _named(cur, str(warehouse)):
                return Diagnosis(False, "missing_warehouse", f"{where}: warehouse {warehouse!r} does not exist "
                                 "(or the role may not use it)",
                                 "check ?warehouse= in the URL, and that the role has USAGE on it")
        return None

    def target(self) -> str:
        return f"{account_of(self.db)}/{self.database}/{self.schema}"

    def _diagnose(self, error: Exception, params: dict[str, Any]) -> Diagnosis:
        code = getattr(error, "errno", 0) or 0
        text = _message(error)
        low = text.lower()
        user, where = params.get("user"), f"{params.get('host')}:{params.get('port')}"
        key = "#privateKey" if self.db.get("#privateKey") else "#password"
        source = f"the {'private key' if key == '#privateKey' else 'password'} in {describe_reference(self.db.get(key))}"
        if code in _AUTH or "incorrect username or password" in low or "jwt token is invalid" in low:
            problem, message, fix = ("auth", f"wrong {'key' if key == '#privateKey' else 'password'} for user "
                                     f"{user!r} on account {params.get('account')!r} (or no such user)",
                                     f"check {source} and the user name in the connection URL")
        elif code in _ROLE or "role" in low and "not authorized" in low:
            problem, message, fix = ("access", f"role {params.get('role')!r} does not exist or is not granted to "
                                     f"user {user!r}", "check ?role= in the URL, or ask for the role to be granted")
        elif code == 250001 or "could not connect" in low or "failed to connect" in low:
            problem, message, fix = ("network", f"nothing answered at {where}",
                                     "check the account (or host and port), your network, VPN or proxy")
        elif "timed out" in low or "timeout" in low:
            problem, message, fix = ("timeout", f"{where} did not answer within {CONNECT_TIMEOUT_S} s",
                                     "check the account, and any firewall or VPN on the way")
        else:
            return self._unknown(text)
        return self._failed(problem, message, fix, text)

    # browsing --------------------------------------------------------------------------------
    def tables(self, schema: str | None = None) -> "pd.DataFrame":
        """Tables of `schema` (default: the connection's); rows come from the catalog, never COUNT(*)."""
        import pandas as pd

        schema = self._schema_name(schema or self.schema)
        info = f"{ident(self.database)}.information_schema"
        rows = self._query(f"SELECT table_schema, table_name, table_type, row_count FROM {info}.tables "
                           "WHERE table_schema = ? ORDER BY table_name", [schema])
        counts = {t: n for t, n in self._query(f"SELECT table_name, COUNT(*) FROM {info}.columns "
                                               "WHERE table_schema = ? GROUP BY table_name", [schema])}
        keys, suggested = self._primary_keys(schema), self._suggested_keys(schema)
        frame = pd.DataFrame(
            [{"schema": s, "table": t, "type": "view" if "VIEW" in kind else "table",
              "rows_estimate": None if "VIEW" in kind else n, "primary_key": keys.get(t, []),
              "suggested_key": [] if t in keys else suggested.get(t, []), "columns": counts.get(t, 0)}
             for s, t, kind, n in rows],
            columns=["schema", "table", "type", "rows_estimate", "primary_key", "suggested_key", "columns"],
        )
        frame["rows_estimate"] = frame["rows_estimate"].astype("Int64")
        frame["columns"] = frame["columns"].astype(int)
        return frame

    def _schema_name(self, schema: str) -> str:
        """A schema as the catalog spells it: unquoted names are upper case in Snowflake."""
        meta, rows = self._execute(f"SHOW SCHEMAS IN DATABASE {ident(self.database)}")
        at = [m.name.lower() for m in meta].index("name")
        names = [r[at] for r in rows]
        return schema if schema in names else schema.upper() if schema.upper() in names else schema

    def _primary_keys(self, schema: str, table: str | None = None) -> dict[str, list[str]]:
        """Primary key columns per table, in key order."""
        return {t: columns for (t, _), columns in self._declared_keys("PRIMARY", schema, table).items()}

    def _declared_keys(self, what: str, schema: str, table: str | None = None) -> dict[tuple[str, str], list[str]]:
        """Columns of each declared PRIMARY or UNIQUE key per (table, constraint), in key order (SHOW ... KEYS:
        the catalog has no view of them)."""
        scope = (f"TABLE {ident(self.database)}.{ident(schema)}.{ident(table)}" if table
                 else f"SCHEMA {ident(self.database)}.{ident(schema)}")
        meta, rows = self._execute(f"SHOW {what} KEYS IN {scope}")
        at = {m.name.lower(): i for i, m in enumerate(meta)}
        keys: dict[tuple[str, str], list[tuple[int, str]]] = {}
        for row in rows:
            key = (row[at["table_name"]], row[at["constraint_name"]])
            keys.setdefault(key, []).append((int(row[at["key_sequence"]]), row[at["column_name"]]))
        # A stable sort: rows come in key order where the sequence repeats (fakesnow numbers every column 1).
        return {k: [c for _, c in sorted(cols, key=lambda c: c[0])] for k, cols in keys.items()}

    def key_suggestion(self, table: str | tuple[str, str]) -> list[str]:
        schema, name, _ = self._resolve(table)
        return self._suggested_keys(schema, name).get(name, [])

    def _suggested_keys(self, schema: str, table: str | None = None) -> dict[str, list[str]]:
        """Per table, the narrowest declared UNIQUE key whose columns are all NOT NULL (Snowflake declares
        keys but does not enforce them: a suggestion only)."""
        unique = self._declared_keys("UNIQUE", schema, table)
        if not unique:
            return {}
        not_null = {(t, c) for t, c in self._query(
            f"SELECT table_name, column_name FROM {ident(self.database)}.information_schema.columns "
            "WHERE table_schema = ? AND is_nullable = 'NO'", [schema])}
        best: dict[str, list[str]] = {}
        for (t, _), columns in sorted(unique.items(), key=lambda item: len(item[1])):
            if t not in best and all((t, c) in not_null for c in columns):
                best[t] = columns
        return best

    def _resolve(self, table: str | tuple[str, str]) -> tuple[str, str, int | None]:
        schema, name = parse_table_name(table, self.schema) if isinstance(table, str) else table
        info = f"{ident(self.database)}.information_schema"
        rows = self._query(f"SELECT table_schema, table_name, row_count FROM {info}.tables "
                           "WHERE UPPER(table_schema) = UPPER(?) AND UPPER(table_name) = UPPER(?)", [schema, name])
        # An exact match wins; otherwise the unquoted (upper-case) spelling, as Snowflake resolves names.
        found = [r for r in rows if (r[0], r[1]) == (schema, name)] or \
                [r for r in rows if (r[0], r[1]) == (_upper(schema), _upper(name))] or rows
        if not found:
            known = [format_table((r[0], r[1])) for r in self._query(
                f"SELECT table_schema, table_name FROM {info}.tables WHERE table_schema <> 'INFORMATION_SCHEMA'")]
            raise table_not_found(format_table((schema, name)), known, self.name)
        schema, name, estimate = found[0]
        return schema, name, None if estimate is None else int(estimate)

    def resolve_table(self, table: str) -> tuple[str, str]:
        schema, name, _ = self._resolve(table)
        return schema, name

    def format_table(self, table: tuple[str, str]) -> str:
        return format_table(table)

    def _source(self, schema: str, name: str) -> str:
        return f"{ident(self.database)}.{quote_ident(schema)}.{quote_ident(name)}"

    def describe(self, table: str | tuple[str, str]) -> "pd.DataFrame":
        import pandas as pd

        schema, name, _ = self._resolve(table)
        rows = self._query(
            f"SELECT column_name, data_type, numeric_precision, numeric_scale, is_nullable, column_default "
            f"FROM {ident(self.database)}.information_schema.columns WHERE table_schema = ? AND table_name = ? "
            "ORDER BY ordinal_position", [schema, name])
        pk = set(self._primary_keys(schema, name).get(name, []))
        return pd.DataFrame(
            [(c, _type_name(t, p, s), nullable == "YES", c in pk, default) for c, t, p, s, nullable, default in rows],
            columns=["column", "type", "nullable", "primary_key", "default"])

    def primary_key(self, table: str | tuple[str, str]) -> list[str]:
        schema, name, _ = self._resolve(table)
        return self._primary_keys(schema, name).get(name, [])

    def preview(self, table: str | tuple[str, str], limit: int = 100) -> "pd.DataFrame":
        """One round trip: `LIMIT n` on the server; the catalog is asked only when the table is not found."""
        import pandas as pd

        schema, name = parse_table_name(table, self.schema) if isinstance(table, str) else table
        sql = "SELECT * FROM {} LIMIT " + str(max(0, int(limit)))
        try:  # unquoted names are upper case in Snowflake: try that spelling first
            meta, rows = self._execute(sql.format(self._source(*(_upper(p) for p in (schema, name)))))
        except KeboolaError:
            found = self._resolve((schema, name))  # says which tables are close, when that is the problem
            meta, rows = self._execute(sql.format(self._source(found[0], found[1])))
        return pd.DataFrame(rows, columns=[m.name for m in meta])

    # extraction ------------------------------------------------------------------------------
    def scan(self, con: "duckdb.DuckDBPyConnection", spec: ExtractSpec) -> Scan:
        """Run the SELECT and stream its Arrow batches; the Scan's SQL casts to the exact storage types."""
        if spec.query is not None:
            return self._stream(f"SELECT * FROM ({spec.query}) AS q", [], None)
        assert spec.table is not None
        schema, name, estimate = self._resolve(spec.table)
        source = self._source(schema, name)
        available = [m.name for m in self._describe(f"SELECT * FROM {source}")]
        wanted = spec.columns or available
        check_columns(format_table((schema, name)), wanted, available)
        sql = f"SELECT {', '.join(quote_ident(c) for c in wanted)} FROM {source}"
        sql = with_watermark(sql, spec, quote_ident, _literal)
        return self._stream(sql, [], estimate if spec.fetching_column is None or spec.since is None else None)

    def _describe(self, sql: str) -> list[Any]:
        import snowflake.connector

        with self._lock:
            try:
                with self.connection().cursor() as cur:
                    return list(cur.describe(sql) or [])
            except snowflake.connector.Error as e:
                raise KeboolaError(f"connection {self.name!r}: {_message(e)}") from None

    def _stream(self, sql: str, args: list[Any], estimate: int | None) -> Scan:
        import pyarrow as pa
        import snowflake.connector

        conn = self.open(statement_timeout=0)  # its own session, without the browsing session's time limit
        try:
            cur = conn.cursor()
            cur.execute(sql, args)
            columns = [Column.from_metadata(m) for m in cur.description]
            batches = cur.fetch_arrow_batches()
            first = next(batches, None)
        except snowflake.connector.Error as e:
            conn.close()
            raise KeboolaError(f"connection {self.name!r}: reading failed: {_message(e)}") from None
        # An empty result has no batch to take the schema from: text columns, cast like any other.
        schema = first.schema if first is not None else pa.schema([(c.name, pa.string()) for c in columns])
        reader = pa.RecordBatchReader.from_batches(schema, _batches(first, batches, schema, conn))
        select = ", ".join(c.storage_expr() for c in columns)
        return Scan(f"SELECT {select} FROM {ARROW_VIEW}", [], estimate, arrow=reader)


def _batches(first: "pa.Table | None", rest: Iterator["pa.Table"], schema: "pa.Schema",
             conn: "SnowflakeConnection") -> Iterator["pa.RecordBatch"]:
    """Every batch in one schema (a chunk may arrive with a narrower integer type); the session ends with it."""
    try:
        if first is None:
            return
        for table in (first, *rest):
            yield from (table if table.schema == schema else table.cast(schema)).to_batches()
    finally:
        conn.close()


def _private_key_der(pem: str, where: str) -> bytes:
    """The key-pair secret (an unencrypted PKCS#8 PEM) as the DER bytes the connector takes."""
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError):
        raise KeboolaError(f"the private key of {where} is not an unencrypted PEM private key",
                           fix="export it with: openssl pkcs8 -topk8 -nocrypt -in key.p8 (and store that)") from None
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _named(cur: Any, name: str) -> bool:
    """Whether a SHOW result has a row whose `name` is `name` (as typed, or unquoted upper case)."""
    at = [d.name.lower() for d in cur.description].index("name")
    names = {row[at] for row in cur.fetchall()}
    return name in names or name.upper() in names


def ident(name: str) -> str:
    """A database or schema name from the URL: unquoted names are upper case, others keep their case."""
    return name if _PLAIN.match(name.upper()) and name in (name.upper(), name.lower()) else quote_ident(name)


def _upper(name: str) -> str:
    """How Snowflake stores a name written without quotes."""
    return name.upper() if _PLAIN.match(name.upper()) else name


def _type_name(data_type: str, precision: Any, scale: Any) -> str:
    if data_type == "NUMBER" and precision is not None:
        return f"NUMBER({precision},{scale or 0})"
    return data_type


def _literal(value: Any) -> str:
    return str(value) if isinstance(value, int) else "'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"


def _message(error: Exception) -> str:
    text = getattr(error, "raw_msg", None) or getattr(error, "msg", None) or str(error)
    return redact(str(text)).strip().splitlines()[0] if str(text).strip() else type(error).__name__



def parse_snowflake_url(url: str) -> tuple[dict[str, Any], str | None]:
    """`snowflake://user@ACCOUNT/DATABASE/SCHEMA?warehouse=WH&role=R` -> the Keboola `db` node, password.

    ACCOUNT may also be a host (`xy123.eu-central-1.snowflakecomputing.com`). A local endpoint, such as an
    emulator, is a host with a port: `snowflake://user@127.0.0.1:8080/DB/SCHEMA` (on this machine, over http).
    Nothing but Keboola's own `db` keys is kept: the configurations made from it run the same in Keboola.
    """
    parts = urlsplit(url.strip())
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    path = [unquote(p) for p in parts.path.strip("/").split("/") if p]
    if not parts.hostname or not parts.username or len(path) != 2:
        raise KeboolaError(f"{redact_url(url)!r} is not a Snowflake URL of the form snowflake://user@account/DATABASE/SCHEMA",
                           fix="name the user, the account, the database and the schema, e.g. "
                               "snowflake://etl@xy12345.eu-central-1/SHOP/PUBLIC?warehouse=COMPUTE_WH")
    try:
        port = parts.port
    except ValueError:
        raise KeboolaError(f"the port in {redact_url(url)!r} is not a number") from None
    host = parts.hostname
    if port is None and not host.endswith(HOST_SUFFIX):
        host += HOST_SUFFIX  # an account identifier: xy12345.eu-central-1
    db: dict[str, Any] = {"host": host, "port": port or 443, "database": path[0], "schema": path[1],
                          "warehouse": query.pop("warehouse", None), "roleName": query.pop("role", None),
                          "user": unquote(parts.username)}
    db = {k: v for k, v in db.items() if v is not None}
    if query:
        raise KeboolaError(f"URL option(s) {', '.join(sorted(query))} are not supported",
                           fix="supported options: warehouse, role; a local endpoint is a host with a port")
    return db, unquote(parts.password) if parts.password else None


class SnowflakeKind(ConnectionKind):
    name = "snowflake"
    schemes = ("snowflake",)

    def parse_url(self, url: str) -> tuple[dict[str, Any], str | None]:
        return parse_snowflake_url(url)

    def prepare(self, name: str, node: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
        """A key pair (`private_key`: a PEM, or its reference) may replace the password."""
        key = options.get("private_key")
        if isinstance(key, str) and not is_reference(key):
            key = store_secret(f"{name}-private-key", key)
        return node | ({"#privateKey": str(key)} if key is not None else {})

    def target(self, node: dict[str, Any]) -> str:
        return f"snowflake://{node.get('user')}@{node.get('host')}:{node.get('port')}/{node.get('database')}/" \
               f"{node.get('schema')}"

    def secret(self, node: dict[str, Any]) -> str:
        return describe_reference(node.get("#privateKey" if "#privateKey" in node else "#password"))

    def connector(self, name: str, node: dict[str, Any]) -> SnowflakeConnector:
        return SnowflakeConnector(name, node)


KIND = SnowflakeKind()
