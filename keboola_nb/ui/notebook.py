"""Talking to JupyterLab from the kernel (via ipylab): the right sidebar and new cells.

Headless (nbclient, plain IPython) there is no front end to answer: these calls then do nothing.
"""

from __future__ import annotations

from typing import Any

_frontend: Any = None


def _app() -> Any:
    """One ipylab front end per kernel; None when there is no kernel a front end could talk to."""
    global _frontend
    if _frontend is None:
        try:
            import ipylab
            from IPython import get_ipython
        except ImportError:
            return None
        if getattr(get_ipython(), "kernel", None) is None:
            return None
        _frontend = ipylab.JupyterFrontEnd()
    return _frontend


def open_in_sidebar(widget: Any, title: str = "Keboola") -> bool:
    """Show `widget` in JupyterLab's right sidebar and bring its tab to the front."""
    app = _app()
    if app is None:
        return False
    import ipylab
    from ipywidgets import widget_serialization

    panel = ipylab.Panel([widget])
    panel.title.label = title
    panel.title.caption = title
    reference = widget_serialization["to_json"](panel, None)

    # The sidebar id only exists once the front end has added the panel and synced `_widgets` back;
    # activate the tab then, from the comm handler, so the cell does not wait for the browser.
    def activate(change: dict[str, Any]) -> None:
        for entry in change["new"]:
            if entry.get("serializedWidget") == reference and entry.get("id"):
                app.shell.unobserve(activate, "_widgets")
                app.commands.execute("tabsmenu:activate-by-id", {"id": entry["id"]})
                return

    app.shell.observe(activate, "_widgets")
    app.shell.add(panel, "right", {"rank": 1000})
    return True


def insert_cell_below(code: str) -> bool:
    """Put `code` into a new cell below the active cell (works from callbacks, unlike set_next_input).
    False when there is no kernel a front end could talk to."""
    app = _app()
    if app is None:
        return False
    app.commands.execute("notebook:insert-cell-below")
    app.commands.execute("notebook:replace-selection", {"text": code})
    return True
