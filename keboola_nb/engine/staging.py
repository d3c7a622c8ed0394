"""Targets that stage every table of a run first and change the real tables only once all are staged."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any


class StagingTarget:
    """The run's transaction for such a target: `write` stages a table, `_commit` changes the targets,
    `_clean_up` drops what was staged when anything failed, `_errors` turns driver errors into clear ones."""

    staged: list[Any]

    def _errors(self) -> AbstractContextManager[None]:
        return nullcontext()

    def _commit(self) -> None:
        raise NotImplementedError

    def _clean_up(self) -> None:
        raise NotImplementedError

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Stage every table inside the block; on a clean exit change the targets, else drop the staging."""
        self.staged = []
        try:
            with self._errors():
                yield
                self._commit()
        except BaseException:
            self._clean_up()
            raise
        finally:
            self.staged = []
