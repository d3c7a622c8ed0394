"""The one exception type for problems a user can fix."""

from __future__ import annotations


class KeboolaError(Exception):
    """Something the user can fix: what went wrong (naming the thing) and how to fix it.

    Faces show `str(error)` without a traceback; tracebacks are for bugs only.
    """

    def __init__(self, what: str, fix: str | None = None) -> None:
        self.what = what
        self.fix = fix
        super().__init__(what if not fix else f"{what}\n  How to fix: {fix}")
