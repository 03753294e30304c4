"""The page's REPL: one session in the worker, output streamed, Jedi completion and signatures.

The same ``ReplSession`` the bridge server runs per client. After a run, its machines, deck
and labware are put in scope under their parameter names (and ``deck``).
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from browser_runtime.repl.session import ReplSession

__all__ = ["execute", "complete", "signatures", "cancel", "scope"]

_session = ReplSession()
_running: asyncio.Task[Any] | None = None


def add_to_scope(names: dict[str, Any]) -> None:
    _session.namespace.update(names)


async def execute(code: str) -> dict[str, Any]:
    """Run one input (statements, top-level await); stdout/stderr are streamed on ``repl``."""
    global _running
    from browser_runtime.worker import emit

    def stream(name: str, text: str) -> None:
        emit("repl", {"stream": name, "text": text})

    _running = asyncio.ensure_future(_session.execute(code, on_output=stream))
    try:
        result = await _running
    except asyncio.CancelledError:
        return {"output": "", "result": None,
                "error": {"type": "KeyboardInterrupt", "message": "interrupted",
                          "traceback": "KeyboardInterrupt: interrupted\n"}}
    finally:
        _running = None
    return result.to_json()


def cancel() -> dict[str, Any]:
    """Interrupt a statement waiting at an ``await`` (busy Python is interrupted by the page)."""
    if _running is not None and not _running.done():
        _running.cancel()
        return {"cancelled": True}
    return {"cancelled": False}


def complete(code: str, line: int | None = None, column: int | None = None) -> list[dict[str, Any]]:
    return [dataclasses.asdict(c) for c in _session.complete(code, line, column, limit=100)]


def signatures(code: str, line: int | None = None, column: int | None = None) -> list[dict[str, Any]]:
    return [dataclasses.asdict(s) for s in _session.signatures(code, line, column)]


def scope() -> list[str]:
    return sorted(name for name in _session.namespace if not name.startswith("__"))
