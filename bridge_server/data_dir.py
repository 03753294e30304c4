"""One server per data dir: ``labwright serve`` holds an exclusive lock on ``<data dir>/labwright.lock``.

Two servers on one data dir would both hand out leases from the same SQLite file and both run
housekeeping on the same schedule; the second one to start exits with a clear message instead.
The lock is the kernel's (``flock``): it goes away with the process however that ends, and the
file is opened non-inheritable, so REPL and estimate workers never keep it alive.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from browser_runtime.errors import LabwrightError

LOCK_FILE = "labwright.lock"


class DataDirInUse(LabwrightError):
    """Another running server holds the data dir."""


def lock_data_dir(data_dir: Path) -> IO[str]:
    """The locked lock file (keep it open as long as the server runs), or :class:`DataDirInUse`."""
    import fcntl

    data_dir.mkdir(parents=True, exist_ok=True)
    handle = open(data_dir / LOCK_FILE, "a+", encoding="utf-8")  # noqa: SIM115 - held for the server's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise DataDirInUse(f"another labwright server (pid {holder}) is using the data dir {data_dir}; "
                           "stop it first, or pass another --data-dir") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle
