"""Remote serial ports against a real `labwright serve`: real pyserial on a pty, a scale behind it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import termios
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import websockets

from tests.pty_devices import PtyScale
from tests.serving import running_server
from tests.unit.server.bridge_client import HARDWARE, TOKEN, Bridge, handshake

pytestmark = pytest.mark.cpython

AUTH = ["labwright", f"bearer.{TOKEN}"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, catalog_file: Path, lab_database) -> Iterator[Bridge]:
    env = {"LABWRIGHT_TOKEN": TOKEN, "LABWRIGHT_DATA_DIR": str(tmp_path_factory.mktemp("remote-serial")),
           "LABWRIGHT_CATALOG": str(catalog_file), "LABWRIGHT_MDNS": "0",
           "LABWRIGHT_SERIAL_GLOBS": "/dev/pts/[0-9]*", **lab_database.env()}
    with running_server(env=env) as url:
        bridge = Bridge(url)
        yield bridge
        bridge.close()


@pytest.fixture
def scale() -> Iterator[PtyScale]:
    with PtyScale(serial_number="B555") as device:
        yield device


def socket_url(server: Bridge, path: str) -> str:
    return server.url.replace("http://", "ws://") + f"{HARDWARE}/ws/serial/{quote(path, safe='')}"


async def opened(server: Bridge, path: str, settings: dict | None = None, **connect):
    connect.setdefault("subprotocols", AUTH)
    socket_ = await websockets.connect(socket_url(server, path), open_timeout=10, **connect)
    assert json.loads(await socket_.recv())["type"] == "ready"
    with contextlib.suppress(websockets.exceptions.ConnectionClosed):  # refused before `open`
        await socket_.send(json.dumps({"type": "open", "id": 1, **(settings or {"baudRate": 9600})}))
    return socket_, json.loads(await asyncio.wait_for(socket_.recv(), 10))


async def command(socket_, line: str) -> bytes:
    await socket_.send((line + "\r\n").encode())
    reply = b""
    while not reply.endswith(b"\r\n"):
        frame = await asyncio.wait_for(socket_.recv(), 10)
        assert isinstance(frame, bytes), frame
        reply += frame
    return reply


def test_a_page_drives_the_scale_through_real_pyserial(server: Bridge, scale: PtyScale, run_async):
    async def main():
        socket_, reply = await opened(server, scale.path, {"baudRate": 4800, "dataBits": 7,
                                                           "parity": "odd", "stopBits": 1})
        assert reply == {"type": "opened", "id": 1, "port": scale.path,
                         "settings": {"baudRate": 4800, "dataBits": 7, "parity": "odd",
                                      "stopBits": 1, "flowControl": "none"}}
        # the line settings reached the tty itself (Linux ptys force CS8 and clear PARENB, so
        # speed and PARODD are what the tty keeps of "4800 7O1")
        iflag, oflag, cflag, lflag, ispeed, ospeed, cc = termios.tcgetattr(scale.device)
        assert (ispeed, ospeed, bool(cflag & termios.PARODD)) == (termios.B4800, termios.B4800, True)
        assert await command(socket_, "I4") == b'I4 A "B555"\r\n'
        scale.place(10.0)
        assert await command(socket_, "Z") == b"Z A\r\n"
        scale.place(12.25)
        assert await command(socket_, "S") == b"S S 2.25000 g\r\n"
        await socket_.send(json.dumps({"type": "get-signals", "id": 7}))
        signals = json.loads(await asyncio.wait_for(socket_.recv(), 10))
        # a pty has no modem lines: the ioctl's failure comes back as a clear error, and the
        # socket carries on
        assert (signals["type"], signals["id"], signals["code"]) == ("error", 7, "device")
        assert signals["message"].startswith(scale.path)
        await socket_.send(json.dumps({"type": "close", "id": 8}))
        assert json.loads(await asyncio.wait_for(socket_.recv(), 10)) == {"type": "closed", "id": 8}
        await socket_.wait_closed()
        # closed and released: the port opens again at once
        again, reply = await opened(server, scale.path)
        assert reply["type"] == "opened"
        assert await command(again, "S") == b"S S 2.25000 g\r\n"
        await again.close()

    run_async(main())
    assert scale.received == ["I4", "Z", "S", "S"]


def test_ports_are_opened_exclusively(server: Bridge, scale: PtyScale, run_async):
    import serial

    async def main():
        socket_, reply = await opened(server, scale.path)
        assert reply["type"] == "opened"
        try:
            with pytest.raises(serial.SerialException):  # the server holds it: nobody else gets it
                serial.Serial(scale.path, exclusive=True)
        finally:
            await socket_.send(json.dumps({"type": "close", "id": 2}))
            # 'closed' comes once the server let go of the port
            assert json.loads(await asyncio.wait_for(socket_.recv(), 10))["type"] == "closed"
        holder = serial.Serial(scale.path, exclusive=True)  # another program holds it now
        try:
            refused, answer = await opened(server, scale.path)
            await _closed(refused)
            return answer, refused.close_code
        finally:
            holder.close()

    answer, code = run_async(main())
    assert answer["type"] == "error" and answer["code"] == "open-failed" and code == 4404
    assert scale.path in answer["message"]


def test_token_and_origin_are_required(server: Bridge, scale: PtyScale, run_async):
    url = socket_url(server, scale.path)

    def attempt(origin: str | None, protocols: list[str], first: dict | None = None):
        return handshake(url, origin, protocols, first)

    async def main() -> dict[str, str]:
        own = server.url.rstrip("/")
        return {
            "foreign origin": await attempt("http://evil.example", AUTH),
            "bad token": await attempt(own, ["labwright", "bearer.nope"]),
            "no auth": await attempt(own, [], {"type": "open", "baudRate": 9600}),
            "subprotocol": await attempt(own, AUTH),
            "first message": await attempt(own, [], {"type": "auth", "token": TOKEN}),
        }

    outcome = run_async(main())
    assert outcome["foreign origin"] in ("rejected 403", "closed 1008")
    assert outcome["bad token"] in ("rejected 403", "closed 1008")
    assert outcome["no auth"] == "refused 401"
    assert outcome["subprotocol"] == "ready" and outcome["first message"] == "ready"
    assert scale.raw == b""  # nothing reached the device


def test_bad_requests_get_clear_errors(server: Bridge, scale: PtyScale, run_async):
    async def main():
        results = {}
        socket_, reply = await opened(server, "/etc/passwd")
        results["unlisted"] = (reply, socket_.close_code if await _closed(socket_) else None)
        socket_, reply = await opened(server, scale.path, {"baudRate": -5, "dataBits": 9, "parity": "weird"})
        results["settings"] = (reply, socket_.close_code if await _closed(socket_) else None)
        socket_, reply = await opened(server, scale.path)
        assert reply["type"] == "opened"
        second, refused = await opened(server, scale.path)
        results["second socket"] = (refused, second.close_code if await _closed(second) else None)
        await socket_.send("not json")
        results["not json"] = json.loads(await asyncio.wait_for(socket_.recv(), 10))
        await socket_.send(json.dumps({"type": "signals", "id": 3, "requestToSend": "yes"}))
        results["bad signal"] = json.loads(await asyncio.wait_for(socket_.recv(), 10))
        await socket_.send(json.dumps({"type": "explode", "id": 4}))
        results["unknown"] = json.loads(await asyncio.wait_for(socket_.recv(), 10))
        # the socket still works after all of that
        results["still works"] = await command(socket_, "I4")
        await socket_.close()
        return results

    results = run_async(main())
    reply, code = results["unlisted"]
    assert reply["code"] == "not-found" and "/etc/passwd" in reply["message"] and code == 4404
    assert scale.path in reply["message"]  # names the ports that are listed
    reply, code = results["settings"]
    assert reply["code"] == "bad-request" and code == 4400
    assert all(word in reply["message"] for word in ("baudRate", "dataBits", "parity"))
    reply, code = results["second socket"]
    assert reply["code"] == "in-use" and code == 4409
    assert results["not json"]["code"] == "bad-request"
    assert results["bad signal"] == {"type": "error", "id": 3, "code": "bad-request",
                                     "message": "requestToSend must be true or false, got 'yes'"}
    assert results["unknown"]["code"] == "bad-request" and "explode" in results["unknown"]["message"]
    assert results["still works"] == b'I4 A "B555"\r\n'


def test_a_leased_port_is_refused_to_other_clients(server: Bridge, scale: PtyScale, run_async):
    devices = server.get(f"{HARDWARE}/discover/serial").json()["devices"]
    device_id = next(d["id"] for d in devices if d["port"] == scale.path)
    leased = server.post(f"{HARDWARE}/connect", {
        "device_id": device_id,
        "backend": "pylabrobot.scales.mettler_toledo_backend.MettlerToledoWXS205SDUBackend"}, client="holder")
    assert leased.status_code == 200, leased.text
    try:
        async def main():
            other, reply = await opened(server, scale.path,
                                        subprotocols=[*AUTH, "client.someone-else"])
            await _closed(other)
            holder, mine = await opened(server, scale.path, subprotocols=[*AUTH, "client.holder"])
            await holder.close()
            return reply, other.close_code, mine["type"]

        reply, code, mine = run_async(main())
    finally:
        server.post(f"{HARDWARE}/disconnect", {"device_id": device_id}, client="holder")
    assert reply["code"] == "in-use" and "holder" in reply["message"] and code == 4409
    assert mine == "opened"


def test_an_unplugged_device_is_reported_not_hung(server: Bridge, run_async):
    scale = PtyScale().__enter__()

    async def main():
        socket_, reply = await opened(server, scale.path)
        assert reply["type"] == "opened"
        started = time.monotonic()
        scale.unplug()
        lost = json.loads(await asyncio.wait_for(socket_.recv(), 10))
        await _closed(socket_)
        return lost, socket_.close_code, time.monotonic() - started

    lost, code, elapsed = run_async(main())
    assert lost["type"] == "error" and lost["code"] == "lost" and scale.path in lost["message"]
    assert code == 4410 and elapsed < 5


async def _closed(socket_) -> bool:
    try:
        while True:
            await asyncio.wait_for(socket_.recv(), 10)
    except websockets.exceptions.ConnectionClosed:
        return True


def test_every_websocket_is_named_in_the_openapi_document():
    from starlette.routing import WebSocketRoute

    from bridge_server.app import create_app
    from bridge_server.openapi import DOCUMENT
    from bridge_server.settings import Settings

    app = create_app(Settings(load_catalog=False, mdns=False))
    sockets = {route.path.replace(":path}", "}") for route in app.routes if isinstance(route, WebSocketRoute)}
    assert "/api/v1/hardware/ws/serial/{port}" in sockets
    assert sockets <= set(DOCUMENT["x-websockets"])
