"""Exact geometry: call resource factories in a child process with sockets blocked and each call bounded.

CPython only (Pyodide has no processes); everything that needs ``subprocess`` is imported lazily.
The child half of this file runs as a script and imports only the stdlib and the sources it is told.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def measure(
    tasks: list[dict],
    sys_path: list[str],
    serialized_dir: Path | None = None,
    timeout: float = 10.0,
    jobs: int = 2,
) -> tuple[dict[str, dict], list[dict]]:
    """Call each task's factory once; returns (fqn -> result, socket attempts seen).

    A task is ``{"fqn", "module", "name"}``; the factory is called as ``f(name=<name>)`` when
    ``"needs_name"`` is true, else with no arguments (deck factories). A result holds ``size``,
    ``geometry`` and ``serialized`` (a path relative to ``serialized_dir.parent``), or ``error``.
    """
    import subprocess

    if not tasks:
        return {}, []
    chunks = [tasks[i::jobs] for i in range(max(1, jobs))]
    results: dict[str, dict] = {}
    attempts: list[dict] = []
    pending = [c for c in chunks if c]
    while pending:
        running = []
        for chunk in pending:
            payload = json.dumps(
                {
                    "sys_path": sys_path,
                    "tasks": chunk,
                    "timeout": timeout,
                    "serialized_dir": str(serialized_dir) if serialized_dir else None,
                }
            )
            process = subprocess.Popen(
                [sys.executable, "-X", "utf8", str(Path(__file__).resolve())],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            running.append((chunk, process, payload))
        pending = []
        for chunk, process, payload in running:
            # A child that ignores its per-call alarm (a hang in C code) is killed at this deadline.
            try:
                out, _ = process.communicate(
                    payload.encode(), timeout=timeout * (len(chunk) + 3) + 30
                )
            except subprocess.TimeoutExpired:
                process.kill()
                out, _ = process.communicate()
            for line in out.decode("utf-8", "replace").splitlines():
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if "fqn" in message:
                    results[message["fqn"]] = message
                attempts.extend(message.get("socket_attempts", []))
            remaining = [t for t in chunk if t["fqn"] not in results]
            if remaining:
                # The child died or hung on the first unanswered task: record it and go on with the rest.
                results[remaining[0]["fqn"]] = {
                    "fqn": remaining[0]["fqn"],
                    "error": "the factory hung or crashed the build process",
                }
                if remaining[1:]:
                    pending.append(remaining[1:])
    return results, attempts


# ---- child process -----------------------------------------------------------------------------


def _block_sockets(attempts: list[dict]) -> None:
    """Make every way of opening a socket fail loudly and leave a record of who tried."""
    import socket

    def refuse(what: str):
        def blocked(*args, **kwargs):
            attempts.append({"call": what, "args": repr(args)[:200]})
            raise OSError(f"network access is blocked during the catalog build ({what})")

        return blocked

    class BlockedSocket(socket.socket):
        def __init__(self, *args, **kwargs):
            refuse("socket.socket")(*args, **kwargs)

    socket.socket = BlockedSocket  # type: ignore[misc]
    for name in (
        "create_connection",
        "getaddrinfo",
        "gethostbyname",
        "socketpair",
        "create_server",
        "fromfd",
    ):
        if hasattr(socket, name):
            setattr(socket, name, refuse(f"socket.{name}"))


def _plain(value: Any) -> Any:
    value = getattr(value, "value", value)  # enums to their value
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)


def _describe(resource: Any) -> tuple[dict, dict]:
    size = {"x": resource.get_size_x(), "y": resource.get_size_y(), "z": resource.get_size_z()}
    cls = type(resource)
    geometry: dict[str, Any] = {
        "resource_class": f"{cls.__module__}.{cls.__qualname__}",
        "mro": [f"{c.__module__}.{c.__qualname__}" for c in cls.__mro__],
        "model": _plain(getattr(resource, "model", None)),
    }
    if hasattr(resource, "num_items_x"):
        geometry["num_items_x"] = resource.num_items_x
        geometry["num_items_y"] = resource.num_items_y
        item = resource.get_item(0) if resource.num_items else None
        if item is not None:
            geometry["item_size"] = {
                "x": item.get_size_x(),
                "y": item.get_size_y(),
                "z": item.get_size_z(),
            }
            for key in ("max_volume", "bottom_type", "cross_section_type"):
                if hasattr(item, key):
                    geometry[key] = _plain(getattr(item, key))
            if hasattr(item, "make_tip"):
                try:
                    tip = item.make_tip()
                except TypeError:
                    tip = item.make_tip(f"{resource.name}_tip")
                geometry["tip_max_volume"] = tip.maximal_volume
                geometry["tip_length"] = tip.total_tip_length
                geometry["tip_has_filter"] = tip.has_filter
    for key in ("plate_type", "max_volume", "num_rails"):
        if hasattr(resource, key) and key not in geometry:
            geometry[key] = _plain(getattr(resource, key))
    if hasattr(resource, "slot_locations"):
        geometry["slots"] = [{"x": c.x, "y": c.y, "z": c.z} for c in resource.slot_locations]
    return size, geometry


def _child_main() -> None:
    import importlib
    import signal
    import warnings

    attempts: list[dict] = []
    _block_sockets(attempts)
    request = json.loads(sys.stdin.read())
    protocol = sys.stdout
    sys.stdout = sys.stderr  # factories that print must not corrupt the result stream
    for entry in reversed(request["sys_path"]):
        sys.path.insert(0, entry)
    serialized_dir = Path(request["serialized_dir"]) if request["serialized_dir"] else None
    timeout = float(request["timeout"])

    def on_alarm(signum, frame):
        raise TimeoutError(f"did not return within {timeout:g} s")

    signal.signal(signal.SIGALRM, on_alarm)
    warnings.simplefilter("ignore")
    for task in request["tasks"]:
        before = len(attempts)
        result: dict[str, Any] = {"fqn": task["fqn"]}
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            module = importlib.import_module(task["module"])
            factory = getattr(module, task["name"])
            resource = factory(name=task["name"]) if task.get("needs_name", True) else factory()
            result["size"], result["geometry"] = _describe(resource)
            if serialized_dir is not None:
                serialized_dir.mkdir(parents=True, exist_ok=True)
                path = serialized_dir / f"{task['fqn']}.json"
                path.write_text(json.dumps(resource.serialize(), default=str), encoding="utf-8")
                result["serialized"] = f"{serialized_dir.name}/{path.name}"
        except BaseException as exc:  # noqa: BLE001 - one bad factory must never stop the build
            result["error"] = f"{type(exc).__name__}: {exc}"[:500]
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        result["socket_attempts"] = attempts[before:]
        protocol.write(json.dumps(result, default=str) + "\n")
        protocol.flush()


if __name__ == "__main__":
    _child_main()
