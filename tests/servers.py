"""Real PostgreSQL and MariaDB servers for tests and benchmarks, started from Debian's binaries on 127.0.0.1.

initdb and postgres refuse to run as root, so as root they run as the `postgres` OS user that
Debian's package creates.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers, to make a client time out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    accepted: list[tuple[socket.socket, object]] = []  # held so the accepted socket is not closed by GC
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        for conn, _ in accepted:
            conn.close()


def run_killing(run: Callable[[], T], kill: Callable[[], bool], interval: float, seconds: float = 20) -> T:
    """Return `run()` while another thread calls `kill` every `interval` s until it reports a kill or time is up."""

    def killer() -> None:
        deadline = time.time() + seconds
        while time.time() < deadline and not kill():
            time.sleep(interval)

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        return run()
    finally:
        thread.join()


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL server binaries not found: apt-get install postgresql")


@dataclass
class PostgresServer:
    """A throw-away cluster: superuser `postgres` with `password` over TCP, trust on its own socket."""

    port: int
    password: str
    folder: Path

    @classmethod
    def start(cls, password: str, settings: dict[str, str] | None = None) -> "PostgresServer":
        bin_dir = postgres_bin()
        folder = Path(tempfile.mkdtemp(prefix="kbnb-pg-"))
        as_postgres = os.geteuid() == 0
        pwfile = folder / "pw"
        pwfile.write_text(password)
        if as_postgres:
            shutil.chown(folder, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        port = free_port()
        run = ["runuser", "-u", "postgres", "--"] if as_postgres else []
        subprocess.run(
            [*run, str(bin_dir / "initdb"), "-D", str(folder / "data"), "-U", "postgres", "--auth-local=trust",
             "--auth-host=scram-sha-256", f"--pwfile={pwfile}", "--encoding=UTF8", "--locale=C.UTF-8", "-N"],
            check=True, stdout=subprocess.DEVNULL,
        )
        options = {"listen_addresses": "127.0.0.1", "port": str(port), "unix_socket_directories": str(folder),
                   "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", **(settings or {})}
        opts = " ".join(f"-c {k}={v}" for k, v in options.items())
        subprocess.run(
            [*run, str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-l", str(folder / "log"), "-w", "-t", "60",
             "start", "-o", opts],
            check=True, stdout=subprocess.DEVNULL,
        )
        return cls(port, password, folder)

    def url(self, database: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres"):  # type: ignore[no-untyped-def]
        import psycopg

        return psycopg.connect(host=str(self.folder), port=self.port, user="postgres", dbname=database, autocommit=True)

    def execute(self, sql: str, database: str = "postgres") -> None:
        with self.connect(database) as conn:
            conn.execute(sql)

    def stop(self) -> None:
        run = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*run, str(postgres_bin() / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate",
                        "-w", "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class MariaDbServer:
    """A throw-away MariaDB (Debian's MySQL): root without a password on its own socket and over TCP."""

    port: int
    folder: Path
    process: subprocess.Popen

    @classmethod
    def start(cls) -> "MariaDbServer":
        if not shutil.which("mariadbd"):
            raise RuntimeError("MariaDB server binaries not found: apt-get install mariadb-server")
        folder = Path(tempfile.mkdtemp(prefix="kbnb-my-"))
        # As root mariadbd refuses to start unless told which user to run as; --no-defaults keeps /etc/mysql out.
        user = ["--user=root"] if os.geteuid() == 0 else []
        subprocess.run(
            ["mariadb-install-db", "--no-defaults", f"--datadir={folder / 'data'}", *user,
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        port = free_port()
        with open(folder / "stdout.log", "wb") as log:
            process = subprocess.Popen(
                ["mariadbd", "--no-defaults", f"--datadir={folder / 'data'}", *user, "--bind-address=127.0.0.1",
                 f"--port={port}", f"--socket={folder / 'mysql.sock'}", f"--pid-file={folder / 'mysqld.pid'}",
                 f"--log-error={folder / 'error.log'}", f"--tmpdir={folder}", "--skip-name-resolve",
                 "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0", "--character-set-server=utf8mb4",
                 "--collation-server=utf8mb4_general_ci"],
                stdout=log, stderr=subprocess.STDOUT,
            )
        server = cls(port, folder, process)
        deadline = time.monotonic() + 60
        while server._admin("ping").returncode != 0:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"mariadbd did not start: {(folder / 'error.log').read_text()[-2000:]}")
            time.sleep(0.1)
        return server

    def _admin(self, *command: str) -> subprocess.CompletedProcess:
        return subprocess.run(["mariadb-admin", "--no-defaults", f"--socket={self.folder / 'mysql.sock'}", "-uroot",
                               *command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def url(self, database: str = "mysql", user: str = "root") -> str:
        return f"mysql://{user}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str | None = None):  # type: ignore[no-untyped-def]
        import pymysql

        return pymysql.connect(unix_socket=str(self.folder / "mysql.sock"), user="root", database=database,
                               charset="utf8mb4", autocommit=True)

    def execute(self, sql: str, database: str | None = None) -> None:
        """Run `;`-separated statements (no `;` inside literals)."""
        with self.connect(database) as conn, conn.cursor() as cur:
            for statement in sql.split(";"):
                if statement.strip():
                    cur.execute(statement)

    def stop(self) -> None:
        if self.process.poll() is None:
            self._admin("shutdown")
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class BigQueryEmulator:
    """bqemulator (BigQuery REST + Storage Read gRPC on DuckDB), run from its own virtual environment:
    it pins DuckDB and sqlglot versions that conflict with ours (scripts/test creates .venv-bqemulator)."""

    rest_port: int
    grpc_port: int
    project: str
    process: subprocess.Popen
    log: Path

    @classmethod
    def start(cls, project: str = "test-proj") -> "BigQueryEmulator":
        binary = Path(os.environ.get("BQEMULATOR") or Path(__file__).parent.parent / ".venv-bqemulator/bin/bqemulator")
        if not binary.exists():
            raise RuntimeError(f"bqemulator not found at {binary}: run scripts/test, which creates .venv-bqemulator")
        rest, grpc = free_port(), free_port()
        log = Path(tempfile.mkstemp(prefix="kbnb-bq-", suffix=".log")[1])
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [str(binary), "start", "--rest-host", "127.0.0.1", "--rest-port", str(rest), "--grpc-host",
                 "127.0.0.1", "--grpc-port", str(grpc), "--project", project, "--log-level", "warning"],
                stdout=out, stderr=subprocess.STDOUT)
        server = cls(rest, grpc, project, process, log)
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", rest), timeout=1), \
                        socket.create_connection(("127.0.0.1", grpc), timeout=1):
                    return server
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    server.stop()
                    raise RuntimeError(f"bqemulator did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.1)

    @property
    def rest(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    @property
    def grpc(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def client(self):  # type: ignore[no-untyped-def]
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        return bigquery.Client(project=self.project, credentials=AnonymousCredentials(),
                               client_options={"api_endpoint": self.rest})

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.unlink(missing_ok=True)
