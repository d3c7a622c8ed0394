"""A small Jupyter server extension: `GET /keboola-nb/status` says which version is installed.

pip installs `jupyter-config/jupyter_server_config.d/keboola_nb.json`, which enables it, so nothing
needs enabling by hand.
"""

from __future__ import annotations

from typing import Any


def load(serverapp: Any) -> None:
    from jupyter_server.base.handlers import JupyterHandler
    from jupyter_server.utils import url_path_join
    from tornado import web

    from . import __version__

    class StatusHandler(JupyterHandler):
        @web.authenticated
        def get(self) -> None:
            self.finish({"name": "keboola_nb", "version": __version__})

    base = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(".*$", [(url_path_join(base, "keboola-nb", "status"), StatusHandler)])
    serverapp.log.info("keboola_nb %s server extension loaded", __version__)
