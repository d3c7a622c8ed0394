"""Progress of long work, reported to whatever face is showing it."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterable, Iterator, Protocol, TypeVar

from ..errors import KeboolaError

if TYPE_CHECKING:
    import duckdb

POLL_S = 0.25
T = TypeVar("T")


class Progress(Protocol):
    def step(self, index: int, total: int, label: str) -> None:
        """Work item `index` of `total` (1-based) started."""

    def advance(self, fraction: float) -> None:
        """The current item is `fraction` (0..1) done."""

    def finish(self, summary: str) -> None: ...

    def cancelled(self) -> bool:
        """True when the user asked to stop: the running statement is interrupted and rolled back."""


class NoProgress:
    def step(self, index: int, total: int, label: str) -> None:
        pass

    def advance(self, fraction: float) -> None:
        pass

    def finish(self, summary: str) -> None:
        pass

    def cancelled(self) -> bool:
        return False


@contextmanager
def watch_query(con: "duckdb.DuckDBPyConnection", progress: Progress) -> Iterator[None]:
    """Poll DuckDB's own query progress while a statement runs on `con` in this thread; interrupt
    the statement when the progress's owner cancels."""
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(POLL_S):
            if progress.cancelled():
                con.interrupt()
                return
            try:
                percent = con.query_progress()
            except Exception:  # the statement finished between two polls
                return
            if percent is not None and percent >= 0:
                progress.advance(min(percent, 100.0) / 100.0)

    thread = threading.Thread(target=poll, name="keboola_nb-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def until_cancelled(items: Iterable[T], progress: Progress) -> Iterator[T]:
    """The items one by one; once the user cancels, the write stops with a clear error before the next."""
    for item in items:
        if progress.cancelled():
            raise KeboolaError("the write was stopped by the user")
        yield item
