"""The one exception type for problems a user can fix."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager


class KeboolaError(Exception):
    """Something the user can fix: what went wrong (naming the thing) and how to fix it.

    Faces show `str(error)` without a traceback; tracebacks are for bugs only.
    """

    def __init__(self, what: str, fix: str | None = None) -> None:
        self.what = what
        self.fix = fix
        super().__init__(what if not fix else f"{what}\n  How to fix: {fix}")


class KeboolaNotice(UserWarning):
    """Advice worth showing, though nothing failed (a suggested key, a secret moved out of a URL).

    Raised with `warnings.warn`; the magics print it as a plain note, the assistant passes it on."""


@contextmanager
def notices() -> Iterator[list[str]]:
    """Collect the KeboolaNotice texts raised inside the block (filled when it ends, also on an error);
    other warnings pass through."""
    collected: list[str] = []
    recorded: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", KeboolaNotice)
            try:
                yield collected
            finally:
                recorded = list(caught)
    finally:  # outside the recording block: warnings passed on must not be recorded again
        for w in recorded:
            if issubclass(w.category, KeboolaNotice):
                collected.append(str(w.message))
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
