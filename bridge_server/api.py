"""HTTP and WebSocket handlers of the bridge API; thin, the work is in the Bridge's services."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from bridge_server import schemas
from bridge_server.bridge import Bridge
from bridge_server.constructors import check_config, constructor_signature
from bridge_server.discovery import frontend_for
from bridge_server.errors import ApiError
from bridge_server.security import (
    SUBPROTOCOL,
    client_id,
    origin_allowed,
    require_token,
    token_matches,
    valid_client_id,
    websocket_credentials,
)
from bridge_server.repl_host import SessionsFull
from bridge_server.store import Lease, LeaseOutcome

_AUTH_TIMEOUT = 10.0


def _bridge(request: Request | WebSocket) -> Bridge:
    return request.app.state.bridge  # type: ignore[no-any-return]


async def _body(request: Request, schema: schemas.JsonSchema) -> dict[str, Any]:
    return await schemas.read_json(request, schema, _bridge(request).settings.max_body_bytes)


def _path_id(request: Request) -> str:
    device_id = request.path_params["device_id"]
    if not 1 <= len(device_id) <= 300:
        raise ApiError(422, "device_id must be 1-300 characters", kind="validation")
    return device_id


# Definitions --------------------------------------------------------------------------------

async def definitions(request: Request) -> Response:
    snapshot = await _bridge(request).catalog.get()
    headers = {"ETag": snapshot.etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    if snapshot.etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(snapshot.gzipped, media_type="application/json",
                        headers={**headers, "Content-Encoding": "gzip"})
    return Response(snapshot.body, media_type="application/json", headers=headers)


async def definitions_sync(request: Request) -> JSONResponse:
    require_token(request)
    return JSONResponse(await _bridge(request).catalog.sync())


# Discovery ----------------------------------------------------------------------------------

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
    bridge = _bridge(request)
    timeout = _timeout(request)
    serial, simulators, network = await asyncio.gather(
        bridge.serial(), bridge.simulators(), bridge.network_devices(timeout))
    return JSONResponse({"devices": bridge.with_lease_status(serial + simulators + network)})


async def discover_serial(request: Request) -> JSONResponse:
    require_token(request)
    bridge = _bridge(request)
    return JSONResponse({"devices": bridge.with_lease_status(await bridge.serial())})


async def discover_simulators(request: Request) -> JSONResponse:
    require_token(request)
    bridge = _bridge(request)
    return JSONResponse({"devices": bridge.with_lease_status(await bridge.simulators())})


async def discover_network(request: Request) -> JSONResponse:
    require_token(request)
    bridge = _bridge(request)
    devices = await bridge.network_devices(_timeout(request))
    body: dict[str, Any] = {"devices": bridge.with_lease_status(devices)}
    if bridge.network.error:
        body["error"] = bridge.network.error
    return JSONResponse(body)


# Leases -------------------------------------------------------------------------------------

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


async def _backend_entry(bridge: Bridge, backend: str) -> tuple[dict[str, Any], Any]:
    snapshot = await bridge.catalog.get()
    entry = snapshot.catalog.get(backend)
    if entry is None or snapshot.catalog.section_of(backend) != "backends":
        raise ApiError(422, f"backend: {backend!r} is not a PLR backend in the catalog",
                       kind="validation", errors=[{"loc": "body.backend", "message": "unknown backend"}])
    return entry, snapshot


def _signature(snapshot: Any, entry: dict[str, Any]) -> Any:
    bases = {e["fqn"]: e.get("bases", []) for e in snapshot.catalog.entries("backends")}
    roots = [Path(root) for root in snapshot.document.get("sources", [])]
    return constructor_signature(entry["fqn"], bases, roots)


async def connect(request: Request) -> JSONResponse:
    require_token(request)
    client = client_id(request)
    body = await _body(request, schemas.CONNECT)
    bridge = _bridge(request)
    device_id = body["device_id"]
    profile = bridge.store.profile(device_id)
    device = await bridge.find_device(device_id)
    if device is None and profile is None:
        raise ApiError(404, f"no device {device_id!r}: not discovered and no saved profile",
                       kind="unknown-device")
    if device is None and profile is not None:
        device = {"connection_type": profile["connection_type"], "port": profile.get("port"),
                  "ip_address": profile.get("ip_address"), "plr_backends": [profile["backend"]]}
    backend = body.get("backend") or (profile or {}).get("backend")
    if backend is None:
        candidates = (device or {}).get("plr_backends", [])
        if len(candidates) != 1:
            raise ApiError(422, f"backend is required for {device_id}: candidates are "
                                f"{', '.join(candidates) or 'none known'}", kind="validation",
                           errors=[{"loc": "body.backend", "message": "is required"}])
        backend = candidates[0]
    entry, snapshot = await _backend_entry(bridge, backend)
    config = {**(profile or {}).get("configuration", {}), **body.get("config", {})}
    signature = await asyncio.to_thread(_signature, snapshot, entry)
    implied = _implied(device, config, signature.names)
    check_config(backend, signature, config, implied)
    outcome = bridge.store.acquire(device_id, client, entry["fqn"], config,
                                   bridge.settings.connection_ttl, force=bool(body.get("force")))
    if outcome.lease is None:
        raise _conflict(device_id, outcome)
    return JSONResponse(outcome.lease.to_json())


async def disconnect(request: Request) -> JSONResponse:
    require_token(request)
    client = client_id(request)
    body = await _body(request, schemas.DEVICE_REF)
    bridge = _bridge(request)
    outcome = bridge.store.release(body["device_id"], client)
    if outcome.lease is None:
        raise _conflict(body["device_id"], outcome)
    if not bridge.store.leases(client):
        session = bridge.sessions.sessions.get(client)
        if session is not None and not bridge.sessions.sockets.get(client):
            await bridge.sessions.close(client)
    return JSONResponse(outcome.lease.to_json(status="released"))


async def heartbeat(request: Request) -> JSONResponse:
    require_token(request)
    client = client_id(request)
    body = await _body(request, schemas.DEVICE_REF)
    outcome = _bridge(request).store.heartbeat(body["device_id"], client)
    if outcome.lease is None:
        raise _conflict(body["device_id"], outcome)
    return JSONResponse(outcome.lease.to_json())


async def connections(request: Request) -> JSONResponse:
    require_token(request)
    return JSONResponse({"connections": [lease.to_json() for lease in _bridge(request).store.leases()]})


async def connection(request: Request) -> JSONResponse:
    require_token(request)
    device_id = _path_id(request)
    lease = _bridge(request).store.lease(device_id)
    if lease is None:
        raise ApiError(404, f"no connection to {device_id}", kind="not-connected")
    return JSONResponse(lease.to_json())


# Device profiles ----------------------------------------------------------------------------

async def _checked_profile(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    bridge = _bridge(request)
    entry, snapshot = await _backend_entry(bridge, body["backend"])
    signature = await asyncio.to_thread(_signature, snapshot, entry)
    configuration = dict(body.get("configuration") or {})
    implied = {name for name in ("port", "com_port") if body.get("port")} | \
              {name for name in ("host", "ip") if body.get("ip_address")}
    if body["connection_type"] == "simulator" or entry.get("simulator"):
        implied = signature.names
    check_config(body["backend"], signature, configuration, implied, where="configuration")
    return {**body, "backend": entry["fqn"], "configuration": configuration}


async def register(request: Request) -> JSONResponse:
    require_token(request)
    body = await _body(request, schemas.REGISTER)
    profile = await _checked_profile(request, body)
    saved = _bridge(request).store.save_profile(profile, create=True)
    if saved is None:
        raise ApiError(409, f"a device profile {body['device_id']!r} exists; PUT /devices/{{id}} "
                            "to change it", kind="profile-exists")
    return JSONResponse(saved, status_code=201)


async def devices(request: Request) -> JSONResponse:
    require_token(request)
    return JSONResponse({"devices": _bridge(request).store.profiles()})


async def device(request: Request) -> JSONResponse:
    require_token(request)
    device_id = _path_id(request)
    bridge = _bridge(request)
    if request.method == "GET":
        profile = bridge.store.profile(device_id)
    elif request.method == "PUT":
        body = await _body(request, schemas.PROFILE_UPDATE)
        profile = await _checked_profile(request, {**body, "device_id": device_id})
        profile = bridge.store.save_profile(profile, create=False)
    else:
        profile = bridge.store.delete_profile(device_id)
    if profile is None:
        raise ApiError(404, f"no device profile {device_id!r}", kind="unknown-profile")
    return JSONResponse(profile)


# REPL ---------------------------------------------------------------------------------------

async def _machines_for(bridge: Bridge, client: str) -> dict[str, dict[str, Any]]:
    snapshot = await bridge.catalog.get()
    wanted = {}
    for lease in bridge.store.leases(client):
        entry = snapshot.catalog.get(lease.backend or "") or {}
        wanted[lease.device_id] = {
            "backend": lease.backend, "frontend": frontend_for(snapshot.catalog, entry.get("frontend_kind")),
            "config": lease.config, "simulator": bool(entry.get("simulator")),
            "name": lease.device_id.rpartition(".")[2].rpartition(":")[2] or "machine",
        }
    return wanted


async def _session_for(bridge: Bridge, client: str) -> tuple[Any, dict[str, str]]:
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
    body = await _body(request, schemas.REPL)
    bridge = _bridge(request)
    lease: Lease | None = bridge.store.lease(body["device_id"])
    if lease is None:
        raise ApiError(404, f"no connection to {body['device_id']}: connect first", kind="not-connected")
    if lease.client_id != client:
        # A device's session is its lease holder's: nobody else reads or changes its namespace.
        raise ApiError(403, f"the REPL session of {body['device_id']} belongs to client "
                            f"{lease.client_id!r}, which holds its lease", kind="not-your-session")
    session, errors = await _session_for(bridge, client)
    if body["device_id"] in errors:
        return JSONResponse({"output": "", "result": None,
                             "error": {"type": "MachineError", "message": errors[body["device_id"]],
                                       "traceback": errors[body["device_id"]]}})
    return JSONResponse(await session.execute(body["code"]))


async def _authenticate(websocket: WebSocket) -> str | None:
    """Origin, then the token (subprotocol or first message); returns the client id or None."""
    settings = _bridge(websocket).settings
    if not origin_allowed(settings, websocket.headers.get("origin")):
        await websocket.close(code=1008, reason="origin not allowed")
        return None
    token, client = websocket_credentials(websocket.scope)
    client = client or websocket.headers.get("x-labwright-client")
    if token is not None:
        if not token_matches(settings, token):
            await websocket.close(code=1008, reason="bad token")
            return None
        offered = websocket.scope.get("subprotocols") or []
        await websocket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
    else:
        await websocket.accept()
        try:
            first = json.loads(await asyncio.wait_for(websocket.receive_text(), _AUTH_TIMEOUT))
        except (TimeoutError, ValueError, KeyError, WebSocketDisconnect):
            first = {}
        if not isinstance(first, dict) or first.get("type") != "auth" or \
                not token_matches(settings, str(first.get("token"))):
            await websocket.send_json({"type": "error", "status": 401,
                                       "detail": "send {type: 'auth', token} first"})
            await websocket.close(code=4401, reason="unauthorized")
            return None
        client = first.get("client") or client
    if not valid_client_id(client):
        client = f"ws-{id(websocket):x}"
    await websocket.send_json({"type": "ready", "client": client})
    return client


async def repl_socket(websocket: WebSocket) -> None:
    client = await _authenticate(websocket)
    if client is None:
        return
    bridge = _bridge(websocket)
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
        if not bridge.store.leases(client):
            # A session held by a lease is the device's; it ends with the lease, not a socket.
            await bridge.sessions.close(client)


async def devices_socket(websocket: WebSocket) -> None:
    """Pushes the live network list (and every change to it) to a page."""
    client = await _authenticate(websocket)
    if client is None:
        return
    bridge = _bridge(websocket)
    changed = asyncio.Event()
    loop = asyncio.get_running_loop()
    unsubscribe = bridge.network.subscribe(lambda: loop.call_soon_threadsafe(changed.set))

    async def pump() -> None:
        while True:
            devices = bridge.with_lease_status(await bridge.network_devices(0))
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
