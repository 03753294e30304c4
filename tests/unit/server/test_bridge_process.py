"""The bridge API against a real `labwright serve`: security, leases, restarts, races, discovery."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import socket
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.serving import free_port, running_server
from tests.unit.server.bridge_client import HARDWARE, TOKEN, Bridge, handshake

pytestmark = pytest.mark.cpython

SCALE = "simulator:pylabrobot.scales.chatterbox.ScaleChatterboxBackend"

PROTECTED = [
    ("POST", "api/v1/definitions/sync", {}),
    ("GET", f"{HARDWARE}/discover", None),
    ("GET", f"{HARDWARE}/discover/serial", None),
    ("GET", f"{HARDWARE}/discover/simulators", None),
    ("GET", f"{HARDWARE}/discover/network", None),
    ("POST", f"{HARDWARE}/connect", {"device_id": SCALE}),
    ("POST", f"{HARDWARE}/disconnect", {"device_id": SCALE}),
    ("POST", f"{HARDWARE}/heartbeat", {"device_id": SCALE}),
    ("GET", f"{HARDWARE}/connections", None),
    ("GET", f"{HARDWARE}/connections/{SCALE}", None),
    ("POST", f"{HARDWARE}/register", {"device_id": "x", "name": "x", "backend": "x",
                                      "connection_type": "serial"}),
    ("GET", f"{HARDWARE}/devices", None),
    ("GET", f"{HARDWARE}/devices/x", None),
    ("PUT", f"{HARDWARE}/devices/x", {"name": "x", "backend": "x", "connection_type": "serial"}),
    ("DELETE", f"{HARDWARE}/devices/x", None),
    ("POST", f"{HARDWARE}/repl", {"device_id": SCALE, "code": "1"}),
]


def _env(data_dir: Path, catalog: Path, **extra: str) -> dict[str, str]:
    return {"LABWRIGHT_TOKEN": TOKEN, "LABWRIGHT_DATA_DIR": str(data_dir),
            "LABWRIGHT_CATALOG": str(catalog), **extra}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, catalog_file: Path, lab_database) -> Iterator[Bridge]:
    data_dir = tmp_path_factory.mktemp("bridge-data")
    with running_server(env=_env(data_dir, catalog_file, LABWRIGHT_REPL_TIME_LIMIT="3",
                                 **lab_database.env())) as url:
        bridge = Bridge(url)
        yield bridge
        bridge.close()


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED, ids=[f"{m} {p}" for m, p, _ in PROTECTED])
def test_every_protected_endpoint_is_401_without_the_token(server: Bridge, method, path, body):
    for token in (None, "wrong-token"):
        headers = server.headers(client="c", token=token)
        response = server.http.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (method, path, token)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 401


def test_read_only_catalog_and_static_files_need_no_token(server: Bridge):
    assert server.http.get("api/v1/health").status_code == 200
    assert server.http.get("api/v1/openapi.json").status_code == 200
    assert server.http.get("api/v1/definitions").status_code == 200
    assert server.http.get("/").status_code == 200


def test_start_url_carries_the_token(tmp_path: Path, catalog_file: Path):
    import subprocess

    from tests.serving import LABWRIGHT, ROOT, server_env

    port = free_port()
    process = subprocess.Popen([str(LABWRIGHT), "serve", "--port", str(port), "--data-dir", str(tmp_path)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               env=server_env({"LABWRIGHT_CATALOG": str(catalog_file)}))
    try:
        line = process.stdout.readline()  # type: ignore[union-attr]
        assert f"http://127.0.0.1:{port}/#token=" in line
        token = line.strip().rpartition("#token=")[2]
        assert len(token) >= 24
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 10
        while True:
            try:
                response = httpx.get(url + f"{HARDWARE}/connections",
                                     headers={"Authorization": f"Bearer {token}"})
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert response.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_cors_names_the_origin_and_never_star(server: Bridge):
    own = server.url.rstrip("/")
    allowed = server.http.options(f"{HARDWARE}/connect", headers={
        "Origin": own, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,x-labwright-client,content-type"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == own
    foreign = server.http.options(f"{HARDWARE}/connect", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert foreign.headers.get("access-control-allow-origin") != "*"
    assert "access-control-allow-origin" not in foreign.headers
    response = server.post(f"{HARDWARE}/connect", {"device_id": SCALE},
                           headers={"Origin": "http://evil.example"})
    assert response.status_code == 403


def test_websocket_origin_and_token_are_checked(server: Bridge, run_async):
    ws_url = server.url.replace("http://", "ws://") + f"{HARDWARE}/ws/repl"

    def attempt(origin: str | None, protocols: list[str], first: dict | None = None):
        return handshake(ws_url, origin, protocols, first)

    async def main() -> dict[str, str]:
        own = server.url.rstrip("/")
        return {
            "foreign origin": await attempt("http://evil.example", ["labwright", f"bearer.{TOKEN}"]),
            "bad token": await attempt(own, ["labwright", "bearer.nope"]),
            "no auth": await attempt(own, [], {"type": "execute", "code": "1"}),
            "subprotocol": await attempt(own, ["labwright", f"bearer.{TOKEN}", "client.ws-test"]),
            "first message": await attempt(own, [], {"type": "auth", "token": TOKEN, "client": "ws-test"}),
        }

    outcome = run_async(main())
    assert outcome["foreign origin"] == "rejected 403"
    assert outcome["bad token"] == "rejected 403"
    assert outcome["no auth"] == "refused 401"
    assert outcome["subprotocol"] == "ready"
    assert outcome["first message"] == "ready"


def test_bodies_too_large_or_malformed_are_4xx(server: Bridge):
    url = f"{HARDWARE}/connect"
    too_large = server.http.post(url, content=b'{"device_id": "' + b"x" * 200_000 + b'"}',
                                 headers=server.headers())
    assert too_large.status_code == 413
    malformed = server.http.post(url, content=b"{not json", headers=server.headers())
    assert malformed.status_code == 400
    unknown = server.post(url, {"device_id": SCALE, "colour": "red", "speed": 3})
    assert unknown.status_code == 422
    assert unknown.json()["unknown_fields"] == ["colour", "speed"]
    assert "colour" in unknown.json()["detail"] and "speed" in unknown.json()["detail"]
    wrong_type = server.post(url, {"device_id": 5})
    assert wrong_type.status_code == 422
    no_client = server.post(url, {"device_id": SCALE}, client=None)
    assert no_client.status_code == 422
    bad_config = server.post(url, {"device_id": SCALE, "config": {"dummy_weight": "heavy", "tare": 1}})
    assert bad_config.status_code == 422
    assert bad_config.json()["unknown_fields"] == ["config.tare"]


def test_lease_conflicts_force_and_release(server: Bridge):
    device = server.simulator("shaker")["id"]
    first = server.post(f"{HARDWARE}/connect", {"device_id": device}, client="alice")
    assert first.status_code == 200 and first.json()["client_id"] == "alice"
    again = server.post(f"{HARDWARE}/connect", {"device_id": device}, client="alice")
    assert again.status_code == 200  # the holder reconnecting keeps its lease
    taken = server.post(f"{HARDWARE}/connect", {"device_id": device}, client="bob")
    assert taken.status_code == 409 and taken.json()["holder"] == "alice"
    assert server.post(f"{HARDWARE}/heartbeat", {"device_id": device}, client="bob").status_code == 409
    assert server.post(f"{HARDWARE}/disconnect", {"device_id": device}, client="bob").status_code == 409
    forced = server.post(f"{HARDWARE}/connect", {"device_id": device, "force": True}, client="bob")
    assert forced.status_code == 200 and forced.json()["client_id"] == "bob"
    assert server.post(f"{HARDWARE}/heartbeat", {"device_id": device}, client="alice").status_code == 409
    state = server.get(f"{HARDWARE}/connections/{device}").json()
    assert state["client_id"] == "bob"
    released = server.post(f"{HARDWARE}/disconnect", {"device_id": device}, client="bob")
    assert released.status_code == 200 and released.json()["status"] == "released"
    assert server.get(f"{HARDWARE}/connections/{device}").status_code == 404
    assert server.post(f"{HARDWARE}/connect", {"device_id": "simulator:nothing"}).status_code == 404


def test_fifty_clients_racing_for_one_device_have_one_winner(server: Bridge, run_async):
    devices = server.get(f"{HARDWARE}/discover/simulators").json()["devices"]
    for round_number, device in enumerate(devices[:3]):
        barrier_clients = [f"racer-{round_number}-{i}" for i in range(50)]

        async def race(device_id: str = device["id"]) -> list[int]:
            limits = httpx.Limits(max_connections=50)
            async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=60) as client:
                start = asyncio.Event()

                async def one(name: str) -> int:
                    await start.wait()
                    response = await client.post(f"{HARDWARE}/connect", json={"device_id": device_id},
                                                 headers=server.headers(client=name))
                    return response.status_code

                tasks = [asyncio.create_task(one(name)) for name in barrier_clients]
                await asyncio.sleep(0.05)
                start.set()
                return await asyncio.gather(*tasks)

        codes = run_async(race())
        assert sorted(codes) == [200] + [409] * 49, codes
        winner = server.get(f"{HARDWARE}/connections/{device['id']}").json()["client_id"]
        assert winner in barrier_clients
        server.post(f"{HARDWARE}/disconnect", {"device_id": device["id"]}, client=winner)


def test_repl_runs_in_the_lease_holders_session_with_the_machine(server: Bridge):
    assert server.post(f"{HARDWARE}/connect", {"device_id": SCALE, "config": {"dummy_weight": 2.5}},
                       client="weigher").status_code == 200
    def repl(code: str):
        return server.post(f"{HARDWARE}/repl", {"device_id": SCALE, "code": code}, client="weigher")

    first = repl("w = await machine.read_weight()\nw")
    assert first.status_code == 200, first.text
    assert first.json()["result"] == "2.5" and first.json()["error"] is None
    second = repl("print('kept', w)").json()
    assert second["output"] == "kept 2.5\n"
    failing = repl("1/0").json()
    assert failing["error"]["type"] == "ZeroDivisionError"
    # The time limit (3 s here) interrupts a runaway statement; the session survives it.
    slow = repl("while True: pass").json()
    assert slow["error"]["type"] == "TimeoutError"
    assert repl("w").json()["result"] == "2.5"
    server.post(f"{HARDWARE}/disconnect", {"device_id": SCALE}, client="weigher")
    assert repl("1").status_code == 404


def test_repl_websocket_streams_completes_interrupts_and_isolates(server: Bridge, run_async):
    ws_url = server.url.replace("http://", "ws://") + f"{HARDWARE}/ws/repl"

    async def session(client: str):
        socket_ = await websockets.connect(ws_url, subprotocols=["labwright", f"bearer.{TOKEN}",  # type: ignore[list-item]
                                                                 f"client.{client}"], open_timeout=10)
        assert json.loads(await socket_.recv())["type"] == "ready"
        return socket_

    async def until(socket_, kind: str) -> tuple[list[dict], dict]:
        seen = []
        while True:
            message = json.loads(await asyncio.wait_for(socket_.recv(), 30))
            if message["type"] == kind:
                return seen, message
            seen.append(message)

    async def main() -> None:
        one, two = await session("ws-one"), await session("ws-two")
        await one.send(json.dumps({"type": "execute", "id": 1,
                                   "code": "import asyncio\nfor i in range(3):\n    print(i)\n"
                                           "    await asyncio.sleep(0.01)\nsecret = 41\nsecret + 1"}))
        streamed, result = await until(one, "result")
        assert result["result"] == "42" and result["id"] == 1
        assert "".join(m["text"] for m in streamed if m["type"] == "stream") == "0\n1\n2\n"
        await two.send(json.dumps({"type": "execute", "id": 2, "code": "secret"}))
        _, isolated = await until(two, "result")
        assert isolated["error"]["type"] == "NameError"
        await one.send(json.dumps({"type": "complete", "id": 3, "code": "secr"}))
        _, completions = await until(one, "completions")
        assert [c["name"] for c in completions["completions"]] == ["secret"]
        await one.send(json.dumps({"type": "signatures", "id": 4, "code": "divmod(1, "}))
        _, signatures = await until(one, "signatures")
        assert signatures["signatures"][0]["name"] == "divmod" and signatures["signatures"][0]["index"] == 1
        await one.send(json.dumps({"type": "execute", "id": 5, "code": "import time\ntime.sleep(20)"}))
        await asyncio.sleep(1.0)
        await one.send(json.dumps({"type": "interrupt"}))
        _, interrupted = await until(one, "result")
        assert interrupted["error"]["type"] == "KeyboardInterrupt"
        await one.send(json.dumps({"type": "execute", "id": 6, "code": "secret"}))
        _, still = await until(one, "result")
        assert still["result"] == "41"
        await one.close()
        await two.close()

    run_async(main())


def test_ttl_expiry_and_restart_keep_leases_and_profiles(tmp_path: Path, catalog_file: Path, lab_database):
    env = _env(tmp_path, catalog_file, LABWRIGHT_CONNECTION_TTL="2", **lab_database.fresh().env())
    with running_server(env=env) as url:
        bridge = Bridge(url)
        scale = bridge.simulator("scale")["id"]
        shaker = bridge.simulator("shaker")["id"]
        assert bridge.post(f"{HARDWARE}/connect", {"device_id": scale}, client="alice").status_code == 200
        profile = {"device_id": "bench-scale", "name": "Bench scale", "connection_type": "simulator",
                   "backend": "pylabrobot.scales.chatterbox.ScaleChatterboxBackend",
                   "configuration": {"dummy_weight": 1.0}}
        assert bridge.post(f"{HARDWARE}/register", profile).status_code == 201
        assert bridge.post(f"{HARDWARE}/register", profile).status_code == 409
        time.sleep(2.5)
        # Expired: gone from every listing, and another client can take it.
        assert bridge.get(f"{HARDWARE}/connections").json()["connections"] == []
        assert bridge.post(f"{HARDWARE}/heartbeat", {"device_id": scale}, client="alice").status_code == 404
        assert bridge.post(f"{HARDWARE}/connect", {"device_id": scale}, client="bob").status_code == 200
        assert bridge.post(f"{HARDWARE}/connect", {"device_id": "bench-scale"}, client="carol").status_code == 200
        bridge.close()
    env["LABWRIGHT_CONNECTION_TTL"] = "30"
    with running_server(env=env) as url:
        bridge = Bridge(url)
        bridge.post(f"{HARDWARE}/connect", {"device_id": shaker}, client="dave")
    with running_server(env=env) as url:  # a second restart: the 30 s lease is still there
        bridge = Bridge(url)
        held = {c["device_id"]: c["client_id"] for c in bridge.get(f"{HARDWARE}/connections").json()["connections"]}
        assert held[shaker] == "dave"
        assert bridge.post(f"{HARDWARE}/heartbeat", {"device_id": shaker}, client="dave").status_code == 200
        assert bridge.post(f"{HARDWARE}/connect", {"device_id": shaker}, client="eve").status_code == 409
        saved = bridge.get(f"{HARDWARE}/devices/bench-scale").json()
        assert saved["configuration"] == {"dummy_weight": 1.0} and saved["name"] == "Bench scale"
        bridge.close()


def test_profiles_are_validated_against_the_backend_constructor(server: Bridge):
    base = {"device_id": "ot2-lab", "name": "OT-2", "connection_type": "network",
            "backend": "pylabrobot.liquid_handling.backends.opentrons_backend.OpentronsOT2Backend"}
    missing = server.post(f"{HARDWARE}/register", base)
    assert missing.status_code == 422 and "configuration.host" in missing.json()["detail"]
    unknown = server.post(f"{HARDWARE}/register", {**base, "configuration": {"host": "ot2.local", "colour": 1}})
    assert unknown.status_code == 422 and unknown.json()["unknown_fields"] == ["configuration.colour"]
    no_backend = server.post(f"{HARDWARE}/register", {**base, "backend": "pylabrobot.nothing.Backend"})
    assert no_backend.status_code == 422
    saved = server.post(f"{HARDWARE}/register", {**base, "configuration": {"host": "ot2.local"}})
    assert saved.status_code == 201
    changed = server.http.put(f"{HARDWARE}/devices/ot2-lab", headers=server.headers(),
                              json={**{k: v for k, v in base.items() if k != "device_id"},
                                    "configuration": {"host": "ot2.local", "port": 31950}})
    assert changed.status_code == 200 and changed.json()["configuration"]["port"] == 31950
    assert [p["device_id"] for p in server.get(f"{HARDWARE}/devices").json()["devices"]] == ["ot2-lab"]
    assert server.http.delete(f"{HARDWARE}/devices/ot2-lab", headers=server.headers()).status_code == 200
    assert server.get(f"{HARDWARE}/devices/ot2-lab").status_code == 404


def test_mdns_opentrons_service_is_discovered_and_matched(server: Bridge):
    from zeroconf import IPVersion, ServiceInfo, Zeroconf

    # Zeroconf's sync API adopts a running event loop of the calling thread, and Playwright's
    # sync API leaves one running on the main thread once e2e tests ran: call it off that thread.
    def off_loop(fn, *args):
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(fn, *args).result()

    announcer = off_loop(lambda: Zeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only))
    info = ServiceInfo("_http._tcp.local.", "Lab OT-2 test._http._tcp.local.",
                       addresses=[socket.inet_aton("127.0.0.1")], port=31950,
                       properties={"robotModel": "OT-2 Standard", "serialNumber": "OT2CEP2021"},
                       server="labot2.local.")
    unknown = ServiceInfo("_http._tcp.local.", "Some printer._http._tcp.local.",
                          addresses=[socket.inet_aton("127.0.0.1")], port=8080, properties={},
                          server="printer.local.")
    off_loop(announcer.register_service, info)
    off_loop(announcer.register_service, unknown)
    try:
        deadline = time.monotonic() + 15
        while True:
            devices = server.get(f"{HARDWARE}/discover/network", params={"timeout": 2}).json()["devices"]
            robot = next((d for d in devices if d["id"] == "network:Lab OT-2 test._http._tcp.local."), None)
            other = next((d for d in devices if "Some printer" in d["id"]), None)
            if (robot and other) or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert robot is not None, devices
        assert robot["manufacturer"] == "Opentrons" and robot["model"] == "OT-2 Standard"
        assert robot["machine_kind"] == "liquid_handler" and robot["ip_address"] == "127.0.0.1"
        assert robot["port"] == "31950" and robot["serial_number"] == "OT2CEP2021"
        assert "pylabrobot.liquid_handling.backends.opentrons_backend.OpentronsOT2Backend" in robot["plr_backends"]
        assert other is not None and other["manufacturer"] == "unknown" and other["plr_backends"] == []
        everything = server.get(f"{HARDWARE}/discover").json()["devices"]
        assert robot["id"] in {d["id"] for d in everything}
        # Connecting fills host and port from the announcement; the lease is taken.
        connected = server.post(f"{HARDWARE}/connect", {"device_id": robot["id"]}, client="ot-user")
        assert connected.status_code == 200, connected.text
        assert connected.json()["config"] == {"host": "127.0.0.1", "port": 31950}
        server.post(f"{HARDWARE}/disconnect", {"device_id": robot["id"]}, client="ot-user")
    finally:
        off_loop(announcer.unregister_service, info)
        off_loop(announcer.unregister_service, unknown)
        off_loop(announcer.close)


def test_a_pty_backed_serial_port_is_listed(tmp_path_factory: pytest.TempPathFactory, catalog_file: Path):
    controller, device = os.openpty()
    tty.setraw(device)
    path = os.ttyname(device)
    try:
        env = _env(tmp_path_factory.mktemp("serial"), catalog_file, LABWRIGHT_SERIAL_GLOBS=path)
        with running_server(env=env) as url:
            bridge = Bridge(url)
            devices = bridge.get(f"{HARDWARE}/discover/serial").json()["devices"]
            listed = next(d for d in devices if d["port"] == path)
            assert listed["id"] == f"serial:{path}" and listed["connection_type"] == "serial"
            again = bridge.get(f"{HARDWARE}/discover/serial").json()["devices"]
            assert listed["id"] in {d["id"] for d in again}
            # A serial device connects with a backend that takes a port; the port is implied.
            connected = bridge.post(f"{HARDWARE}/connect", {
                "device_id": listed["id"],
                "backend": "pylabrobot.scales.mettler_toledo_backend.MettlerToledoWXS205SDUBackend"})
            assert connected.status_code == 200, connected.text
            assert connected.json()["config"] == {"port": path}
            bridge.close()
    finally:
        os.close(controller)
        os.close(device)
