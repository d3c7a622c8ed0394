"""Session-wide test set-up for tests/ and notebooks/: keep everything away from the user's folders."""

from __future__ import annotations

import os
import signal
import tempfile
from pathlib import Path

import pytest

# The services notebooks/04-flow.ipynb runs against, started only when its cells run. Registered here, not in
# tests/conftest.py, which `pytest notebooks/04-flow.ipynb` does not load.
pytest_plugins = ["tests.notebook_services"]

SANDBOX = Path(tempfile.mkdtemp(prefix="kbnb-tests-"))
os.environ["KEBOOLA_NB_SECRETS_DIR"] = str(SANDBOX / "secrets")
os.environ["KEBOOLA_NB_PROJECT"] = str(SANDBOX / "notebook-project")  # notebooks open their project here


@pytest.fixture(scope="session", autouse=True)
def model_for_notebooks():  # type: ignore[no-untyped-def]
    """Without a real key, notebook kernels (which inherit this environment) talk to the local stand-in
    playing the assistant notebook's script; with ANTHROPIC_API_KEY set they talk to Claude."""
    if os.environ.get("ANTHROPIC_API_KEY"):
        yield None
        return
    from tests.notebook_model import walkthrough
    from tests.standin import StandIn

    with StandIn() as api:
        api.responder = walkthrough
        os.environ.update(ANTHROPIC_API_KEY="stand-in-key", ANTHROPIC_BASE_URL=api.base_url)
        yield api
        for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
            os.environ.pop(name, None)


@pytest.fixture(scope="session", autouse=True)
def stop_demo_servers():  # type: ignore[no-untyped-def]
    """Notebook kernels may be killed before the demo server's own exit hook runs: stop it here."""
    yield
    for pid_file in SANDBOX.rglob("demo-postgres/postmaster.pid"):
        try:
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)  # PostgreSQL's fast shutdown
        except (ValueError, ProcessLookupError):
            pass
