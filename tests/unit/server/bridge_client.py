"""A small client for tests against a real bridge server: token, client id, problem bodies."""

from __future__ import annotations

from typing import Any

import httpx

TOKEN = "test-token-0123456789"
HARDWARE = "api/v1/hardware"


class Bridge:
    def __init__(self, url: str, token: str = TOKEN) -> None:
        self.url = url
        self.token = token
        self.http = httpx.Client(base_url=url, timeout=60)

    def headers(self, client: str | None = "tester", token: str | None = "default") -> dict[str, str]:
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {self.token if token == 'default' else token}"
        if client is not None:
            headers["X-Labwright-Client"] = client
        return headers

    def get(self, path: str, client: str | None = "tester", **kwargs: Any) -> httpx.Response:
        return self.http.get(path, headers={**self.headers(client), **kwargs.pop("headers", {})}, **kwargs)

    def post(self, path: str, body: Any, client: str | None = "tester", **kwargs: Any) -> httpx.Response:
        return self.http.post(path, json=body, headers={**self.headers(client), **kwargs.pop("headers", {})},
                              **kwargs)

    def simulator(self, kind: str) -> dict[str, Any]:
        devices = self.get(f"{HARDWARE}/discover/simulators").json()["devices"]
        return next(d for d in devices if d["machine_kind"] == kind)

    def close(self) -> None:
        self.http.close()


async def handshake(url: str, origin: str | None, protocols: list[str], first: dict | None = None) -> str:
    """How a bridge WebSocket answers one connection attempt: 'ready', 'refused <status>',
    'rejected <HTTP status>' (at the handshake) or 'closed <code>'."""
    import asyncio
    import json

    import websockets

    try:
        async with websockets.connect(url, origin=origin, subprotocols=protocols or None,  # type: ignore[arg-type]
                                      open_timeout=10) as socket_:
            if first is not None:
                await socket_.send(json.dumps(first))
            reply = json.loads(await asyncio.wait_for(socket_.recv(), 10))
            return reply["type"] if reply["type"] == "ready" else f"refused {reply.get('status')}"
    except websockets.exceptions.InvalidStatus as exc:
        return f"rejected {exc.response.status_code}"
    except websockets.exceptions.ConnectionClosed as exc:
        return f"closed {exc.rcvd.code if exc.rcvd else None}"
