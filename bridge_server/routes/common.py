"""What every route module needs: the app's Bridge, a validated body, a device id from the path."""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection, Request

from bridge_server import schemas
from bridge_server.bridge import Bridge
from bridge_server.errors import ApiError

HARDWARE = "/api/v1/hardware"


def bridge_of(connection: HTTPConnection) -> Bridge:
    """The server's services (store, catalog, sessions, estimates ...) for this app."""
    return connection.app.state.bridge  # type: ignore[no-any-return]


async def body(request: Request, schema: schemas.JsonSchema) -> dict[str, Any]:
    """The request's JSON body, bounded and validated against ``schema`` (413/400/422)."""
    return await schemas.read_json(request, schema, bridge_of(request).settings.max_body_bytes)


def path_device_id(request: Request) -> str:
    device_id = request.path_params["device_id"]
    if not 1 <= len(device_id) <= 300:
        raise ApiError(422, "device_id must be 1-300 characters", kind="validation")
    return device_id
