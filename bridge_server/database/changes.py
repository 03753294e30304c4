"""Change notifications: what changed in the lab's shared state, pushed to every open page.

A change is a topic (``schedule``, ``inventory``, ``leases``, ``devices``, ``nodes``) with a
counter per server that only grows, so a page can tell a new change from one it has seen. On
SQLite every writer is this process: a commit publishes in-process. On PostgreSQL a commit
sends ``NOTIFY labwright`` (inside the writing transaction, so it is delivered exactly when
the write is visible) and every server, this one included, hears it through one ``LISTEN``
connection and publishes it to its pages. When that connection is lost, every topic is
published once it is back: a page may have missed something and reloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

log = logging.getLogger("labwright")

CHANNEL = "labwright"
TOPICS = ("schedule", "inventory", "leases", "devices", "nodes")


class ChangeHub:
    """In-process fan-out of changes to subscribers (page WebSockets); thread-safe publishing."""

    def __init__(self) -> None:
        self.versions: dict[str, int] = dict.fromkeys(TOPICS, 0)
        self._queues: set[asyncio.Queue[dict[str, Any]]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def publish(self, topic: str, **detail: Any) -> None:
        """Record a change; callable from any thread (a worker thread's commit, the listener)."""
        loop = self._loop
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._deliver(topic, detail)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._deliver, topic, detail)

    def _deliver(self, topic: str, detail: dict[str, Any]) -> None:
        if topic not in self.versions:
            return
        self.versions[topic] += 1
        message = {"type": "changed", "topic": topic, "version": self.versions[topic], **detail}
        for queue in list(self._queues):
            queue.put_nowait(message)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)


def payload(topic: str, **detail: Any) -> str:
    return json.dumps({"topic": topic, **detail}, separators=(",", ":"))


async def listen(conninfo: str, hub: ChangeHub, ready: Callable[[], None] | None = None) -> None:
    """``LISTEN labwright`` until cancelled, reconnecting (with every topic re-published) on loss."""
    import psycopg

    delay = 0.2
    first = True
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as connection:
                await connection.execute(f"LISTEN {CHANNEL}")
                delay = 0.2
                if first:
                    first = False
                    if ready is not None:
                        ready()
                else:  # reconnected: whatever happened meanwhile was not heard
                    for topic in TOPICS:
                        hub.publish(topic, reconnected=True)
                async for notice in connection.notifies():
                    try:
                        message = json.loads(notice.payload)
                        topic = message.pop("topic")
                    except (ValueError, KeyError, AttributeError):
                        log.warning("ignoring a malformed notification %r", notice.payload)
                        continue
                    hub.publish(topic, **message)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - the database went away: retry, say so once
            log.warning("change notifications: %s; reconnecting in %.1f s", error, delay)
            if first and ready is not None:
                first = False
                ready()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
