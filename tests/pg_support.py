"""A real PostgreSQL server for the history tests, started from Debian's binaries.

`postgres_server` (session scope) runs `initdb` and `pg_ctl` from /usr/lib/postgresql/*/bin
(`apt-get install postgresql`; `.ci/run` installs it) on a temporary data directory, listening
on a free 127.0.0.1 port with password authentication. PostgreSQL refuses to run as root, so
under root the server runs as the `postgres` system user. `postgres_url` gives each test a
database of its own.

Test modules import both fixtures:
`from tests.pg_support import postgres_server, postgres_url`.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import psycopg
import pytest

SUPERUSER = "azaudit"
PASSWORD = "pg-test-secret"  # a throwaway server's password, not a credential
_databases = count(1)


@dataclass(frozen=True)
class PostgresServer:
    """A running server: where it listens and how to log in."""

    host: str
    port: int
    user: str
    password: str

    def url(self, database: str, password: str | None = None) -> str:
        """A `postgresql://` URL for `database` (with the right password unless given)."""
        secret = self.password if password is None else password
        return f"postgresql://{self.user}:{secret}@{self.host}:{self.port}/{database}"

    def admin(self) -> psycopg.Connection[Any]:
        """An autocommit connection to the maintenance database."""
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname="postgres",
            autocommit=True,
        )


def _binaries() -> Path:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not found:
        pytest.fail(
            "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin: "
            "apt-get install postgresql"
        )
    return found[-1].parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _runner() -> dict[str, Any]:
    """subprocess arguments that run the server as a non-root user."""
    if os.geteuid() != 0:
        return {}
    account = pwd.getpwnam("postgres")
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Start a PostgreSQL server for the test session and stop it afterwards."""
    bin_dir = _binaries()
    run_as = _runner()
    base = Path(tempfile.mkdtemp(prefix="azaudit-pg-"))
    data = base / "data"
    pwfile = base / "pwfile"
    pwfile.write_text(PASSWORD + "\n", encoding="utf-8")
    if run_as:
        for path in (base, pwfile):
            os.chown(path, run_as["user"], run_as["group"])
    port = _free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}
    started = False
    try:
        subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D", str(data),
                "-U", SUPERUSER,
                "--pwfile", str(pwfile),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E", "UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            env=env,
            cwd=base,
            **run_as,
        )  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={base} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            [
                str(bin_dir / "pg_ctl"),
                "-D", str(data),
                "-o", options,
                "-l", str(base / "server.log"),
                "-w",
                "-t", "60",
                "start",
            ],
            check=True,
            capture_output=True,
            env=env,
            cwd=base,
            **run_as,
        )  # fmt: skip
        started = True
        yield PostgresServer("127.0.0.1", port, SUPERUSER, PASSWORD)
    finally:
        if started:
            subprocess.run(
                [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                check=False,
                capture_output=True,
                env=env,
                cwd=base,
                **run_as,
            )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on the session's server, dropped after the test."""
    name = f"azaudit_test_{os.getpid()}_{next(_databases)}"
    with postgres_server.admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield postgres_server.url(name)
    with postgres_server.admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
