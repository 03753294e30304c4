"""Area ``repl``: the page's console (one namespace, shared with ``runPython``), streamed output,
Jedi completion and signatures. After a run its machines, deck and labware are in scope; the deck
in scope is followed (``page/live_deck.py``), so what an input changes on it is drawn on channel
``deck``."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from browser_runtime.page.session import PageSession

__all__ = ["execute", "complete", "signatures", "cancel", "scope"]


async def execute(session: PageSession, code: str) -> dict[str, Any]:
    """Run one input (statements, top-level await); stdout/stderr are streamed on channel ``repl``."""
    console = session.console

    def stream(name: str, text: str) -> None:
        session.emit("repl", {"stream": name, "text": text})

    console.running = asyncio.ensure_future(console.session.execute(code, on_output=stream))
    try:
        result = await console.running
    except asyncio.CancelledError:
        return {"output": "", "result": None,
                "error": {"type": "KeyboardInterrupt", "message": "interrupted",
                          "traceback": "KeyboardInterrupt: interrupted\n"}}
    finally:
        console.running = None
        if console.live is not None:  # what the input changed on the deck in scope, drawn
            console.live.follow_scope(console.session.namespace)
            console.live.flush()
    return result.to_json()


def cancel(session: PageSession) -> dict[str, Any]:
    """Interrupt a statement waiting at an ``await`` (busy Python is interrupted by the page)."""
    running = session.console.running
    if running is not None and not running.done():
        running.cancel()
        return {"cancelled": True}
    return {"cancelled": False}


def complete(session: PageSession, code: str, line: int | None = None, column: int | None = None) -> list[dict[str, Any]]:
    return [dataclasses.asdict(c) for c in session.console.session.complete(code, line, column, limit=100)]


def signatures(session: PageSession, code: str, line: int | None = None, column: int | None = None) -> list[dict[str, Any]]:
    return [dataclasses.asdict(s) for s in session.console.session.signatures(code, line, column)]


def scope(session: PageSession) -> list[str]:
    return sorted(name for name in session.console.session.namespace if not name.startswith("__"))
