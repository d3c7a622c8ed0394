"""Plug-ins found through entry points: one registry per entry point group (components, connection kinds).
An entry is loaded on first use, so a plug-in costs nothing until a project uses it."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Generic, TypeVar

from .errors import KeboolaError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, group: str, what: str) -> None:
        self.group = group
        self.what = what  # e.g. "component", in messages
        self._entries: dict[str, "EntryPoint"] | None = None
        self._twice: set[str] = set()  # names two packages register differently
        self._loaded: dict[str, T] = {}
        self._lock = threading.RLock()

    def _registered(self) -> dict[str, "EntryPoint"]:
        with self._lock:
            if self._entries is None:
                from importlib.metadata import entry_points

                found = list(entry_points(group=self.group))
                if not found:  # not kept: the next call looks again
                    raise KeboolaError(f"no {self.what}s are registered: keboola_nb is not installed",
                                       fix="install it with pip install . (entry points come from installed packages)")
                self._twice = {e.name for e in found if any(f.name == e.name and f.value != e.value for f in found)}
                self._entries = {e.name: e for e in found}
            return self._entries

    def names(self) -> list[str]:
        return sorted(self._registered())

    def get(self, name: str) -> T:
        entries = self._registered()
        with self._lock:
            if name not in self._loaded:
                entry = entries.get(name)
                if entry is None:
                    raise KeboolaError(f"{self.what} {name!r} is not supported",
                                       fix=f"registered: {', '.join(sorted(entries))}")
                if name in self._twice:
                    raise KeboolaError(f"two installed packages register the {self.what} {name!r}",
                                       fix="uninstall one of them (pip list shows which packages are installed)")
                try:
                    self._loaded[name] = entry.load()
                except Exception as e:  # a broken plug-in: name it, and what to do
                    raise KeboolaError(f"the {self.what} {name!r} ({entry.value}) failed to load: {e}",
                                       fix="reinstall or uninstall the package that provides it") from None
            return self._loaded[name]

    def forget(self) -> None:
        """Read the entry points again (after a package that registers plug-ins was installed)."""
        with self._lock:
            self._entries = None
            self._loaded.clear()
