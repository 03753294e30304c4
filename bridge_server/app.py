"""The Starlette application: every route of the bridge server is listed here."""

from __future__ import annotations

import browser_runtime
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bridge_server.settings import Settings
from bridge_server.static import CachedStaticFiles


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
        Mount("/pyodide", app=CachedStaticFiles(directory=settings.pyodide_dir, immutable=True)),
        Mount("/wheels", app=CachedStaticFiles(directory=settings.wheels_dir, immutable=True)),
        Mount("/", app=CachedStaticFiles(directory=settings.web_dir, immutable=False, html=True)),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(CrossOriginIsolation)])
    app.state.settings = settings
    return app
