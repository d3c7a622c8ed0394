"""How Keboola's database components log in: the `db` node's secret, which their configuration requires."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Protocol, TypeVar

from pydantic import BaseModel

from ..errors import KeboolaError
from .validation import validated

if TYPE_CHECKING:
    from .configuration import Configuration

Root = TypeVar("Root", bound=BaseModel)

# db-extractor-config's and db-writer-config's DbNode; each database's component adds keys of its own.
DB_KEYS = ("driver", "host", "port", "database", "user", "#password", "ssh", "ssl", "initQueries")


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


def checked_root(model: type[Root], config: "Configuration", extra: Collection[str], what: str) -> Root:
    """A database component's root `parameters` as `model`. Keboola's DbNode refuses keys it does not define
    ("Unrecognized option"), so a run there would fail: `extra` names what this database's component adds."""
    where = f"{what} {config.name!r}, parameters"
    params = config.configuration.get("parameters", {})
    unknown = sorted(set(params.get("db") or {}) - set(DB_KEYS) - set(extra))
    if unknown:
        verb = "is" if len(unknown) == 1 else "are"
        raise KeboolaError(f"{where}: db.{', db.'.join(unknown)} {verb} not accepted by this Keboola component",
                           fix=f"its db keys are: {', '.join([*DB_KEYS, *extra])}")
    return validated(model, params, where)
