"""``WS /api/v1/ws/changes``: every change to the lab's shared state, pushed to the page as it happens.

After the usual WebSocket authentication (``{type: "ready"}``) the server sends
``{type: "changes", versions: {topic: n}}`` and then ``{type: "changed", topic, version, ...}``
for each change: ``schedule`` (with its ``revision``), ``inventory``, ``leases``, ``devices``,
``nodes``. They come from every server of the lab (PostgreSQL's ``LISTEN/NOTIFY``) or from this
one (SQLite); a page reloads what a topic names instead of polling. ``reconnected: true`` says
the server lost the database for a while: reload everything.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from bridge_server.routes.common import bridge_of
from bridge_server.security import authenticate_websocket

PATH = "/api/v1/ws/changes"


async def changes_socket(websocket: WebSocket) -> None:
    client = await authenticate_websocket(websocket)
    if client is None:
        return
    hub = bridge_of(websocket).database.hub
    async with hub.subscribe() as queue:
        await websocket.send_json({"type": "changes", "versions": dict(hub.versions)})

        async def pump() -> None:
            while True:
                await websocket.send_json(await queue.get())

        sender = asyncio.create_task(pump())
        try:
            while True:  # the page says nothing; this notices it leaving
                await websocket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            sender.cancel()
            with contextlib.suppress(BaseException):
                await sender


ROUTES = [
    WebSocketRoute(PATH, changes_socket),
]
