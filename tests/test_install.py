"""What pip installs besides the package: the Jupyter server configuration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_server_extension_is_enabled_by_the_installed_config():
    config = Path(sys.prefix) / "etc/jupyter/jupyter_server_config.d/keboola_nb.json"
    assert config.exists(), "pip install did not place jupyter-config into etc/jupyter"
    out = subprocess.run(
        [sys.executable, "-m", "jupyter", "server", "extension", "list"], capture_output=True, text=True, check=True
    )
    text = out.stdout + out.stderr
    assert "keboola_nb" in text and "enabled" in text.split("keboola_nb", 1)[1].splitlines()[0]
    assert "keboola_nb 0.1.0" in text and "OK" in text.split("keboola_nb 0.1.0", 1)[1].splitlines()[0]


def test_installed_package_carries_the_chat_front_end_and_model_data(tmp_path):
    """Run from another folder so the installed package is imported, not the source checkout."""
    code = (
        "import pathlib, keboola_nb\n"
        "root = pathlib.Path(keboola_nb.__file__).parent\n"
        "print(root.parent.name)\n"
        "for f in ('static/chat.js', 'static/chat.css', 'ai/models.json'):\n"
        "    print(f, (root / f).is_file())\n"
        "from keboola_nb.ui.chat_panel import ChatPanel\n"
        "print('esm', 'render' in str(ChatPanel._esm))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    assert lines[0] == "site-packages", out
    assert lines[1:4] == ["static/chat.js True", "static/chat.css True", "ai/models.json True"], out
    assert lines[4] == "esm True", out
