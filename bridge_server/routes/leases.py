"""Connections: leases on devices (connect, heartbeat, disconnect), one owner per device, with a TTL.

A device is named by its id and the lab PC it is attached to (``node``, default this server's):
a page served by one PC may lease a device of another, whose server then serves its IO.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bridge_server import schemas
from bridge_server.constructors import backend_entry, check_config, parameter_names
from bridge_server.errors import ApiError
from bridge_server.routes.common import HARDWARE, body, bridge_of, path_device_id
from bridge_server.security import client_id, require_token
from bridge_server.store import LeaseOutcome


def _conflict(device_id: str, outcome: LeaseOutcome) -> ApiError:
    if outcome.holder is not None:
        holder = outcome.holder
        return ApiError(409, f"{device_id} is held by client {holder.client_id!r} for another "
                             f"{max(holder.expires_at - time.time(), 0):.1f} s",
                        kind="lease-held", holder=holder.client_id, expires_at=holder.expires_at)
    if outcome.expired:
        return ApiError(404, f"your lease on {device_id} expired", kind="lease-expired")
    return ApiError(404, f"no connection to {device_id}", kind="not-connected")


def _implied(device: dict[str, Any] | None, config: dict[str, Any], names: set[str]) -> set[str]:
    """Fill what the discovered device implies (its port, its address) and say what a simulator fills."""
    if device is None:
        return set()
    if device["connection_type"] == "simulator":
        return names
    if device["connection_type"] == "serial" and device.get("port"):
        for name in ("port", "com_port"):
            if name in names and name not in config:
                config[name] = device["port"]
    if device["connection_type"] == "network" and device.get("ip_address"):
        for name in ("host", "ip"):
            if name in names and name not in config:
                config[name] = device["ip_address"]
        if "port" in names and "port" not in config and (device.get("port") or "").isdigit():
            config["port"] = int(device["port"])
    return set()


async def connect(request: Request) -> JSONResponse:
    require_token(request)
    client = client_id(request)
    request_body = await body(request, schemas.CONNECT)
    bridge = bridge_of(request)
    device_id = request_body["device_id"]
    node = request_body.get("node") or bridge.settings.node
    profile = await bridge.store.profile(device_id)
    device = await bridge.find_device(device_id, node)
    if node != bridge.settings.node and not await bridge.node_alive(node):
        raise ApiError(404, f"no lab PC {node!r} has been heard from lately: see GET /api/v1/lab",
                       kind="unknown-device")
    if device is None and profile is None:
        raise ApiError(404, f"no device {device_id!r}: not discovered and no saved profile",
                       kind="unknown-device")
    if device is None and profile is not None:
        device = {"connection_type": profile["connection_type"], "port": profile.get("port"),
                  "ip_address": profile.get("ip_address"), "plr_backends": [profile["backend"]]}
    backend = request_body.get("backend") or (profile or {}).get("backend")
    if backend is None:
        candidates = (device or {}).get("plr_backends", [])
        if len(candidates) != 1:
            raise ApiError(422, f"backend is required for {device_id}: candidates are "
                                f"{', '.join(candidates) or 'none known'}", kind="validation",
                           errors=[{"loc": "body.backend", "message": "is required"}])
        backend = candidates[0]
    entry = backend_entry((await bridge.catalog.get()).catalog, backend)
    config = {**(profile or {}).get("configuration", {}), **request_body.get("config", {})}
    implied = _implied(device, config, parameter_names(entry))
    check_config(entry, config, implied)
    outcome = await bridge.store.acquire(device_id, client, entry["fqn"], config,
                                         bridge.settings.connection_ttl,
                                         force=bool(request_body.get("force")), node=node)
    if outcome.lease is None:
        raise _conflict(device_id, outcome)
    return JSONResponse(outcome.lease.to_json())


async def disconnect(request: Request) -> JSONResponse:
    require_token(request)
    client = client_id(request)
    request_body = await body(request, schemas.DEVICE_REF)
    bridge = bridge_of(request)
    outcome = await bridge.store.release(request_body["device_id"], client, request_body.get("node"))
    if outcome.lease is None:
        raise _conflict(request_body["device_id"], outcome)
    if not await bridge.store.leases(client):
        session = bridge.sessions.sessions.get(client)
        if session is not None and not bridge.sessions.sockets.get(client):
            await bridge.sessions.close(client)
    return JSONResponse(outcome.lease.to_json(status="released"))


async def heartbeat(request: Request) -> JSONResponse:
    require_token(request)
    client = client_id(request)
    request_body = await body(request, schemas.DEVICE_REF)
    outcome = await bridge_of(request).store.heartbeat(request_body["device_id"], client,
                                                       request_body.get("node"))
    if outcome.lease is None:
        raise _conflict(request_body["device_id"], outcome)
    return JSONResponse(outcome.lease.to_json())


async def connections(request: Request) -> JSONResponse:
    require_token(request)
    leases = await bridge_of(request).store.leases()
    return JSONResponse({"connections": [lease.to_json() for lease in leases]})


async def connection(request: Request) -> JSONResponse:
    require_token(request)
    device_id = path_device_id(request)
    node = request.query_params.get("node") or None
    lease = await bridge_of(request).store.lease(device_id, node)
    if lease is None:
        raise ApiError(404, f"no connection to {device_id}", kind="not-connected")
    return JSONResponse(lease.to_json())


ROUTES = [
    Route(f"{HARDWARE}/connect", connect, methods=["POST"]),
    Route(f"{HARDWARE}/disconnect", disconnect, methods=["POST"]),
    Route(f"{HARDWARE}/heartbeat", heartbeat, methods=["POST"]),
    Route(f"{HARDWARE}/connections", connections, methods=["GET"]),
    Route(f"{HARDWARE}/connections/{{device_id:path}}", connection, methods=["GET"]),
]
