"""The Starlette application: every route of the bridge server is listed here, with its middleware."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bridge_server.bridge import Bridge, lifespan
from bridge_server.errors import EXCEPTION_HANDLERS
from bridge_server.routes import (alerts, changes, definitions, devices, discovery, inventory, lab, leases,
                                  remote_serial, repl, schedule, service)
from bridge_server.security import CLIENT_HEADER, ForeignOriginGuard, HostGuard
from bridge_server.settings import Settings
from bridge_server.static import CachedStaticFiles, PageMount


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
    routes: list[BaseRoute] = [
        # The API, one module per concept (bridge_server/routes/), then the page's files.
        *service.ROUTES,        # health, OpenAPI document
        *definitions.ROUTES,    # the PLR catalog and its sync
        *discovery.ROUTES,      # serial ports, simulators, mDNS instruments
        *leases.ROUTES,         # connect / heartbeat / disconnect, connections
        *devices.ROUTES,        # device profiles
        *repl.ROUTES,           # REPL sessions (HTTP and WebSocket)
        *remote_serial.ROUTES,  # a lab PC serial port over a WebSocket
        *schedule.ROUTES,       # the lab's shared schedule
        *inventory.ROUTES,      # the lab's inventory with its open reservations
        *lab.ROUTES,            # the lab's PCs, tickets to another PC's serial ports
        *changes.ROUTES,        # changes pushed to pages (LISTEN/NOTIFY or in-process)
        *alerts.ROUTES,         # a hardware run failed or waits: posted to the lab's webhook
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
