"""A real PostgreSQL for tests and benchmarks: Debian's server binaries, a cluster in a scratch dir.

``python -m tests.postgres start DIR`` initialises a cluster in DIR (as the unprivileged
``postgres`` user when run as root: PostgreSQL refuses to run as root), starts it on a free
loopback port with its socket in DIR, creates the ``labwright`` database and prints its URL;
``python -m tests.postgres stop DIR`` stops it. ``scripts/run-tests`` does both around the
suite and exports the URL as ``LABWRIGHT_TEST_POSTGRES``; without it, the tests start their own
cluster (``cluster()``), and say why they skip when there is no PostgreSQL to start.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.serving import free_port

ENV = "LABWRIGHT_TEST_POSTGRES"
USER = "labwright"
DATABASE = "labwright"


class NoPostgres(RuntimeError):
    """No PostgreSQL server can be started here (the reason says why)."""


def binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise NoPostgres("Debian's PostgreSQL server is not installed (apt-get install postgresql; "
                         "scripts/run-tests does it)")
    return Path(found[-1]).parent


def _as_owner(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a server binary as ``postgres`` when we are root (PostgreSQL refuses root)."""
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)


def start(directory: Path) -> str:
    """Initialise and start a cluster in ``directory``; the URL of its ``labwright`` database."""
    bin_dir = binaries()
    directory.mkdir(parents=True, exist_ok=True)
    data = directory / "data"
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise NoPostgres("running as root and there is no 'postgres' user to run the server as") from None
        os.chmod(directory, 0o755)
        os.chown(directory, owner.pw_uid, owner.pw_gid)
    port = free_port()
    try:
        _as_owner([str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "--locale=C",
                   "--encoding=UTF8", "--no-sync"])
        # fsync stays on: a test kills servers with -9 and checks nothing acknowledged is lost.
        options = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={directory} "
                   "-c max_connections=200 -c shared_buffers=64MB")
        _as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(directory / "server.log"),
                   "-o", options, "-w", "-t", "60", "start"])
        _as_owner([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", USER, DATABASE])
    except subprocess.CalledProcessError as error:
        log = directory / "server.log"
        raise NoPostgres(f"PostgreSQL did not start: {error.stderr.strip() or error}\n"
                         f"{log.read_text() if log.exists() else ''}") from None
    (directory / "url").write_text(url(port))
    return url(port)


def url(port: int, database: str = DATABASE) -> str:
    return f"postgresql://{USER}@127.0.0.1:{port}/{database}"


def stop(directory: Path) -> None:
    data = directory / "data"
    if (data / "postmaster.pid").exists():
        _as_owner([str(binaries() / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])


@contextmanager
def cluster() -> Iterator[str]:
    """The suite's PostgreSQL: the one scripts/run-tests started, else one of our own."""
    if os.environ.get(ENV):
        yield os.environ[ENV]
        return
    import tempfile

    directory = Path(tempfile.mkdtemp(prefix="labwright-pg-"))
    try:
        yield start(directory)
    finally:
        try:
            stop(directory)
        finally:
            shutil.rmtree(directory, ignore_errors=True)


def fresh_database(base_url: str, name: str) -> str:
    """A new empty database on the cluster of ``base_url`` (each server test gets its own)."""
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    head, _, _ = base_url.rpartition("/")
    return f"{head}/{name}"


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: python -m tests.postgres start|stop DIR", file=sys.stderr)
        return 2
    directory = Path(argv[1])
    try:
        if argv[0] == "start":
            print(start(directory))
        else:
            stop(directory)
    except NoPostgres as error:
        print(f"postgres: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
