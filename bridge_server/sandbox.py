"""What user code on the lab PC runs under: a process of its own, in its own process group,
with an address-space limit and a CPU-time backstop; the parent ends the whole group.

Used by both places that run code a page sent: the REPL workers and the scheduler's estimate
workers. This is a resource fence, not a security sandbox: the code still runs as the server's
user and can read and write what that user can (see the README's security section).
"""

from __future__ import annotations

import os
import resource
import signal
import sys
from typing import IO

#: glibc gives each thread its own 64 MiB malloc arena of address space; capped, so an
#: address-space limit measures what the code allocates rather than how many threads it has.
_ENV = {"PYTHONUNBUFFERED": "1", "MALLOC_ARENA_MAX": "2"}


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a worker process."""
    return {**os.environ, **_ENV, **extra}


def private_channel() -> IO[str]:
    """The worker's line channel to its parent: a copy of fd 1 kept for the protocol.

    fd 1 and ``sys.stdout`` are pointed at /dev/null, so user code that prints, or a C library
    that writes to fd 1, cannot corrupt the JSON lines the parent reads.
    """
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    return channel


def limit_memory(limit_bytes: int) -> None:
    """Cap the process's address space (soft and hard, so the code cannot raise it again)."""
    if limit_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))


def limit_cpu(seconds: float) -> None:
    """A CPU-time backstop ``seconds`` beyond what the process used so far (SIGXCPU, then
    SIGKILL at the hard limit); the parent's wall-clock limit normally acts first."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = used.ru_utime + used.ru_stime
    soft = int(spent + seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 2))


def kill_group(pid: int | None) -> None:
    """SIGKILL every process in the group ``pid`` leads (the worker and whatever it started).

    Workers are started with ``start_new_session=True``, so the group is the worker's own;
    children that left it on purpose (``setsid``) are out of reach.
    """
    if pid is None or pid <= 0:
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def describe_exit(returncode: int | None) -> str:
    """How a worker ended, in words: 'exit code 7', 'signal SIGKILL'."""
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"
