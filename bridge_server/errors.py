"""Problem details (RFC 9457): every error the API returns is one JSON shape, never a bare 500."""

from __future__ import annotations

import errno
import logging
import sqlite3
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from browser_runtime.errors import LabwrightError, NotFound

log = logging.getLogger("labwright")

PROBLEM_TYPE = "https://labwright.invalid/problems/"
_TITLES = {
    400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
    405: "Method not allowed", 409: "Conflict", 413: "Request body too large",
    415: "Unsupported media type", 421: "Misdirected request", 422: "Unprocessable request",
    500: "Internal error", 507: "Insufficient storage",
    503: "Service unavailable",
}


class ApiError(LabwrightError):
    """Raised by handlers; turned into a problem-details response by :func:`api_error_handler`."""

    def __init__(self, status: int, detail: str, *, kind: str | None = None,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind or _TITLES.get(status, "error").lower().replace(" ", "-")
        self.headers = headers or {}
        self.extra = extra


def problem(status: int, detail: str, kind: str | None = None, headers: dict[str, str] | None = None,
            **extra: Any) -> JSONResponse:
    body = {
        "type": PROBLEM_TYPE + (kind or _TITLES.get(status, "error").lower().replace(" ", "-")),
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type="application/problem+json")


async def api_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    headers = dict(exc.headers)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="labwright"'
    return problem(exc.status, exc.detail, exc.kind, headers=headers or None, **exc.extra)


async def not_found_handler(request: Request, exc: Exception) -> Response:
    # Any domain's "that does not exist" (a run, a workcell, an asset) is a 404, by its type.
    assert isinstance(exc, NotFound)
    return problem(404, str(exc), "not-found")


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return problem(exc.status_code, str(exc.detail), headers=exc.headers)


def storage_full(exc: BaseException) -> BaseException | None:
    """The disk-full error behind ``exc`` (SQLite's SQLITE_FULL, ENOSPC, EDQUOT), if that is what it is."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, sqlite3.OperationalError) and (
                getattr(seen, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(seen)):
            return seen
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return seen
        if type(seen).__name__ == "DiskFull":  # PostgreSQL's SQLSTATE 53100 (psycopg.errors.DiskFull)
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    full = storage_full(exc)
    if full is not None:
        # Not a bug and not the client's fault: the lab PC ran out of space. SQLite rolled the
        # statement back, so nothing was half-written; the same request succeeds once there is room.
        log.error("disk full on %s %s: %s", request.method, request.url.path, full)
        return problem(507, f"the lab PC's disk is full ({full}); nothing was written. Free some "
                            "space where the server keeps its data and try again", "disk-full")
    # A bug, not a client error: logged with its traceback, answered as JSON rather than as
    # a bare text 500, and found by the fuzz test before anyone else finds it.
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, f"internal error: {type(exc).__name__}")


async def database_unavailable_handler(request: Request, exc: Exception) -> Response:
    # The lab's PostgreSQL is down or unreachable: nothing was written; the same request works
    # once it is back (the server reconnects by itself).
    log.warning("%s %s: %s", request.method, request.url.path, exc)
    return problem(503, str(exc), "database-unavailable", headers={"Retry-After": "5"})


async def unstorable_value_handler(request: Request, exc: Exception) -> Response:
    return problem(422, str(exc), "validation")


async def storage_error_handler(request: Request, exc: Exception) -> Response:
    # Registered for SQLite's and the OS's errors so a full disk is answered where the request
    # is handled (the connection stays open), not by the last-resort handler.
    return await unexpected_error_handler(request, exc)


def _database_handlers() -> dict[type[Exception], Any]:
    from bridge_server.database import DatabaseUnavailable
    from bridge_server.database.portable import UnstorableValue

    return {DatabaseUnavailable: database_unavailable_handler, UnstorableValue: unstorable_value_handler}


EXCEPTION_HANDLERS = {
    ApiError: api_error_handler,
    **_database_handlers(),
    NotFound: not_found_handler,
    HTTPException: http_error_handler,
    sqlite3.OperationalError: storage_error_handler,
    OSError: storage_error_handler,
    Exception: unexpected_error_handler,
}
