"""The PLR definitions catalog: ``GET /api/v1/definitions`` (ETag, 304, gzip) and its sync."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bridge_server.routes.common import bridge_of
from bridge_server.security import require_token


async def definitions(request: Request) -> Response:
    snapshot = await bridge_of(request).catalog.get()
    headers = {"ETag": snapshot.etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    if snapshot.etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(snapshot.gzipped, media_type="application/json",
                        headers={**headers, "Content-Encoding": "gzip"})
    return Response(snapshot.body, media_type="application/json", headers=headers)


async def definitions_sync(request: Request) -> JSONResponse:
    require_token(request)
    return JSONResponse(await bridge_of(request).catalog.sync())


ROUTES = [
    Route("/api/v1/definitions", definitions, methods=["GET"]),
    Route("/api/v1/definitions/sync", definitions_sync, methods=["POST"]),
]
