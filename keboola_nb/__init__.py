"""keboola_nb: Keboola data pipelines from a Jupyter notebook.

    %load_ext keboola_nb            # the %keboola magics
    import keboola_nb as kb         # the same things as a Python API
    project = kb.Project.open()

Heavy modules (pandas, DuckDB, drivers) load on first use, so `%load_ext` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Project", "KeboolaError", "KeboolaNotice", "secret", "load_ipython_extension"]

if TYPE_CHECKING:
    from .errors import KeboolaError, KeboolaNotice
    from .project import Project
    from .store.secrets import secret

_LAZY = {
    "Project": ("project", "Project"),
    "KeboolaError": ("errors", "KeboolaError"),
    "KeboolaNotice": ("errors", "KeboolaNotice"),
    "secret": ("store.secrets", "secret"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)
    raise AttributeError(f"module 'keboola_nb' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    from .magics import KeboolaMagics

    ipython.register_magics(KeboolaMagics(ipython))


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "keboola_nb"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from .server import load

    load(serverapp)


def unload_ipython_extension(ipython: Any) -> None:
    from .magics import close_session

    close_session()
