"""Hardware discovery: serial ports, simulators and mDNS instruments, and the live network list.

Every device names the lab PC it is attached to (``node``, and ``node_url`` where that PC's server
is reached); with several servers on one database, the serial devices of the lab's other live
PCs are listed too.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from bridge_server.errors import ApiError
from bridge_server.routes.common import HARDWARE, bridge_of
from bridge_server.security import authenticate_websocket, require_token


def _timeout(request: Request) -> float:
    raw = request.query_params.get("timeout", "2")
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(422, f"timeout must be a number of seconds, not {raw!r}", kind="validation") from None
    if not 0 <= value <= 30:
        raise ApiError(422, "timeout must be between 0 and 30 seconds", kind="validation")
    return value


async def discover(request: Request) -> JSONResponse:
    require_token(request)
    bridge = bridge_of(request)
    timeout = _timeout(request)
    serial, simulators, network, elsewhere = await asyncio.gather(
        bridge.serial(), bridge.simulators(), bridge.network_devices(timeout), bridge.lab_devices())
    return JSONResponse({"devices": await bridge.with_lease_status(serial + elsewhere + simulators + network)})


async def discover_serial(request: Request) -> JSONResponse:
    require_token(request)
    bridge = bridge_of(request)
    serial, elsewhere = await asyncio.gather(bridge.serial(), bridge.lab_devices())
    return JSONResponse({"devices": await bridge.with_lease_status(serial + elsewhere)})


async def discover_simulators(request: Request) -> JSONResponse:
    require_token(request)
    bridge = bridge_of(request)
    return JSONResponse({"devices": await bridge.with_lease_status(await bridge.simulators())})


async def discover_network(request: Request) -> JSONResponse:
    require_token(request)
    bridge = bridge_of(request)
    devices = await bridge.network_devices(_timeout(request))
    body: dict[str, Any] = {"devices": await bridge.with_lease_status(devices)}
    if bridge.network.error:
        body["error"] = bridge.network.error
    return JSONResponse(body)


async def devices_socket(websocket: WebSocket) -> None:
    """Pushes the live network list (and every change to it) to a page."""
    client = await authenticate_websocket(websocket)
    if client is None:
        return
    bridge = bridge_of(websocket)
    changed = asyncio.Event()
    loop = asyncio.get_running_loop()
    unsubscribe = bridge.network.subscribe(lambda: loop.call_soon_threadsafe(changed.set))

    async def pump() -> None:
        while True:
            devices = await bridge.with_lease_status(await bridge.network_devices(0))
            await websocket.send_json({"type": "network", "devices": devices})
            await changed.wait()
            changed.clear()

    sender = asyncio.create_task(pump())
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        unsubscribe()
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)


ROUTES = [
    Route(f"{HARDWARE}/discover", discover, methods=["GET"]),
    Route(f"{HARDWARE}/discover/serial", discover_serial, methods=["GET"]),
    Route(f"{HARDWARE}/discover/simulators", discover_simulators, methods=["GET"]),
    Route(f"{HARDWARE}/discover/network", discover_network, methods=["GET"]),
    WebSocketRoute(f"{HARDWARE}/ws/devices", devices_socket),
]
