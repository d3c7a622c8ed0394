"""Atomic file writes and the project lock that makes two kernels on one project safe."""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from ..errors import KeboolaError

LOCK_TIMEOUT_S = 30.0
POLL_S = 0.005  # how often a waiting thread or process tries the lock again (filelock waits 50 ms by default)


def write_text_atomic(path: Path, text: str, mode: int | None = None) -> None:
    """Write `text` to `path` so readers see the old or the new file, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dump_json(data: Any) -> str:
    """Keboola-style JSON: 2-space indent, unicode kept, trailing newline."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, dump_json(data))


def read_json(path: Path, default: Any = None) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default
    except json.JSONDecodeError as e:
        raise KeboolaError(
            f"{path} is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})",
            fix="correct the file by hand, or restore it from version control",
        ) from None


_locks: dict[Path, Any] = {}


def _lock_for(lock_path: Path) -> Any:
    # One FileLock object per path and process: its per-thread counter makes it re-entrant in a
    # thread, while separate threads and processes still exclude each other.
    from filelock import FileLock

    if lock_path not in _locks:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        _locks[lock_path] = FileLock(str(lock_path))
    return _locks[lock_path]


@contextmanager
def locked(lock_path: Path, what: str, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold an inter-process lock; re-entrant within one thread of one process."""
    from filelock import Timeout

    lock = _lock_for(lock_path)
    try:
        lock.acquire(timeout=timeout, poll_interval=POLL_S)
    except Timeout:
        raise KeboolaError(
            f"{what} is busy: another kernel or process has held {lock_path.name} for {timeout:.0f} s",
            fix="wait for the other job to finish, or stop the process that holds it",
        ) from None
    try:
        yield
    finally:
        lock.release()
