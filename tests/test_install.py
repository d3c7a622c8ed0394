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
