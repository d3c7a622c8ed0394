"""Drive a real JupyterLab from tests: a server process, notebooks opened in Chromium, the chat panel.

    lab = Lab.start(root, env={"ANTHROPIC_BASE_URL": ...})   # jupyter lab from this venv
    nb = Notebook.open(lab, page, "t.ipynb", ["import x", "..."])
    nb.run_cell(0); nb.cell_sources(); nb.restart_kernel()
    chat = Chat(page); chat.send("hello"); chat.item("assistant").wait_for()
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
START_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(eq=False)  # one object per server process
class Lab:
    """A `jupyter lab` server with its own root, settings, workspaces and runtime folders."""

    base: Path
    env: dict[str, str] = field(default_factory=dict)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def root(self) -> Path:
        return self.base / "root"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, base: Path, env: dict[str, str] | None = None) -> Lab:
        lab = cls(base=base, env=dict(env or {}))
        lab.root.mkdir(parents=True, exist_ok=True)
        dirs = {name: base / name for name in ("settings", "workspaces", "runtime", "config", "data", "ipython")}
        for path in dirs.values():
            path.mkdir(exist_ok=True)
        # No "get Jupyter news?" toast over the page, no requests to the internet.
        notification = dirs["settings"] / "@jupyterlab/apputils-extension/notification.jupyterlab-settings"
        notification.parent.mkdir(parents=True, exist_ok=True)
        notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        process_env = {
            **os.environ,
            "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
            "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]),
            "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
            "JUPYTER_CONFIG_DIR": str(dirs["config"]),
            "JUPYTER_DATA_DIR": str(dirs["data"]),
            "IPYTHONDIR": str(dirs["ipython"]),
            **lab.env,  # the kernel inherits this environment
        }
        log = open(base / "server.log", "wb")  # noqa: SIM115 - the server writes to it until stop()
        lab.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
             f"--ServerApp.token={lab.token}", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={lab.port}",
             "--ServerApp.port_retries=0", f"--ServerApp.root_dir={lab.root}",
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
             "--LabApp.expose_app_in_browser=True"],
            env=process_env, stdout=log, stderr=subprocess.STDOUT, cwd=lab.root,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if lab.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {lab.process.returncode}:\n{lab.server_log()}")
            try:
                lab.api("GET", "/api/status")
                return lab
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        lab.stop()
        raise RuntimeError(f"jupyter lab did not answer within {START_TIMEOUT_S} s:\n{lab.server_log()}")

    def server_log(self) -> str:
        return (self.base / "server.log").read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def api(self, method: str, path: str, body: Any = None) -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            data = response.read()
        return json.loads(data) if data else None

    def lab_url(self, notebook: str, workspace: str) -> str:
        return f"{self.url}/lab/workspaces/{workspace}/tree/{notebook}?token={self.token}&reset"

    def write_notebook(self, name: str, cells: list[str]) -> Path:
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        return path

    def shut_down_kernels(self) -> None:
        """Delete every session and kernel, so the next test starts clean."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")


# JavaScript run in the page; `app` is window.jupyterapp (exposed by --LabApp.expose_app_in_browser).
_JS_READY = """(path) => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = w && w.context && w.context.path === path && w.sessionContext.session
    && w.sessionContext.session.kernel;
  return !!(kernel && kernel.status === 'idle' && w.content.widgets.length > 0);
}"""
_JS_KERNEL_IDLE = """() => {
  const k = window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel;
  return !!k && k.status === 'idle';
}"""


class Notebook:
    """A notebook open in JupyterLab in a Playwright page."""

    def __init__(self, lab: Lab, page: Any, name: str) -> None:
        self.lab, self.page, self.name = lab, page, name

    @classmethod
    def open(cls, lab: Lab, page: Any, name: str, cells: list[str], timeout_ms: int = 60_000) -> Notebook:
        """Write `cells` as a new notebook, open it in a fresh workspace and wait for an idle kernel."""
        lab.write_notebook(name, cells)
        page.goto(lab.lab_url(name, f"w{secrets.token_hex(4)}"))
        page.wait_for_function(_JS_READY, arg=name, timeout=timeout_ms)
        return cls(lab, page, name)

    def run_cell(self, index: int, timeout_ms: int = 60_000) -> None:
        """Run cell `index` (it becomes the active cell) and wait until it has finished and the kernel is idle."""
        self.page.evaluate(
            """(i) => {
              const app = window.jupyterapp, nb = app.shell.currentWidget.content;
              nb.activeCellIndex = i;
              nb.deselectAll();
              nb.model.cells.get(i).executionCount = null;
              void app.commands.execute('notebook:run-cell');
            }""", index)
        self.page.wait_for_function(
            """(i) => {
              const cell = window.jupyterapp.shell.currentWidget.content.model.cells.get(i);
              return cell.executionCount !== null && cell.executionState === 'idle';
            }""", arg=index, timeout=timeout_ms)
        self.wait_idle(timeout_ms)

    def wait_idle(self, timeout_ms: int = 60_000) -> None:
        self.page.wait_for_function(_JS_KERNEL_IDLE, timeout=timeout_ms)

    def cell_sources(self) -> list[str]:
        return self.page.evaluate(
            "() => window.jupyterapp.shell.currentWidget.content.model.sharedModel.cells.map(c => c.getSource())")

    def cell_outputs_text(self, index: int) -> str:
        """Text of a cell's outputs (stream text, text/plain results and error messages)."""
        return self.page.evaluate(
            """(i) => {
              const outs = window.jupyterapp.shell.currentWidget.content.model.sharedModel.cells[i].getOutputs();
              return outs.map(o => [o.text, o.data && o.data['text/plain'], o.ename, o.evalue]
                .flat().filter(Boolean).join('')).join('\\n');
            }""", index)

    def active_cell_index(self) -> int:
        return self.page.evaluate("() => window.jupyterapp.shell.currentWidget.content.activeCellIndex")

    def kernel_id(self) -> str:
        return self.page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.id")

    def restart_kernel(self, timeout_ms: int = 60_000) -> None:
        """Restart the kernel through the REST API (no dialog) and wait until the page sees it idle again."""
        self.lab.api("POST", f"/api/kernels/{self.kernel_id()}/restart")
        self.wait_idle(timeout_ms)


class Chat:
    """The keboola_nb chat panel: in JupyterLab's right sidebar, or `within=".jp-OutputArea"` for one in a cell."""

    def __init__(self, page: Any, within: str = "#jp-right-stack") -> None:
        self.page = page
        self.selector = f"{within} .kbnb-chat"
        self.root = page.locator(self.selector)

    def send(self, text: str) -> None:
        box = self.root.locator(".kbnb-input")
        box.fill(text)
        box.press("Enter")

    def item(self, kind: str, item_id: str | None = None, status: str | None = None) -> Any:
        """Locator of the chat items of `kind` (optionally one id, one data-status)."""
        selector = f".kbnb-item[data-kind={kind}]"
        selector += f'[data-id="{item_id}"]' if item_id else ""
        selector += f'[data-status="{status}"]' if status else ""
        return self.root.locator(selector)

    def wait_idle(self, timeout_ms: int = 60_000) -> None:
        self.page.locator(f"{self.selector}[data-status=idle]").wait_for(timeout=timeout_ms)
