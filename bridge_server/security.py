"""The security model: the Host a request names, a bearer token for what mutates or runs code,
client ids, Origin checks."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from bridge_server.errors import ApiError, problem
from bridge_server.settings import Settings

CLIENT_HEADER = "x-labwright-client"
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")
#: WebSocket subprotocols: the page offers ``["labwright", "bearer.<token>", "client.<id>"]``.
SUBPROTOCOL = "labwright"
#: Seconds a WebSocket without a token subprotocol has to send its ``{type: "auth"}`` message.
AUTH_TIMEOUT = 10.0


def token_matches(settings: Settings, candidate: str | None) -> bool:
    return candidate is not None and secrets.compare_digest(candidate.encode(), settings.token.encode())


def require_token(connection: HTTPConnection) -> None:
    settings: Settings = connection.app.state.settings
    header = connection.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not token_matches(settings, credentials.strip()):
        raise ApiError(401, "this endpoint needs 'Authorization: Bearer <token>' with the token "
                            "printed by `labwright serve`", kind="unauthorized")


def valid_client_id(value: str | None) -> bool:
    return value is not None and bool(_CLIENT_ID.match(value))


def client_id(connection: HTTPConnection) -> str:
    """The caller's ``X-Labwright-Client``: who owns a lease (identity, not authority)."""
    value = connection.headers.get(CLIENT_HEADER)
    if value is None:
        raise ApiError(422, "the X-Labwright-Client header is required: a client id of your choosing",
                       kind="validation", errors=[{"loc": "header.X-Labwright-Client", "message": "is required"}])
    if not valid_client_id(value):
        raise ApiError(422, "X-Labwright-Client must be 1-128 characters of letters, digits and ._:@-",
                       kind="validation",
                       errors=[{"loc": "header.X-Labwright-Client", "message": "invalid client id"}])
    return value


def origin_allowed(settings: Settings, origin: str | None) -> bool:
    """No Origin (a script, not a browser) is allowed: the token still guards it."""
    return origin is None or origin in settings.allowed_origins


def websocket_credentials(scope: dict[str, Any]) -> tuple[str | None, str | None]:
    """(token, client id) offered as WebSocket subprotocols, if any."""
    token = client = None
    for protocol in scope.get("subprotocols") or []:
        if protocol.startswith("bearer."):
            token = protocol.removeprefix("bearer.")
        elif protocol.startswith("client."):
            client = protocol.removeprefix("client.")
    return token, client


async def authenticate_websocket(websocket: WebSocket) -> str | None:
    """Origin, then the token (subprotocol or first message); the client id, or None when refused.

    Every bridge WebSocket starts here. A refused socket is closed with the reason (1008 at the
    handshake, 4401 after a wrong first message); an accepted one is told ``{type: "ready",
    client}``. A socket that names no valid client id gets one of its own.
    """
    settings: Settings = websocket.app.state.settings
    if not origin_allowed(settings, websocket.headers.get("origin")):
        await websocket.close(code=1008, reason="origin not allowed")
        return None
    token, client = websocket_credentials(websocket.scope)
    client = client or websocket.headers.get(CLIENT_HEADER)
    if token is not None:
        if not token_matches(settings, token):
            await websocket.close(code=1008, reason="bad token")
            return None
        offered = websocket.scope.get("subprotocols") or []
        await websocket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
    else:
        await websocket.accept()
        try:
            first = json.loads(await asyncio.wait_for(websocket.receive_text(), AUTH_TIMEOUT))
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


async def authenticate_ticket(websocket: WebSocket, ticket: str,
                              redeem: Any, lab_origins: Any) -> Any:
    """A socket opened with another lab PC's leave (``ticket.<t>`` subprotocol) instead of the token.

    A page served by PC B holds B's token, not this PC's: B's server, which checked the token and
    that the page's client holds the device's lease, wrote a ticket for one port of this PC into
    the lab's database. The ticket is used up here, must be this PC's, unexpired, and presented
    from the origin it was issued to, which must be one of the lab's PCs (or this server's own).
    Returns the ticket (its client id, device and port), or None when refused (closed, 1008).
    """
    settings: Settings = websocket.app.state.settings
    origin = websocket.headers.get("origin")
    if origin is not None and not origin_allowed(settings, origin) and origin not in await lab_origins():
        await websocket.close(code=1008, reason="origin not allowed")
        return None
    granted = await redeem(ticket)
    if granted is None or granted.origin != (origin or ""):
        await websocket.close(code=1008, reason="bad ticket")
        return None
    offered = websocket.scope.get("subprotocols") or []
    await websocket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
    await websocket.send_json({"type": "ready", "client": granted.client_id})
    return granted


def websocket_ticket(scope: dict[str, Any]) -> str | None:
    return next((p.removeprefix("ticket.") for p in scope.get("subprotocols") or [] if p.startswith("ticket.")),
                None)


class ForeignOriginGuard:
    """Refuses API requests that change state when a browser says they come from another origin."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS") \
                and scope["path"].startswith("/api/"):
            origin = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"origin"), None)
            if not origin_allowed(self.settings, origin):
                response: Response = problem(403, f"origin {origin} is not allowed", "forbidden-origin")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class HostGuard:
    """Answers only requests whose ``Host`` names this server (``Settings.allowed_host_headers``).

    A page on a DNS-rebinding domain (``evil.example`` resolving to 127.0.0.1) is same-origin
    with itself, so Origin checks and CORS never see it; its requests still say
    ``Host: evil.example``. Those get 421 for HTTP (reads and static files included) and a
    refused handshake (403) for WebSockets, before any route runs.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.allowed = settings.allowed_host_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), None)
        if host is not None and host.strip().lower() in self.allowed:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "host not allowed"})
            return
        response: Response = problem(
            421, f"this server answers to Host {', '.join(sorted(self.allowed))}, not {host!r}; a page "
                 "reaching it under another name is refused (add a name the lab uses for this PC "
                 "with --allowed-host or LABWRIGHT_ALLOWED_HOSTS)", "misdirected-request")
        await response(scope, receive, send)
