"""SQLite files of the project (jobs, conversations): WAL, one connection per thread."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class LocalDb:
    """Call it for this thread's connection; the schema is created on first use."""

    def __init__(self, path: Path, schema: str) -> None:
        self.path = path
        self.schema = schema
        self._local = threading.local()  # each thread works with its own connection
        self._opened: list[tuple[threading.Thread, sqlite3.Connection]] = []  # every thread's, for close()
        self._lock = threading.Lock()

    def __call__(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Used only by the thread that opened it; check_same_thread=False lets close() end it from another.
            db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL stays consistent without an fsync per write
            db.executescript(self.schema)
            self._local.db = db
            with self._lock:  # a thread that ended (a server's worker) no longer needs its connection
                ended = [c for t, c in self._opened if not t.is_alive()]
                self._opened = [(t, c) for t, c in self._opened if t.is_alive()]
                self._opened.append((threading.current_thread(), db))
            for connection in ended:
                connection.close()
        return db

    def close(self) -> None:
        """Close every thread's connection (a thread that calls again gets a new one)."""
        with self._lock:
            opened, self._opened = self._opened, []
        for _, db in opened:
            db.close()
        self._local = threading.local()
