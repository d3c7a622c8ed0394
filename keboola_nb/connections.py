"""Named connections: a kind plus its node, e.g. a Keboola `db` node whose `#password` is a secret reference.
What differs per kind (the URL, the node's key and fields, where its secret lives) is the kind's, in its
connector module (connectors/); an S3 connection, for one, holds an `s3` node with `#secretAccessKey`.

They live in `.keboola/connections.json` (no secrets in it), so a teammate who clones the project gets
the connections and supplies their own secrets.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .connectors import kind as kind_of
from .connectors import parse_connection_url
from .errors import KeboolaError, KeboolaNotice
from .model.configuration import check_name
from .store.audit import AuditLog
from .store.files import locked, read_json, write_json_atomic
from .store.secrets import SecretRef, store_secret

if TYPE_CHECKING:
    import pandas as pd

    from .connectors import ConnectionKind, Connector, Diagnosis

@dataclass
class Connection:
    name: str
    kind: str
    db: dict[str, Any]  # the kind's node, e.g. Keboola's `db` node: host, port, database, user, #password (reference)
    _manager: "ConnectionManager | None" = field(default=None, repr=False, compare=False)

    def target(self) -> str:
        known = _known(self.kind)
        return known.target(self.db) if known else f"{self.kind}:// (this kind is not installed here)"

    def secret(self) -> str:
        known = _known(self.kind)
        return known.secret(self.db) if known else "unknown"

    def connector(self) -> "Connector":
        assert self._manager is not None, "connection is not attached to a project"
        return self._manager.connector(self.name)

    def test(self) -> "Diagnosis":
        return self.connector().test()

    def tables(self, schema: str | None = None) -> "pd.DataFrame":
        return self.connector().tables(schema)

    def describe(self, table: str) -> "pd.DataFrame":
        return self.connector().describe(table)

    def preview(self, table: str, limit: int = 100) -> "pd.DataFrame":
        return self.connector().preview(table, limit)

    def __repr__(self) -> str:
        return f"<Connection {self.name!r} {self.target()} secret: {self.secret()}>"


class ConnectionManager:
    def __init__(self, path: Path, lock_path: Path, audit: AuditLog) -> None:
        self.path = path
        self.lock_path = lock_path
        self.audit = audit
        self._connectors: dict[str, tuple[dict[str, Any], Connector]] = {}
        self._lock = threading.Lock()

    def _read(self) -> dict[str, dict[str, Any]]:
        return read_json(self.path, default={"connections": {}}).get("connections", {})

    def add(
        self,
        name: str,
        url: str | None = None,
        *,
        password: SecretRef | str | None = None,
        kind: str | None = None,
        access_key: str | None = None,
        role_arn: str | None = None,
        key_file: str | None = None,
        key_env: str | None = None,
        private_key: SecretRef | str | None = None,
        replace: bool = False,
        actor: str = "user",
        **db: Any,
    ) -> Connection:
        """Add a connection from a URL or from `db` fields. A password given as text is kept in a
        0600 file outside the project and referenced; it is never written into the project.
        For `s3://bucket/prefix/`, `access_key` is the access key id and `password` the secret access key, or
        `role_arn` a role the kernel's AWS identity assumes; with neither, the standard AWS chain is used.
        For `bigquery://project/dataset`, the service-account key JSON comes from `key_file` or the variable
        `key_env`; its private key is stored by reference.
        For `snowflake://`, `private_key` (a PEM key-pair secret) may replace the password."""
        check_name(name, "connection")
        if url:
            kind, parsed, url_password = parse_connection_url(url)
            db = {**parsed, **db}
            if url_password and password is None:
                password = url_password
                warnings.warn(
                    f"the password in the URL of {name!r} was moved to a local secret file; "
                    "use --password-env next time so it never appears in the notebook",
                    KeboolaNotice,
                    stacklevel=2,
                )
        if kind is None:
            raise KeboolaError(f"connection {name!r} needs a URL or a kind", fix="pass a URL such as postgresql://...")
        spec = kind_of(kind)
        given = {"password": password, "access_key": access_key, "role_arn": role_arn, "key_file": key_file,
                 "key_env": key_env, "private_key": private_key}
        options = {k: v for k, v in given.items() if v is not None}
        spec.check_options(name, db, options)
        db = spec.prepare(name, db, options)
        if isinstance(password, str):
            password = store_secret(f"{name}-password", password)
        if password is not None:
            db[spec.secret_key] = str(password)
        with locked(self.lock_path, "the project"):
            connections = self._read()
            if name in connections and not replace:
                raise KeboolaError(
                    f"a connection named {name!r} already exists ({connections[name]['kind']})",
                    fix="choose another name, or pass --replace (replace=True) to change it",
                )
            connections[name] = {"kind": kind, spec.node_key: db}
            write_json_atomic(self.path, {"connections": dict(sorted(connections.items()))})
            self.audit.record("replace" if replace else "create", f"connection/{name}", actor=actor, kind=kind)
        self._forget(name)
        return self.get(name)

    def get(self, name: str) -> Connection:
        connections = self._read()
        if name not in connections:
            known = ", ".join(connections) or "none yet"
            raise KeboolaError(
                f"there is no connection named {name!r} (known: {known})",
                fix="add it with %keboola connect NAME URL, or %keboola demo for the demo database",
            )
        entry = connections[name]
        return Connection(name, entry["kind"], _node(entry), self)

    def remove(self, name: str, *, actor: str = "user") -> None:
        self.get(name)
        with locked(self.lock_path, "the project"):
            connections = self._read()
            connections.pop(name, None)
            write_json_atomic(self.path, {"connections": connections})
            self.audit.record("delete", f"connection/{name}", actor=actor)
        self._forget(name)

    def list(self) -> "pd.DataFrame":
        import pandas as pd

        rows = [
            {"name": c.name, "kind": c.kind, "target": c.target(), "secret": c.secret()}
            for c in (Connection(name, e["kind"], _node(e), self) for name, e in self._read().items())
        ]
        return pd.DataFrame(rows, columns=["name", "kind", "target", "secret"])

    def names(self) -> list[str]:
        return list(self._read())

    def connector(self, name: str) -> "Connector":
        """One warm connector per connection, re-made when the connection changes."""
        connection = self.get(name)
        with self._lock:
            cached = self._connectors.get(name)
            if cached and cached[0] == connection.db:
                return cached[1]
            if cached:
                cached[1].close()
            made = kind_of(connection.kind).connector(name, connection.db)
            self._connectors[name] = (dict(connection.db), made)
            return made

    def _forget(self, name: str) -> None:
        with self._lock:
            cached = self._connectors.pop(name, None)
        if cached:
            cached[1].close()

    def close(self) -> None:
        for name in list(self._connectors):
            self._forget(name)


def _node(entry: dict[str, Any]) -> dict[str, Any]:
    """The connection's node; of a kind not installed here (a teammate's plug-in), the one node it has."""
    known = _known(entry["kind"])
    if known:
        return entry[known.node_key]
    return next((v for k, v in entry.items() if k != "kind" and isinstance(v, dict)), {})


def _known(kind: str) -> "ConnectionKind | None":
    """The kind, when it is installed here: listing and removing connections must work without it."""
    try:
        return kind_of(kind)
    except KeboolaError:
        return None
