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


async def repl_socket(url: str, client: str, token: str = TOKEN):
    """A REPL WebSocket of ``client``, authenticated, past its ``ready``."""
    import json

    import websockets

    ws_url = url.replace("http://", "ws://") + f"{HARDWARE}/ws/repl"
    socket_ = await websockets.connect(ws_url, subprotocols=["labwright", f"bearer.{token}",  # type: ignore[list-item]
                                                             f"client.{client}"], open_timeout=10)
    assert json.loads(await socket_.recv())["type"] == "ready"
    return socket_


async def until(socket_, kind: str, timeout: float = 30) -> tuple[list[dict], dict]:
    """Messages up to the first of type ``kind`` (or an ``error``): (those before, that one)."""
    import asyncio
    import json

    seen = []
    while True:
        message = json.loads(await asyncio.wait_for(socket_.recv(), timeout))
        if message["type"] in (kind, "error"):
            return seen, message
        seen.append(message)


async def run_code(socket_, code: str, ident: int = 1, timeout: float = 30) -> tuple[list[dict], dict]:
    """Execute ``code`` on a REPL socket: (stream messages, the result or error message)."""
    import json

    await socket_.send(json.dumps({"type": "execute", "id": ident, "code": code}))
    return await until(socket_, "result", timeout)


def process_alive(pid: int) -> bool:
    """Is ``pid`` still running (a zombie waiting for its reaper counts as gone)?"""
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rpartition(")")[2].split()[0] != "Z"
