"""Component state (Keboola's `state`), e.g. `{"lastFetchedRow": ...}` per row for incremental fetching.

Written only after the storage load it describes has committed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..store.files import locked, read_json, write_json_atomic


class StateStore:
    def __init__(self, folder: Path, lock_path: Path) -> None:
        self.folder = folder
        self.lock_path = lock_path

    def _path(self, config_id: str) -> Path:
        return self.folder / f"{config_id}.json"

    def get(self, config_id: str) -> dict[str, Any]:
        return read_json(self._path(config_id), default={})

    def row(self, config_id: str, row_id: str) -> dict[str, Any]:
        return self.get(config_id).get(row_id, {})

    def update(self, config_id: str, rows: dict[str, dict[str, Any]]) -> None:
        with locked(self.lock_path, "the project"):
            state = self.get(config_id)
            state.update(rows)
            write_json_atomic(self._path(config_id), state)

    def clear(self, config_id: str, row_id: str | None = None) -> None:
        with locked(self.lock_path, "the project"):
            state = {} if row_id is None else {k: v for k, v in self.get(config_id).items() if k != row_id}
            write_json_atomic(self._path(config_id), state)
