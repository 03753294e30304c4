"""The lab's PCs: which servers share this lab's database, and tickets to another PC's serial ports.

``GET /api/v1/lab`` lists the lab's PCs (name, URL, alive) with this one marked. A page served by
this PC that leased a device attached to another PC asks ``POST /api/v1/hardware/io-tickets``
for leave to open that device's port on its own PC's server: a single-use ticket, valid for
seconds, bound to the page's origin and client, written to the lab's database where the other
server redeems it. The other server's token never leaves it.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bridge_server import schemas
from bridge_server.errors import ApiError
from bridge_server.routes.common import HARDWARE, body, bridge_of
from bridge_server.security import client_id, require_token

#: Seconds a ticket may wait before the page opens its socket.
TICKET_LIFETIME = 30.0

TICKET_REQUEST: schemas.JsonSchema = {
    "type": "object", "required": ["device_id", "node"], "additionalProperties": False,
    "properties": {"device_id": {"type": "string", "minLength": 1, "maxLength": 300},
                   "node": {"type": "string", "minLength": 1, "maxLength": 200}},
}


async def lab(request: Request) -> JSONResponse:
    from bridge_server.bridge import NODE_ALIVE

    require_token(request)
    bridge = bridge_of(request)
    return JSONResponse({"node": bridge.settings.node, "database": bridge.database.dialect,
                         "nodes": await bridge.store.nodes(NODE_ALIVE)})


async def io_ticket(request: Request) -> JSONResponse:
    require_token(request)
    client = client_id(request)
    request_body = await body(request, TICKET_REQUEST)
    bridge = bridge_of(request)
    device_id, node = request_body["device_id"], request_body["node"]
    device: dict[str, Any] | None = await bridge.find_device(device_id, node)
    if device is None or device.get("connection_type") != "serial" or not device.get("port"):
        raise ApiError(404, f"no serial device {device_id!r} on lab PC {node!r}", kind="unknown-device")
    lease = await bridge.store.lease(device_id, node)
    if lease is None or lease.client_id != client:
        raise ApiError(409, f"client {client!r} does not hold the lease on {device_id} of {node}: "
                            "connect first", kind="not-leased")
    origin = request.headers.get("origin") or ""
    ticket, expires = await bridge.store.issue_ticket(node, device_id, device["port"], client, origin,
                                                      TICKET_LIFETIME)
    base = (device.get("node_url") or bridge.settings.lab_url).replace("http://", "ws://", 1) \
        .replace("https://", "wss://", 1)
    return JSONResponse({
        "node": node, "device_id": device_id, "port": device["port"],
        "url": f"{base}{HARDWARE}/ws/serial/{quote(device['port'], safe='')}",
        "protocols": ["labwright", f"ticket.{ticket}"], "ticket": ticket,
        "expires_at": expires, "expires_in": round(expires - time.time(), 3),
    }, status_code=201)


ROUTES = [
    Route("/api/v1/lab", lab, methods=["GET"]),
    Route(f"{HARDWARE}/io-tickets", io_ticket, methods=["POST"]),
]
