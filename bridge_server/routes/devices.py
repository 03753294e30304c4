"""Device profiles: a named device with its backend and settings, saved on the lab PC."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bridge_server import schemas
from bridge_server.constructors import backend_entry, check_config, parameter_names
from bridge_server.errors import ApiError
from bridge_server.routes.common import HARDWARE, body, bridge_of, path_device_id
from bridge_server.security import require_token


async def _checked_profile(request: Request, profile: dict[str, Any]) -> dict[str, Any]:
    entry = backend_entry((await bridge_of(request).catalog.get()).catalog, profile["backend"])
    configuration = dict(profile.get("configuration") or {})
    implied = {name for name in ("port", "com_port") if profile.get("port")} | \
              {name for name in ("host", "ip") if profile.get("ip_address")}
    if profile["connection_type"] == "simulator" or entry.get("simulator"):
        implied = parameter_names(entry)
    check_config(entry, configuration, implied, where="configuration")
    return {**profile, "backend": entry["fqn"], "configuration": configuration}


async def register(request: Request) -> JSONResponse:
    require_token(request)
    request_body = await body(request, schemas.REGISTER)
    profile = await _checked_profile(request, request_body)
    saved = await bridge_of(request).store.save_profile(profile, create=True)
    if saved is None:
        raise ApiError(409, f"a device profile {request_body['device_id']!r} exists; PUT /devices/{{id}} "
                            "to change it", kind="profile-exists")
    return JSONResponse(saved, status_code=201)


async def devices(request: Request) -> JSONResponse:
    require_token(request)
    return JSONResponse({"devices": await bridge_of(request).store.profiles()})


async def device(request: Request) -> JSONResponse:
    require_token(request)
    device_id = path_device_id(request)
    bridge = bridge_of(request)
    if request.method == "GET":
        profile = await bridge.store.profile(device_id)
    elif request.method == "PUT":
        request_body = await body(request, schemas.PROFILE_UPDATE)
        profile = await _checked_profile(request, {**request_body, "device_id": device_id})
        profile = await bridge.store.save_profile(profile, create=False)
    else:
        profile = await bridge.store.delete_profile(device_id)
    if profile is None:
        raise ApiError(404, f"no device profile {device_id!r}", kind="unknown-profile")
    return JSONResponse(profile)


ROUTES = [
    Route(f"{HARDWARE}/register", register, methods=["POST"]),
    Route(f"{HARDWARE}/devices", devices, methods=["GET"]),
    Route(f"{HARDWARE}/devices/{{device_id:path}}", device, methods=["GET", "PUT", "DELETE"]),
]
