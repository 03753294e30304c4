"""Start `labwright serve` as a real process on a free loopback port, for tests and benches."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
LABWRIGHT = Path(sys.executable).parent / "labwright"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


#: Where test servers keep LibCST's parse cache, so only the first cold catalog build is slow.
CATALOG_CACHE = ROOT / "build" / "test-catalog-cache"


def server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a test server: mDNS on loopback only (tests never multicast on a LAN)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("LABWRIGHT_MDNS_INTERFACES", "127.0.0.1")
    env.setdefault("LABWRIGHT_CATALOG_CACHE", str(CATALOG_CACHE))
    env.update(extra or {})
    return env


@contextmanager
def running_server(port: int | None = None, timeout: float = 30.0, env: dict[str, str] | None = None,
                   args: tuple[str, ...] = (), on_start: Callable[[subprocess.Popen], None] | None = None
                   ) -> Iterator[str]:
    """``labwright serve`` on a free port; ``env``/``args`` add settings (LABWRIGHT_TOKEN, ...);
    ``on_start`` gets the process (a test that kills it with -9)."""
    port = port or free_port()
    env = dict(env or {})
    scratch = None
    if "LABWRIGHT_DATA_DIR" not in env:
        # Never the user's own data dir, and one per server: a data dir takes one server at a time.
        scratch = tempfile.mkdtemp(prefix="labwright-data-")
        env["LABWRIGHT_DATA_DIR"] = scratch
    process = subprocess.Popen(
        [str(LABWRIGHT), "serve", "--port", str(port), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=server_env(env),
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(url + "api/v1/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()  # a live process never ends its output: reading it would hang
                    output = process.stdout.read() if process.stdout else ""
                    raise RuntimeError(f"labwright serve did not answer on {url}:\n{output}")
                time.sleep(0.05)
        if on_start is not None:
            on_start(process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
