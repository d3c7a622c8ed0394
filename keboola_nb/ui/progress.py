"""A progress bar for long work: an updating HTML element in notebooks, a line in terminals."""

from __future__ import annotations

import sys
import threading
import time
from html import escape

MIN_INTERVAL_S = 0.2


class NotebookProgress:
    def __init__(self, title: str) -> None:
        self.title = title
        self.label = ""
        self.index = 0
        self.total = 0
        self.fraction = 0.0
        self.started = time.perf_counter()
        self._last = 0.0
        self._lock = threading.Lock()  # advance() is called from the polling thread
        self._handle = None
        try:
            from IPython import get_ipython
            from IPython.display import HTML, display

            if get_ipython() is not None and getattr(get_ipython(), "kernel", None) is not None:
                self._handle = display(HTML(self._html()), display_id=True)
        except ImportError:
            pass

    def step(self, index: int, total: int, label: str) -> None:
        with self._lock:
            self.index, self.total, self.label, self.fraction = index, total, label, 0.0
        self._show(force=True)

    def advance(self, fraction: float) -> None:
        with self._lock:
            self.fraction = fraction
        self._show()

    def finish(self, summary: str) -> None:
        with self._lock:
            self.label, self.fraction, self.index = summary, 1.0, self.total
        self._show(force=True, done=True)

    def cancelled(self) -> bool:
        return False  # a notebook user stops a run with the kernel's interrupt

    def _overall(self) -> float:
        if not self.total:
            return 0.0
        return min(1.0, (self.index - 1 + self.fraction) / self.total)

    def _html(self, done: bool = False) -> str:
        seconds = time.perf_counter() - self.started
        step = "done" if done else (f"{self.index}/{self.total}" if self.total else "starting")
        return (
            f"<div style='font-family:var(--jp-code-font-family,monospace)'>"
            f"<progress value='{self._overall() if not done else 1.0:.3f}' max='1' style='width:24em'></progress> "
            f"{escape(self.title)} [{step}] {escape(self.label)} ({seconds:.1f} s)</div>"
        )

    def _show(self, force: bool = False, done: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last < MIN_INTERVAL_S:
            return
        self._last = now
        if self._handle is not None:
            from IPython.display import HTML

            self._handle.update(HTML(self._html(done)))
        else:
            percent = 100 * (1.0 if done else self._overall())
            end = "\n" if done else "\r"
            sys.stderr.write(f"{self.title}: {percent:5.1f}% {self.label}{end}")
