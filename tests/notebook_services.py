"""The services notebooks/04-flow.ipynb (the daily-revenue flow) runs against, started for it alone.

The notebook reads where its sources and targets are from environment variables (its first cell says which), so a
user points it at their own MySQL, Snowflake, BigQuery and mail server. Under pytest this plugin provides them,
when the first cell of that notebook is set up (so `pytest tests/...` or a run that deselects the notebook never
pays for them), and stops them after its last cell:
- MySQL: a real MariaDB (tests/servers.py) with the `sales` database, a user `etl` allowed to read it (and to add
  and delete sales, which the notebook does to make revenue drop);
- Snowflake: fakesnow's server (tests/fakesnow_server.py) with CRM.CORE.CUSTOMERS, in a process of its own:
  fakesnow serves from one module-level instance, which the session's `snow` fixture may hold already;
- BigQuery: bqemulator (tests/servers.py) with an empty dataset `analytics`;
- email: a local SMTP server (aiosmtpd) that delivers to a Maildir the notebook reads the alert back from.
The variables are set in this process only while the notebook's kernel starts (the kernel inherits them), and
the passwords are random per session: they reach the kernel as environment variables and the project only as
references to them.

Registered from the root conftest.py: `pytest notebooks/04-flow.ipynb` does not load tests/conftest.py.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent
NOTEBOOK = TESTS.parent / "notebooks" / "04-flow.ipynb"
BIGQUERY_PROJECT = "daily-proj"
SNOWFLAKE_WAREHOUSE = "FAKESNOW_WAREHOUSE"  # the one warehouse the emulator knows
_KEY = pytest.StashKey["DailyRevenueServices"]()
START_TIMEOUT_S = 60.0  # a service that has not said where it listens by then has failed

# Seven days of sales, 60 a day, by 40 customers; statements are split on ";" (none inside a literal).
MYSQL_SEED = """
CREATE DATABASE sales CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
USE sales;
CREATE USER 'etl'@'%' IDENTIFIED BY '{password}';
CREATE TABLE sales (id int PRIMARY KEY, customer_id int NOT NULL, sold_at datetime NOT NULL,
                    amount decimal(12, 2) NOT NULL, KEY (sold_at));
GRANT SELECT ON sales.* TO 'etl'@'%';
GRANT INSERT, DELETE ON sales.sales TO 'etl'@'%';
INSERT INTO sales
SELECT seq, 1 + (seq * 7) % 40, TIMESTAMP '2024-06-01 08:00:00' + INTERVAL (seq - 1) DIV 60 DAY
                                 + INTERVAL (seq * 13) % 600 MINUTE,
       ROUND(20 + (seq * 37) % 180 + (seq % 100) / 100, 2)
FROM seq_1_to_420
"""

SNOWFLAKE_SEED = [
    "CREATE DATABASE CRM",
    "CREATE SCHEMA CRM.CORE",
    "CREATE TABLE CRM.CORE.CUSTOMERS (ID NUMBER(38,0) PRIMARY KEY, NAME VARCHAR, SEGMENT VARCHAR, COUNTRY VARCHAR)",
    ("INSERT INTO CRM.CORE.CUSTOMERS SELECT seq4() + 1, 'Customer ' || (seq4() + 1), "
     "CASE WHEN MOD(seq4(), 4) = 0 THEN 'enterprise' ELSE 'smb' END, "
     "CASE MOD(seq4(), 3) WHEN 0 THEN 'CZ' WHEN 1 THEN 'DE' ELSE 'US' END "
     "FROM TABLE(GENERATOR(ROWCOUNT => 40))"),
]


class DailyRevenueServices:
    """MariaDB, fakesnow, bqemulator and an SMTP server, seeded; `env` is what the notebook reads."""

    def __init__(self) -> None:
        self.env: dict[str, str] = {}
        self._stops: list[Any] = []

    def start(self) -> DailyRevenueServices:
        if str(TESTS) not in sys.path:
            sys.path.insert(0, str(TESTS))
        try:
            self._mysql()
            self._snowflake()
            self._bigquery()
            self._smtp()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        while self._stops:
            try:
                self._stops.pop()()
            except Exception:  # noqa: BLE001, S110 (stop the others anyway)
                pass

    def _mysql(self) -> None:
        from servers import MariaDbServer

        password = secrets.token_urlsafe(12)
        server = MariaDbServer.start()
        self._stops.append(server.stop)
        server.execute(MYSQL_SEED.format(password=password))
        self.env |= {"DAILY_REVENUE_MYSQL_URL": server.url("sales", "etl"), "DAILY_REVENUE_MYSQL_PASSWORD": password}

    def _snowflake(self) -> None:
        password = secrets.token_urlsafe(12)
        log = Path(tempfile.mkstemp(prefix="kbnb-fakesnow-", suffix=".log")[1])
        with open(log, "wb") as err:
            process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "fakesnow"], cwd=TESTS,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True,
                                       env={**os.environ, "FAKESNOW_ETL_PASSWORD": password})

        def stop() -> None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.unlink(missing_ok=True)

        self._stops.append(stop)
        line, deadline = "-", time.monotonic() + START_TIMEOUT_S
        while line and not line.startswith("port "):  # the server's own chatter may come first
            waited = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))[0]
            line = process.stdout.readline() if waited and process.stdout else ""
        if not line:
            raise RuntimeError(f"the fakesnow server did not start within {START_TIMEOUT_S:.0f} s: "
                               f"{log.read_text(errors='replace')[-2000:]}")
        port = int(line.split()[1])
        self.env |= {"DAILY_REVENUE_SNOWFLAKE_URL":
                     f"snowflake://etl@127.0.0.1:{port}/CRM/CORE?warehouse={SNOWFLAKE_WAREHOUSE}",
                     "DAILY_REVENUE_SNOWFLAKE_PASSWORD": password}

    def _bigquery(self) -> None:
        from servers import BigQueryEmulator

        server = BigQueryEmulator.start(BIGQUERY_PROJECT)
        self._stops.append(server.stop)
        server.client().create_dataset("analytics")
        self.env |= {"DAILY_REVENUE_BIGQUERY_URL": f"bigquery://{BIGQUERY_PROJECT}/analytics",
                     "DAILY_REVENUE_BIGQUERY_KEY": json.dumps(_service_account_key()),
                     "BIGQUERY_EMULATOR_HOST": server.rest, "BIGQUERY_STORAGE_EMULATOR_HOST": server.grpc}

    def _smtp(self) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.handlers import Mailbox
        from servers import free_port

        folder = Path(tempfile.mkdtemp(prefix="kbnb-mail-"))
        self._stops.append(lambda: shutil.rmtree(folder, ignore_errors=True))
        port = free_port()
        controller = Controller(Mailbox(folder / "Maildir"), hostname="127.0.0.1", port=port)
        controller.start()
        self._stops.append(controller.stop)
        self.env |= {"DAILY_REVENUE_SMTP": f"127.0.0.1:{port}", "DAILY_REVENUE_MAILBOX": str(folder / "Maildir")}


def _service_account_key() -> dict[str, str]:
    """A service-account key of the emulator's project (the emulator takes anonymous credentials: it is never
    used to sign, but the connection keeps it as Keboola does, the private key by reference)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": BIGQUERY_PROJECT, "private_key_id": "nb1", "private_key": pem,
            "client_email": f"etl@{BIGQUERY_PROJECT}.iam.gserviceaccount.com", "client_id": "1",
            "token_uri": "https://oauth2.googleapis.com/token"}


def _is_ours(item: pytest.Item) -> bool:
    return Path(item.path).resolve() == NOTEBOOK


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item):  # type: ignore[no-untyped-def]
    """Before the notebook's first cell (whose setup starts the kernel): start the services and put their
    variables in the environment the kernel inherits; take them out again once it has started."""
    if not _is_ours(item) or _KEY in item.config.stash:
        yield
        return
    services = DailyRevenueServices()
    item.config.stash[_KEY] = services  # set before starting: a failed start is not retried for every cell
    item.config.add_cleanup(services.stop)
    services.start()
    with pytest.MonkeyPatch.context() as patch:  # restores the environment when the kernel has started
        for name, value in services.env.items():
            patch.setenv(name, value)
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):  # type: ignore[no-untyped-def]
    """After the notebook's last cell (and its kernel) is torn down, stop the services."""
    yield
    if _is_ours(item) and (nextitem is None or not _is_ours(nextitem)) and _KEY in item.config.stash:
        item.config.stash[_KEY].stop()


def _serve_fakesnow() -> None:
    """`python notebook_services.py fakesnow`: serve a seeded fakesnow until stdin closes or we are terminated."""
    import signal

    from fakesnow_server import FakeSnowServer

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = FakeSnowServer({"etl": os.environ["FAKESNOW_ETL_PASSWORD"]})
    server.execute(*SNOWFLAKE_SEED)
    print(f"port {server.port}", flush=True)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # nobody reads stdout any more: never block on a full pipe
    sys.stdin.read()
    server.stop()


if __name__ == "__main__" and sys.argv[1:] == ["fakesnow"]:
    sys.path.insert(0, str(TESTS))
    _serve_fakesnow()
