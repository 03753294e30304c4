"""Alerts: the page reports a hardware run that failed or waits for the operator, and the server
posts the event to the lab's webhook (``LABWRIGHT_WEBHOOK_URL``: a chat's incoming webhook, a pager).

The page shows a browser notification itself; the webhook reaches people away from the browser.
The server adds where it came from and when, posts JSON with a short timeout, and says whether
the webhook took it: the page learns of a webhook that is down rather than assuming it was told.
"""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.error
import urllib.request
from datetime import datetime, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bridge_server.errors import ApiError
from bridge_server.routes.common import body
from bridge_server.security import require_token

PREFIX = "/api/v1/alerts"
#: Seconds the webhook has to answer.
WEBHOOK_TIMEOUT = 5.0
EVENTS = ("run.failed", "run.waiting")

ALERT: dict[str, Any] = {
    "type": "object",
    "required": ["event", "run_id", "message"],
    "additionalProperties": False,
    "properties": {
        "event": {"enum": list(EVENTS), "description": "a hardware run failed, or waits for the operator"},
        "run_id": {"type": "string", "minLength": 1, "maxLength": 100},
        "protocol": {"type": ["string", "null"], "maxLength": 300},
        "message": {"type": "string", "maxLength": 4000},
        "devices": {"type": "array", "maxItems": 50, "items": {"type": "string", "maxLength": 300}},
    },
}
DELIVERY: dict[str, Any] = {
    "type": "object",
    "required": ["delivered"],
    "properties": {"delivered": {"type": "boolean"}, "status": {"type": "integer"},
                   "reason": {"type": "string"}},
}


def _post(url: str, document: dict[str, Any]) -> int:
    request = urllib.request.Request(url, data=json.dumps(document).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "labwright"})
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:  # noqa: S310 - the lab's own URL
        return int(response.status)


async def alert(request: Request) -> JSONResponse:
    require_token(request)
    event = await body(request, ALERT)
    url = request.app.state.settings.webhook_url
    if not url:
        return JSONResponse({"delivered": False, "reason": "no webhook configured (LABWRIGHT_WEBHOOK_URL)"})
    document = {"source": "labwright", "host": socket.gethostname(),
                "at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **event}
    try:
        status = await asyncio.to_thread(_post, url, document)
    except urllib.error.HTTPError as error:
        raise ApiError(502, f"the webhook answered {error.code} {error.reason}", kind="webhook-failed") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise ApiError(502, f"the webhook could not be reached: {reason}", kind="webhook-failed") from None
    return JSONResponse({"delivered": True, "status": status})


ROUTES = [Route(PREFIX, alert, methods=["POST"])]
