"""Connection URLs a person would paste, turned into a connection's kind and Keboola node. The password
(or key) never stays in a URL: it is handed back separately to be stored as a secret."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .errors import KeboolaError

SCHEMES = {"postgresql": "postgresql", "postgres": "postgresql", "mysql": "mysql", "mariadb": "mysql"}
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
# (user, database) when the URL leaves them out; MySQL has no default database to fall back on.
DEFAULTS = {"postgresql": ("postgres", "postgres"), "mysql": ("root", "")}


def parse_url(url: str) -> tuple[str, dict[str, Any], str | None]:
    """`postgresql://user[:password]@host[:port]/database[?sslmode=..&host=/socket/dir]` -> kind, db, password.
    `mysql://` and `mariadb://` URLs have the same form."""
    parts = urlsplit(url.strip())
    kind = SCHEMES.get(parts.scheme)
    if kind is None:
        raise KeboolaError(
            f"cannot tell the kind of connection from {redact_url(url)!r}",
            fix="start the URL with postgresql://, mysql://, mariadb://, snowflake://, s3:// or bigquery://",
        )
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    try:
        port = parts.port or DEFAULT_PORTS[kind]
    except ValueError:
        raise KeboolaError(f"the port in {redact_url(url)!r} is not a number") from None
    default_user, default_database = DEFAULTS[kind]
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
    password = unquote(parts.password) if parts.password else None
    return kind, db, password


def parse_s3_url(url: str) -> dict[str, Any]:
    """`s3://bucket/prefix/` -> the s3 node (credentials are added by the caller)."""
    parts = urlsplit(url.strip())
    if parts.scheme != "s3" or not parts.netloc:
        raise KeboolaError(f"{url!r} is not an S3 URL", fix="write it as s3://bucket/optional/prefix/")
    return {"bucket": parts.netloc, "prefix": unquote(parts.path.lstrip("/")), "loginType": "credentials"}


def parse_bigquery_url(url: str) -> dict[str, Any]:
    """`bigquery://project/dataset[?location=EU]` -> the bigquery node (the key is added by the caller)."""
    parts = urlsplit(url.strip())
    dataset = unquote(parts.path.strip("/"))
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    location = query.pop("location", "US")
    if parts.scheme != "bigquery" or not parts.netloc or "/" in dataset or query:
        raise KeboolaError(f"{url!r} is not a BigQuery URL",
                           fix="write it as bigquery://PROJECT/DATASET (dataset optional, ?location=EU optional)")
    return {"project": parts.netloc, "dataset": dataset, "location": location}


def parse_snowflake_url(url: str) -> tuple[dict[str, Any], str | None]:
    """`snowflake://user@ACCOUNT/DATABASE/SCHEMA?warehouse=WH&role=R` -> the Keboola `db` node, password.

    ACCOUNT may also be a host (`xy123.eu-central-1.snowflakecomputing.com`). A local endpoint, such as an
    emulator, is a host with a port plus `?account=NAME&protocol=http`: `snowflake://user@127.0.0.1:8080/DB/SCHEMA?account=x&protocol=http`.
    """
    from .connectors.snowflake import HOST_SUFFIX

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
    local = port is not None or query.get("protocol") == "http"
    if not local and not host.endswith(HOST_SUFFIX):
        host += HOST_SUFFIX  # an account identifier: xy12345.eu-central-1
    db: dict[str, Any] = {"host": host, "port": port or 443, "database": path[0], "schema": path[1],
                          "warehouse": query.pop("warehouse", None), "roleName": query.pop("role", None),
                          "user": unquote(parts.username)}
    db = {k: v for k, v in db.items() if v is not None}
    if local:  # not part of Keboola's node: only a local endpoint needs them
        if "account" not in query:
            raise KeboolaError(f"the local Snowflake endpoint in {redact_url(url)!r} needs ?account=NAME")
        db["account"] = query.pop("account")
        db["protocol"] = query.pop("protocol", "https")
    if query:
        raise KeboolaError(f"URL option(s) {', '.join(sorted(query))} are not supported",
                           fix="supported options: warehouse, role (and account, protocol for a local endpoint)")
    return db, unquote(parts.password) if parts.password else None


def parse_connection_url(url: str) -> tuple[str, dict[str, Any], str | None]:
    """Any URL a connection can be made from -> kind, its node (no credentials), a password written in it."""
    scheme = urlsplit(url.strip()).scheme
    if scheme == "s3":
        return "s3", parse_s3_url(url), None
    if scheme == "bigquery":
        return "bigquery", parse_bigquery_url(url), None
    if scheme == "snowflake":
        node, password = parse_snowflake_url(url)
        return "snowflake", node, password
    return parse_url(url)


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url
