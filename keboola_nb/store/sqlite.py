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
        self._local = threading.local()  # sqlite3 connections must stay in their thread

    def __call__(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL stays consistent without an fsync per write
            db.executescript(self.schema)
            self._local.db = db
        return db
