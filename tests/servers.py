"""Real PostgreSQL servers for tests and benchmarks, started from Debian's binaries on 127.0.0.1.

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
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
