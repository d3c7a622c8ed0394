"""How Keboola's database components log in: the `db` node's secret, which their configuration requires."""

from __future__ import annotations

from typing import Protocol


class HasSecret(Protocol):
    password: str | None
    privateKey: str | None


def one_secret(node: HasSecret) -> None:
    """`#password` is required (db-extractor-config's DbNode); Snowflake takes it or `#privateKey`, not both."""
    if not node.password and not node.privateKey:
        raise ValueError("db.#password is missing; Keboola's database components need one (connect with "
                         "--password-env VAR or --ask-password)")
    if node.password and node.privateKey:
        raise ValueError("db has both #password and #privateKey; keep one")
