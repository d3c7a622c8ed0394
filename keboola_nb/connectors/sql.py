"""What the SQL database connectors share: one warm connection under a lock, the connection test, and one
clear message per failure. A database supplies its dialect: how to connect, what its test asks the server,
how its errors read, and its catalog queries."""

from __future__ import annotations

import threading
import time
from contextlib import suppress
from typing import Any, ClassVar

from ..errors import KeboolaError
from .base import Diagnosis, connected

CONNECT_TIMEOUT_S = 10
STATEMENT_TIMEOUT_S = 30  # browsing and previews must come back in bounded time, whatever the table


class SqlConnector:
    kind: ClassVar[str]

    def __init__(self, name: str, db: dict[str, Any]) -> None:
        self.name = name
        self.db = db
        self._conn: Any = None
        self._lock = threading.RLock()  # chat handlers may call in from another thread

    # the dialect -----------------------------------------------------------------------------------
    def _params(self) -> dict[str, Any]:
        """The driver's connect arguments; the secret is resolved here only (a KeboolaError when it cannot be)."""
        raise NotImplementedError

    def _connect(self) -> Any:
        """A new connection for browsing and previews; a failure raises a KeboolaError with the diagnosis."""
        raise NotImplementedError

    def _alive(self, conn: Any) -> bool:
        """Whether a kept connection can still be used."""
        raise NotImplementedError

    def _probe(self, params: dict[str, Any]) -> "Diagnosis | tuple[str, Any]":
        """Connect with `params` and ask the server: (server and version, tables readable), or the Diagnosis
        of what is missing. The driver's errors (`_driver_errors`) are diagnosed by `_diagnose`."""
        raise NotImplementedError

    def _driver_errors(self) -> type[Exception]:
        """The driver's base error class (imported when asked: drivers load lazily)."""
        raise NotImplementedError

    def _diagnose(self, error: Exception, params: dict[str, Any]) -> Diagnosis:
        """What a driver's connection error means, and what to do."""
        raise NotImplementedError

    def target(self) -> str:
        raise NotImplementedError

    # shared ----------------------------------------------------------------------------------------
    def connection(self) -> Any:
        """A warm connection, re-opened when the previous one broke or was closed."""
        with self._lock:
            if self._conn is None or not self._alive(self._conn):
                self._conn = self._connect()
            return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                with suppress(Exception):  # a broken or closed connection may refuse; it is dropped either way
                    self._conn.close()
                self._conn = None

    def test(self) -> Diagnosis:
        """Connect and read the catalog; on failure, which problem it is (auth, network, ...) and the fix."""
        started = time.perf_counter()
        try:
            params = self._params()
        except KeboolaError as e:
            return Diagnosis(False, "secret", e.what, e.fix or "")
        try:
            probed = self._probe(params)
        except self._driver_errors() as e:
            return self._diagnose(e, params)
        if isinstance(probed, Diagnosis):
            return probed
        server, readable = probed
        return connected(self.target(), str(params["user"]), server, readable, started)

    def _failed(self, problem: str, message: str, fix: str, said: str) -> Diagnosis:
        """A failed test: the problem's kind, what is wrong with the connection, the fix, what the server said."""
        return Diagnosis(False, problem, f"connection {self.name!r}: {message}", fix, {"server said": said})

    def _unknown(self, said: str) -> Diagnosis:
        return Diagnosis(False, "error", f"connection {self.name!r}: {said}", "check the connection settings",
                         {"server said": said})

    def _too_long(self, seconds: int) -> KeboolaError:
        return KeboolaError(f"connection {self.name!r}: the query ran longer than {seconds} s and was stopped",
                            fix="preview a smaller table or view, or a simpler query")
