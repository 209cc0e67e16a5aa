"""Shared fixtures: small cobweb factories, and a throwaway PostgreSQL server."""

from __future__ import annotations

import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from hypothesis import settings

# CI derandomises the property tests so a green main stays green; locally they keep exploring
# (a case they find belongs in the test as an @example).
settings.register_profile("ci", derandomize=True, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

torch.set_num_threads(1)

# `adage run` defaults to a process pool on more than one CPU. The tests' runs are tiny, where
# starting a pool costs more than it saves, and crash tests inject faults into this process:
# they run serially unless a test asks for another executor (test_task_executors compares them).
os.environ.setdefault("ADAGE_EXECUTOR", "serial")

NEED_POSTGRES = os.environ.get("ADAGE_REQUIRE_POSTGRES") == "1"
"""Fail, rather than skip, the tests that need PostgreSQL when it is missing (CI sets it)."""


@pytest.fixture
def cobweb():
    from mesa_adage.examples.models.cobweb import CobwebModel

    return CobwebModel


@dataclass(frozen=True)
class Postgres:
    """A running PostgreSQL server on 127.0.0.1 whose user ``adage`` needs no password."""

    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://adage@127.0.0.1:{self.port}/{database}"

    def fresh_database(self, name: str) -> str:
        """Create an empty database named after ``name``; return its URL."""
        import psycopg

        database = re.sub(r"\W+", "_", name).lower()[:63]
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}"')
            connection.execute(f'CREATE DATABASE "{database}"')
        return self.url(database)


def postgres_programs() -> Path | None:
    """The folder of PostgreSQL's ``initdb`` and ``pg_ctl``: on PATH, or the newest installed."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    installed = [
        *Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),  # Debian, Ubuntu
        *Path("/usr").glob("pgsql-*/bin/pg_ctl"),  # Red Hat's PGDG packages
    ]
    found = [p.parent for p in installed if (p.parent / "initdb").exists()]
    return max(found, key=lambda at: int(re.sub(r"\D", "", at.parent.name) or 0), default=None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A throwaway PostgreSQL cluster for the session, stopped and deleted at its end.

    ``initdb`` refuses root, so as root the cluster runs as the ``postgres`` user. Without
    PostgreSQL the tests that use it skip, or fail when ADAGE_REQUIRE_POSTGRES=1.
    """
    programs = postgres_programs()
    as_user: list[str] = []
    owner = None
    problem = None if programs else "PostgreSQL is not installed (apt-get install postgresql)"
    if programs and os.geteuid() == 0:  # initdb refuses to run as root
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            problem = "running as root needs the 'postgres' user to run PostgreSQL as"
        runuser = shutil.which("runuser")
        as_user = [runuser, "-u", "postgres", "--"] if runuser else ["su", "postgres", "-c"]
    if problem:
        if NEED_POSTGRES:
            pytest.fail(f"{problem}; ADAGE_REQUIRE_POSTGRES=1 requires it")
        pytest.skip(problem)

    root = Path(tempfile.mkdtemp(prefix="adage-postgres-"))  # pytest's tmp is root's alone
    if owner is not None:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    data, log, port = root / "data", root / "server.log", free_port()

    def run(program: str, *args: str | Path) -> None:
        words = [str(programs / program), *map(str, args)]
        line = as_user + ([shlex.join(words)] if as_user[:1] == ["su"] else words)
        done = subprocess.run(line, capture_output=True, text=True)
        if done.returncode:
            server = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{shlex.join(words)} failed: {done.stderr}{server}")

    try:
        cluster = ["-U", "adage", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]
        run("initdb", "-D", data, *cluster)  # trust: it listens on 127.0.0.1 alone
        settings = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        run("pg_ctl", "-D", data, "-l", log, "-w", "-o", settings, "start")
        yield Postgres(port)
    finally:
        if (data / "postmaster.pid").exists():
            run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)
