"""What the server says about itself: health (the versions that run) and the OpenAPI document."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import browser_runtime
from bridge_server.openapi import DOCUMENT


async def health(request: Request) -> JSONResponse:
    import pylabrobot

    return JSONResponse(
        {"status": "ok", "labwright": browser_runtime.__version__, "pylabrobot": pylabrobot.__version__}
    )


async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(DOCUMENT)


ROUTES = [
    Route("/api/v1/health", health, methods=["GET"]),
    Route("/api/v1/openapi.json", openapi, methods=["GET"]),
]
