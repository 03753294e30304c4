"""The Starlette application: every route of the bridge server is listed here."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import browser_runtime
from bridge_server import api, remote_serial, schedule
from bridge_server.bridge import Bridge, lifespan
from bridge_server.errors import EXCEPTION_HANDLERS
from bridge_server.openapi import openapi
from bridge_server.security import CLIENT_HEADER, ForeignOriginGuard, HostGuard
from bridge_server.settings import Settings
from bridge_server.static import CachedStaticFiles, PageMount

HARDWARE = "/api/v1/hardware"


async def health(request: Request) -> JSONResponse:
    import pylabrobot

    return JSONResponse(
        {"status": "ok", "labwright": browser_runtime.__version__, "pylabrobot": pylabrobot.__version__}
    )


class CrossOriginIsolation:
    """COOP/COEP on every response, so the page is cross-origin isolated.

    Isolation gives the page ``SharedArrayBuffer``, which interrupting Python in the worker
    needs; everything the page loads is same-origin, so ``require-corp`` costs nothing.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"cross-origin-opener-policy", b"same-origin"))
                headers.append((b"cross-origin-embedder-policy", b"require-corp"))
                headers.append((b"cross-origin-resource-policy", b"same-origin"))
                headers.append((b"x-content-type-options", b"nosniff"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    routes = [
        Route("/api/v1/health", health, methods=["GET"]),
        Route("/api/v1/openapi.json", openapi, methods=["GET"]),
        Route("/api/v1/definitions", api.definitions, methods=["GET"]),
        Route("/api/v1/definitions/sync", api.definitions_sync, methods=["POST"]),
        Route(f"{HARDWARE}/discover", api.discover, methods=["GET"]),
        Route(f"{HARDWARE}/discover/serial", api.discover_serial, methods=["GET"]),
        Route(f"{HARDWARE}/discover/simulators", api.discover_simulators, methods=["GET"]),
        Route(f"{HARDWARE}/discover/network", api.discover_network, methods=["GET"]),
        Route(f"{HARDWARE}/connect", api.connect, methods=["POST"]),
        Route(f"{HARDWARE}/disconnect", api.disconnect, methods=["POST"]),
        Route(f"{HARDWARE}/heartbeat", api.heartbeat, methods=["POST"]),
        Route(f"{HARDWARE}/connections", api.connections, methods=["GET"]),
        Route(f"{HARDWARE}/connections/{{device_id:path}}", api.connection, methods=["GET"]),
        Route(f"{HARDWARE}/register", api.register, methods=["POST"]),
        Route(f"{HARDWARE}/devices", api.devices, methods=["GET"]),
        Route(f"{HARDWARE}/devices/{{device_id:path}}", api.device, methods=["GET", "PUT", "DELETE"]),
        Route(f"{HARDWARE}/repl", api.repl, methods=["POST"]),
        WebSocketRoute(f"{HARDWARE}/ws/repl", api.repl_socket),
        WebSocketRoute(f"{HARDWARE}/ws/devices", api.devices_socket),
        WebSocketRoute(f"{HARDWARE}/ws/serial/{{port:path}}", remote_serial.serial_socket),
        *schedule.ROUTES,
        Mount("/pyodide", app=CachedStaticFiles(directory=settings.pyodide_dir, immutable=True)),
        Mount("/wheels", app=CachedStaticFiles(directory=settings.wheels_dir, immutable=True)),
        PageMount("/", app=CachedStaticFiles(directory=settings.web_dir, immutable=False, html=True)),
    ]
    middleware = [
        # First: a request naming another host (DNS rebinding) reaches nothing, not even files.
        Middleware(HostGuard, settings=settings),
        Middleware(CrossOriginIsolation),
        # CORS names each allowed origin; never "*" (the list never contains it).
        Middleware(CORSMiddleware, allow_origins=list(settings.allowed_origins),
                   allow_methods=["GET", "POST", "PUT", "DELETE"],
                   allow_headers=["Authorization", "Content-Type", CLIENT_HEADER, "If-None-Match",
                                  "If-Match"],
                   expose_headers=["ETag"], max_age=600),
        Middleware(ForeignOriginGuard, settings=settings),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                    exception_handlers=EXCEPTION_HANDLERS)  # type: ignore[arg-type]
    app.state.settings = settings
    app.state.bridge = Bridge(settings)
    return app
