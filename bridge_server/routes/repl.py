"""The REPL: a Python session per client in its own process, with the machines of the devices it
holds in scope; ``POST /repl`` for one statement, ``WS /ws/repl`` for streaming, completion,
signatures and interrupts. A session belongs to its client (see ``bridge_server.repl_host``)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from bridge_server import schemas
from bridge_server.bridge import Bridge
from bridge_server.errors import ApiError
from bridge_server.repl_host import ReplProcess, SessionsFull
from bridge_server.routes.common import HARDWARE, body, bridge_of
from bridge_server.security import authenticate_websocket, client_id, require_token
from bridge_server.store import Lease


async def _machines_for(bridge: Bridge, client: str) -> dict[str, dict[str, Any]]:
    """What the client's session should have attached: a machine per device it holds a lease on."""
    snapshot = await bridge.catalog.get()
    catalog = str(await bridge.catalog.file())
    wanted = {}
    for lease in await bridge.store.leases(client):
        if lease.node != bridge.settings.node:
            continue  # a device of another lab PC: its IO is there, not in this PC's session
        entry = snapshot.catalog.get(lease.backend or "") or {}
        wanted[lease.device_id] = {
            "backend": lease.backend, "config": lease.config, "simulator": bool(entry.get("simulator")),
            "name": lease.device_id.rpartition(".")[2].rpartition(":")[2] or "machine",
            "catalog": catalog,
        }
    return wanted


async def _session_for(bridge: Bridge, client: str) -> tuple[ReplProcess, dict[str, str]]:
    try:
        session = await bridge.sessions.get(client)
    except SessionsFull as error:
        raise ApiError(503, str(error), kind="repl-sessions-full", headers={"Retry-After": "10"},
                       limit=bridge.sessions.limits.sessions) from None
    errors = await session.sync_machines(await _machines_for(bridge, client))
    return session, errors


async def repl(request: Request) -> JSONResponse:
    require_token(request)
    client = client_id(request)
    request_body = await body(request, schemas.REPL)
    bridge = bridge_of(request)
    lease: Lease | None = await bridge.store.lease(request_body["device_id"])
    device_id = request_body["device_id"]
    if lease is None:
        raise ApiError(404, f"no connection to {device_id}: connect first", kind="not-connected")
    if lease.client_id != client:
        # A device's session is its lease holder's: nobody else reads or changes its namespace.
        raise ApiError(403, f"the REPL session of {device_id} belongs to client "
                            f"{lease.client_id!r}, which holds its lease", kind="not-your-session")
    session, errors = await _session_for(bridge, client)
    if device_id in errors:
        return JSONResponse({"output": "", "result": None,
                             "error": {"type": "MachineError", "message": errors[device_id],
                                       "traceback": errors[device_id]}})
    return JSONResponse(await session.execute(request_body["code"]))


async def repl_socket(websocket: WebSocket) -> None:
    client = await authenticate_websocket(websocket)
    if client is None:
        return
    bridge = bridge_of(websocket)
    if bridge.sessions.sockets.get(client):
        # One socket per session: a second one claiming a live session's client id is refused,
        # so it can neither read that session nor end it by closing.
        await websocket.send_json({"type": "error", "status": 409, "kind": "session-in-use",
                                   "detail": f"client {client!r} already has a REPL socket open; "
                                             "one socket per client"})
        await websocket.close(code=4409, reason="session in use")
        return
    bridge.sessions.sockets[client] = 1
    running: set[asyncio.Task[None]] = set()
    send_lock = asyncio.Lock()

    async def send(message: dict[str, Any]) -> None:
        async with send_lock:
            await websocket.send_json(message)

    async def refused(ident: Any, error: ApiError) -> None:
        await send({"type": "error", "id": ident, "status": error.status, "kind": error.kind,
                    "detail": error.detail})

    async def execute(ident: Any, code: str) -> None:
        try:
            session, errors = await _session_for(bridge, client)
        except ApiError as error:
            await refused(ident, error)
            return
        for device_id, error in errors.items():
            await send({"type": "stream", "id": ident, "name": "stderr",
                        "text": f"could not set up {device_id}: {error}\n"})
        result = await session.execute(code, on_event=lambda event: send(
            {"type": "stream", "id": ident, "name": event["name"], "text": event["text"]}))
        await send({"type": "result", "id": ident, **result})

    try:
        while True:
            try:
                message = json.loads(await websocket.receive_text())
                kind = message.get("type") if isinstance(message, dict) else None
            except ValueError:
                await send({"type": "error", "detail": "messages are JSON objects"})
                continue
            ident = message.get("id") if isinstance(message, dict) else None
            if kind == "execute" and isinstance(message.get("code"), str):
                task = asyncio.create_task(execute(ident, message["code"]))
                running.add(task)
                task.add_done_callback(running.discard)
            elif kind in ("complete", "signatures") and isinstance(message.get("code"), str):
                try:
                    session, _ = await _session_for(bridge, client)
                except ApiError as error:
                    await refused(ident, error)
                    continue
                line, column = message.get("line"), message.get("column")
                reply = await session.complete(message["code"], line if isinstance(line, int) else None,
                                               column if isinstance(column, int) else None, kind)
                reply.pop("event", None)
                await send({"type": "completions" if kind == "complete" else "signatures", **reply,
                            "id": ident})
            elif kind == "interrupt":
                session = bridge.sessions.sessions.get(client)
                await send({"type": "interrupted", "id": ident,
                            "ok": bool(session and session.interrupt())})
            else:
                await send({"type": "error", "id": ident,
                            "detail": "expected type execute|complete|signatures|interrupt"})
    except WebSocketDisconnect:
        pass
    finally:
        for task in running:
            task.cancel()
        bridge.sessions.sockets.pop(client, None)
        if not await bridge.store.leases(client):
            # A session held by a lease is the device's; it ends with the lease, not a socket.
            await bridge.sessions.close(client)


ROUTES = [
    Route(f"{HARDWARE}/repl", repl, methods=["POST"]),
    WebSocketRoute(f"{HARDWARE}/ws/repl", repl_socket),
]
