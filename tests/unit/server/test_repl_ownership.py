"""A REPL session belongs to its client: a device's session to the client holding the device's
lease, a socket's session to that socket. Another client cannot read, interrupt or end it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets

from tests.serving import running_server
from tests.unit.server.bridge_client import HARDWARE, TOKEN, Bridge, repl_socket, run_code, until

pytestmark = pytest.mark.cpython

SCALE = "simulator:pylabrobot.scales.chatterbox.ScaleChatterboxBackend"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, catalog_file: Path) -> Iterator[Bridge]:
    env = {"LABWRIGHT_TOKEN": TOKEN, "LABWRIGHT_DATA_DIR": str(tmp_path_factory.mktemp("ownership")),
           "LABWRIGHT_CATALOG": str(catalog_file), "LABWRIGHT_MDNS": "0"}
    with running_server(env=env) as url:
        bridge = Bridge(url)
        yield bridge
        bridge.close()


@pytest.fixture
def alice_holds_the_scale(server: Bridge) -> Iterator[None]:
    assert server.post(f"{HARDWARE}/connect", {"device_id": SCALE}, client="alice").status_code == 200
    yield
    server.post(f"{HARDWARE}/disconnect", {"device_id": SCALE}, client="alice")


def repl(server: Bridge, client: str | None, code: str):
    return server.post(f"{HARDWARE}/repl", {"device_id": SCALE, "code": code}, client=client)


def test_another_client_cannot_run_code_in_a_device_session(server: Bridge, alice_holds_the_scale):
    assert repl(server, "alice", "secret = 41").json()["error"] is None
    other = repl(server, "bob", "secret")
    assert other.status_code == 403, other.text
    assert other.json()["type"].endswith("/not-your-session")
    assert "belongs to client 'alice'" in other.json()["detail"]
    assert repl(server, None, "secret").status_code == 422  # no client id: nobody's session
    assert repl(server, "alice", "secret").json()["result"] == "41"


def test_closing_a_socket_never_ends_a_session_held_by_a_lease(server: Bridge, alice_holds_the_scale,
                                                               run_async):
    assert repl(server, "alice", "kept = 5").json()["error"] is None

    async def open_and_close() -> None:
        socket_ = await repl_socket(server.url, "alice")
        await socket_.close()

    run_async(open_and_close())
    assert repl(server, "alice", "kept").json()["result"] == "5"


def test_a_second_socket_cannot_join_a_live_session(server: Bridge, run_async):
    async def main():
        owner = await repl_socket(server.url, "carol")
        try:
            await run_code(owner, "secret = 'carol only'", 1)
            ws_url = server.url.replace("http://", "ws://") + f"{HARDWARE}/ws/repl"
            async with websockets.connect(ws_url, subprotocols=["labwright", f"bearer.{TOKEN}",  # type: ignore[list-item]
                                                                "client.carol"], open_timeout=10) as impostor:
                assert json.loads(await impostor.recv())["type"] == "ready"
                refusal = json.loads(await asyncio.wait_for(impostor.recv(), 10))
                try:
                    await impostor.send(json.dumps({"type": "execute", "id": 1, "code": "secret"}))
                    leaked = json.loads(await asyncio.wait_for(impostor.recv(), 10))
                except websockets.exceptions.ConnectionClosed as closed:
                    leaked = {"closed": closed.rcvd.code if closed.rcvd else None}
            _, still = await run_code(owner, "secret", 2)
            return refusal, leaked, still
        finally:
            await owner.close()

    refusal, leaked, still = run_async(main())
    assert refusal["type"] == "error" and refusal["status"] == 409 and refusal["kind"] == "session-in-use"
    assert leaked == {"closed": 4409}
    assert still["result"] == "'carol only'"


def test_an_interrupt_reaches_only_the_senders_own_session(server: Bridge, run_async):
    async def main():
        worker, other = await repl_socket(server.url, "dave"), await repl_socket(server.url, "eve")
        try:
            await worker.send(json.dumps({"type": "execute", "id": 1,
                                          "code": "import time\ntime.sleep(2)\n'slept'"}))
            await asyncio.sleep(0.5)
            await other.send(json.dumps({"type": "interrupt", "id": 9}))
            _, answer = await until(other, "interrupted")
            _, result = await until(worker, "result")
            return answer, result
        finally:
            await worker.close()
            await other.close()

    answer, result = run_async(main())
    assert answer["ok"] is False
    assert result["result"] == "'slept'" and result["error"] is None
