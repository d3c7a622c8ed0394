"""What the flow tests share: a project whose storage holds a small orders table and two SQL transformations that
split it (`big`, `small`), a local webhook that records what it receives, and a local SMTP server the project's
email notifications reach."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from keboola_nb.connectors.base import Scan

BIG = "CREATE TABLE big AS SELECT id, amount FROM orders WHERE amount > 6"
SMALL = "CREATE TABLE small AS SELECT id FROM orders WHERE amount <= 6"


def split_orders(project: Any) -> Any:
    """in.c-shop.orders (amounts 10, 30, 5), and the transformations `big` and `small` that split it."""
    with project.storage.transaction() as loader:
        loader.load("in.c-shop.orders", Scan(sql="SELECT * FROM (VALUES (1, 10.0), (2, 30.0), (3, 5.0)) t(id, amount)"))
    project.transformations.create_sql("big", BIG, inputs=["in.c-shop.orders"], outputs=["out.c-x.big"])
    project.transformations.create_sql("small", SMALL, inputs=["in.c-shop.orders"], outputs=["out.c-x.small"])
    return project


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (the handler's name)
        _Hook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook():  # type: ignore[no-untyped-def]
    """(its URL, the JSON bodies it has received)."""
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", _Hook.received
    server.shutdown()


@pytest.fixture
def smtp(monkeypatch) -> Iterator[list[tuple[list[str], str]]]:  # type: ignore[no-untyped-def]
    """A local SMTP server the project's notifications use: (recipients, message) of each mail it received."""
    from aiosmtpd.controller import Controller
    from servers import free_port

    received: list[tuple[list[str], str]] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
            received.append((envelope.rcpt_tos, envelope.content.decode()))
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("KEBOOLA_NB_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("KEBOOLA_NB_SMTP_PORT", str(port))
    try:
        yield received
    finally:
        controller.stop()
