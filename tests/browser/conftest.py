"""Fixtures for browser tests: JupyterLab servers, Chromium, notebooks opened in a fresh workspace.

    def test_x(open_notebook):                      # default server, environment of the test process
        nb = open_notebook(["print(1)"])
        nb.run_cell(0)

    def test_y(lab_factory, open_notebook):         # a server (and so a kernel) with extra environment
        lab = lab_factory({"ANTHROPIC_BASE_URL": "http://127.0.0.1:9999"})
        nb = open_notebook(["..."], lab=lab)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .lab import CHROMIUM, CHROMIUM_ARGS, Lab, Notebook


@pytest.fixture(scope="session")
def lab_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Lab]]:
    """lab_factory(env=None) -> a running Lab; one server per distinct env, stopped after the session."""
    labs: dict[tuple[tuple[str, str], ...], Lab] = {}

    def start(env: dict[str, str] | None = None) -> Lab:
        key = tuple(sorted((env or {}).items()))
        if key not in labs:
            labs[key] = Lab.start(tmp_path_factory.mktemp("lab"), env)
        return labs[key]

    yield start
    for lab in labs.values():
        lab.stop()


@pytest.fixture(scope="session")
def lab(lab_factory: Callable[..., Lab]) -> Lab:
    """The default server: its kernels see the environment of the test process."""
    return lab_factory()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Browser tests need Debian's Chromium at {CHROMIUM}: apt-get install -y chromium "
                    "(playwright's own browser downloads are not used).", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[_FAILED] = report.failed


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A fresh browser context and page; a screenshot is kept when the test fails."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    yield page
    if request.node.stash.get(_FAILED, False):
        shot = tmp_path_factory.getbasetemp() / f"{_slug(request.node.name)}.png"
        page.screenshot(path=str(shot))
        print(f"screenshot of the failed test: {shot}")
    context.close()


@pytest.fixture
def open_notebook(lab_factory: Callable[..., Lab], page: Any, request: pytest.FixtureRequest
                  ) -> Iterator[Callable[..., Notebook]]:
    """open_notebook(cells, name=None, lab=None) -> Notebook open in `page`; its kernels are shut down after."""
    used: list[Lab] = []

    def open_(cells: list[str], name: str | None = None, lab: Lab | None = None) -> Notebook:
        server = lab or lab_factory()
        used.append(server)
        return Notebook.open(server, page, name or f"{_slug(request.node.name)}.ipynb", cells)

    yield open_
    for server in dict.fromkeys(used):
        server.shut_down_kernels()


def _slug(name: str) -> str:
    return re.sub(r"[^\w.-]+", "-", name).strip("-")
