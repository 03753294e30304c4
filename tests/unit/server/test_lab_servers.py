"""Several PCs, one lab: real `labwright serve` processes on one real PostgreSQL.

PC A has a scale on a pty; PC B has none. Each server has its own token. Discovery on either
lists the scale with the PC it is attached to; leases race across both servers with one winner;
a page served by B leases A's scale and drives it through A's remote port with a ticket from
B; a schedule change on A reaches B's change feed within a second; a server killed with -9
loses nothing it acknowledged while the other goes on.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.pty_devices import PtyScale
from tests.serving import running_server
from tests.unit.server.bridge_client import HARDWARE, Bridge

pytestmark = pytest.mark.cpython

TOKEN_A = "pc-a-token-0123456789"
TOKEN_B = "pc-b-token-9876543210"
SCALE_BACKEND = "pylabrobot.scales.mettler_toledo_backend.MettlerToledoWXS205SDUBackend"
SCHEDULE = "api/v1/schedule"
LIQUID_HANDLER = "pylabrobot.liquid_handling.liquid_handler.LiquidHandler"
PLATE = "pylabrobot.resources.corning.plates.Cor_96_wellplate_360ul_Fb"


class Lab:
    def __init__(self, a: Bridge, b: Bridge, scale: PtyScale, database_url: str) -> None:
        self.a, self.b, self.scale, self.database_url = a, b, scale, database_url

    def scale_on(self, server: Bridge) -> dict:
        """The scale as ``server`` lists it (waits for A's announcement to reach the database)."""
        deadline = time.monotonic() + 15
        while True:
            devices = server.get(f"{HARDWARE}/discover/serial").json()["devices"]
            found = [d for d in devices if d.get("port") == self.scale.path]
            if found or time.monotonic() > deadline:
                assert found, devices
                return found[0]
            time.sleep(0.2)


def _env(tmp: Path, token: str, node: str, database: str, catalog: Path, **extra: str) -> dict[str, str]:
    return {"LABWRIGHT_TOKEN": token, "LABWRIGHT_DATA_DIR": str(tmp / node), "LABWRIGHT_NODE": node,
            "LABWRIGHT_DATABASE_URL": database, "LABWRIGHT_CATALOG": str(catalog), "LABWRIGHT_MDNS": "0",
            **extra}


@pytest.fixture(scope="module")
def postgres_lab(postgres_cluster: str) -> str:
    from tests.unit.server.conftest import LabDatabaseUnderTest

    return LabDatabaseUnderTest.make("postgresql", postgres_cluster).url  # type: ignore[return-value]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, catalog_file: Path, postgres_lab: str) -> Iterator[Lab]:
    tmp = tmp_path_factory.mktemp("lab")
    with PtyScale(serial_number="LAB1") as scale, \
            running_server(env=_env(tmp, TOKEN_A, "pc-a", postgres_lab, catalog_file,
                                    LABWRIGHT_SERIAL_GLOBS=scale.path)) as url_a, \
            running_server(env=_env(tmp, TOKEN_B, "pc-b", postgres_lab, catalog_file)) as url_b:
        a, b = Bridge(url_a, token=TOKEN_A), Bridge(url_b, token=TOKEN_B)
        yield Lab(a, b, scale, postgres_lab)
        a.close()
        b.close()


def test_discovery_lists_every_pcs_devices_with_their_pc(lab: Lab):
    on_b = lab.scale_on(lab.b)
    on_a = lab.scale_on(lab.a)
    assert on_a["id"] == on_b["id"]
    assert (on_a["node"], on_b["node"]) == ("pc-a", "pc-a")
    assert on_b["node_url"] == lab.a.url.rstrip("/")
    nodes = {n["name"]: n for n in lab.b.get("api/v1/lab").json()["nodes"]}
    assert nodes["pc-a"]["alive"] and nodes["pc-b"]["alive"] and nodes["pc-b"]["self"]
    everything = lab.b.get(f"{HARDWARE}/discover?timeout=0").json()["devices"]
    assert any(d["id"] == on_a["id"] and d["node"] == "pc-a" for d in everything)
    # B's own simulators are B's
    assert all(d["node"] == "pc-b" for d in everything if d["connection_type"] == "simulator")


def test_fifty_clients_on_two_servers_racing_for_one_device_have_one_winner(lab: Lab, run_async):
    device_id = lab.scale_on(lab.b)["id"]

    async def race(round_number: int) -> list[tuple[str, int]]:
        limits = httpx.Limits(max_connections=25)
        async with httpx.AsyncClient(base_url=lab.a.url, limits=limits, timeout=60) as on_a, \
                httpx.AsyncClient(base_url=lab.b.url, limits=limits, timeout=60) as on_b:
            start = asyncio.Event()

            async def one(index: int) -> tuple[str, int]:
                server, http = (lab.a, on_a) if index % 2 else (lab.b, on_b)
                name = f"racer-{round_number}-{index}"
                await start.wait()
                response = await http.post(f"{HARDWARE}/connect", json={
                    "device_id": device_id, "node": "pc-a", "backend": SCALE_BACKEND},
                    headers=server.headers(client=name))
                return name, response.status_code

            tasks = [asyncio.create_task(one(index)) for index in range(50)]
            await asyncio.sleep(0.05)
            start.set()
            return await asyncio.gather(*tasks)

    for round_number in range(20):
        outcome = run_async(race(round_number))
        codes = sorted(code for _, code in outcome)
        assert codes == [200] + [409] * 49, (round_number, codes)
        winner = next(name for name, code in outcome if code == 200)
        # both servers agree on the holder
        for server in (lab.a, lab.b):
            held = server.get(f"{HARDWARE}/connections/{device_id}", params={"node": "pc-a"}).json()
            assert held["client_id"] == winner and held["node"] == "pc-a"
        released = lab.b.post(f"{HARDWARE}/disconnect", {"device_id": device_id, "node": "pc-a"}, client=winner)
        assert released.status_code == 200, released.text


def test_a_page_served_by_b_drives_the_scale_on_a_with_a_ticket(lab: Lab, run_async):
    device_id = lab.scale_on(lab.b)["id"]
    origin_b = lab.b.url.rstrip("/")
    page = {**lab.b.headers(client="page-on-b"), "Origin": origin_b}
    assert lab.b.http.post(f"{HARDWARE}/io-tickets", json={"device_id": device_id, "node": "pc-a"},
                           headers=page).status_code == 409  # no lease yet: no ticket
    leased = lab.b.http.post(f"{HARDWARE}/connect", json={"device_id": device_id, "node": "pc-a",
                                                          "backend": SCALE_BACKEND}, headers=page)
    assert leased.status_code == 200, leased.text
    try:
        ticket = lab.b.http.post(f"{HARDWARE}/io-tickets", json={"device_id": device_id, "node": "pc-a"},
                                 headers=page)
        assert ticket.status_code == 201, ticket.text
        grant = ticket.json()
        assert grant["url"].startswith(lab.a.url.replace("http://", "ws://").rstrip("/"))
        assert TOKEN_A not in json.dumps(grant)  # A's token never leaves A

        async def main() -> tuple[bytes, str, str]:
            socket_ = await websockets.connect(grant["url"], origin=origin_b, subprotocols=grant["protocols"],
                                               open_timeout=10)
            assert json.loads(await socket_.recv()) == {"type": "ready", "client": "page-on-b"}
            await socket_.send(json.dumps({"type": "open", "id": 1, "baudRate": 9600}))
            opened = json.loads(await asyncio.wait_for(socket_.recv(), 10))
            assert opened["type"] == "opened", opened
            lab.scale.place(3.5)
            await socket_.send(b"S\r\n")
            reply = b""
            while not reply.endswith(b"\r\n"):
                reply += await asyncio.wait_for(socket_.recv(), 10)
            await socket_.close()
            reused = await _attempt(grant["url"], origin_b, grant["protocols"])  # a ticket opens one socket
            other = lab.b.http.post(f"{HARDWARE}/io-tickets", json={"device_id": device_id, "node": "pc-a"},
                                    headers=page).json()
            foreign = await _attempt(other["url"], "http://evil.example", other["protocols"])
            return reply, reused, foreign

        reply, reused, foreign = run_async(main())
        assert reply == b"S S 3.50000 g\r\n"
        assert reused == "rejected 403" and foreign == "rejected 403"
    finally:
        lab.b.http.post(f"{HARDWARE}/disconnect", json={"device_id": device_id, "node": "pc-a"}, headers=page)


async def _attempt(url: str, origin: str, protocols: list[str]) -> str:
    try:
        async with websockets.connect(url, origin=origin, subprotocols=protocols, open_timeout=10) as socket_:
            return json.loads(await asyncio.wait_for(socket_.recv(), 10))["type"]
    except websockets.exceptions.InvalidStatus as error:
        return f"rejected {error.response.status_code}"
    except websockets.exceptions.ConnectionClosed as error:
        return f"closed {error.rcvd.code if error.rcvd else None}"


def test_a_schedule_change_on_a_reaches_a_page_of_b_within_a_second(lab: Lab, run_async):
    url = lab.b.url.replace("http://", "ws://") + "api/v1/ws/changes"

    async def main() -> tuple[dict, float]:
        async with websockets.connect(url, origin=lab.b.url.rstrip("/"),
                                      subprotocols=["labwright", f"bearer.{TOKEN_B}"]) as socket_:
            assert json.loads(await socket_.recv())["type"] == "ready"
            assert json.loads(await socket_.recv())["type"] == "changes"
            started = time.monotonic()
            added = await asyncio.to_thread(lab.a.post, f"{SCHEDULE}/workcells", {
                "name": "Seen from B", "machines": [{"name": "A's STAR", "machine_kind": "liquid_handler",
                                                     "catalog_fqn": LIQUID_HANDLER}]})
            assert added.status_code == 201, added.text
            while True:  # the change arrives within a second of A acknowledging it
                message = json.loads(await asyncio.wait_for(socket_.recv(), 1.0))
                if message.get("topic") == "schedule":
                    return message, time.monotonic() - started

    message, _elapsed = run_async(main())
    snapshot = lab.b.get(SCHEDULE).json()
    assert message["revision"] == snapshot["revision"]
    assert "Seen from B" in [w["name"] for w in snapshot["workcells"]]  # one schedule for the lab


def test_inventory_is_one_for_the_lab(lab: Lab):
    added = lab.a.post(f"{SCHEDULE}/labware", {"labware": [{"name": "plate from A", "catalog_fqn": PLATE,
                                                            "barcode": "LAB-ONE-1"}]})
    assert added.status_code == 201, added.text
    on_b = lab.b.get(f"{SCHEDULE}/labware").json()["labware"]
    assert [item["name"] for item in on_b if item["barcode"] == "LAB-ONE-1"] == ["plate from A"]
    again = lab.b.post(f"{SCHEDULE}/labware", {"labware": [{"name": "dup", "catalog_fqn": PLATE,
                                                            "barcode": "LAB-ONE-1"}]})
    assert again.status_code == 422 and "labware #0" in again.json()["detail"]  # barcodes are the lab's


def test_a_server_killed_with_9_loses_nothing_it_acknowledged_and_b_goes_on(
        lab: Lab, tmp_path: Path, catalog_file: Path, run_async):
    processes = []
    token_c = "pc-c-token-0123456789"
    env = _env(tmp_path, token_c, "pc-c", lab.database_url, catalog_file, LABWRIGHT_CONNECTION_TTL="3")
    with running_server(env=env, on_start=processes.append) as url_c:
        c = Bridge(url_c, token=token_c)
        simulators = c.get(f"{HARDWARE}/discover/simulators").json()["devices"][:10]

        async def writes() -> tuple[list[str], list[str]]:
            async with httpx.AsyncClient(base_url=url_c, timeout=60) as http:
                async def lease(device: dict) -> str:
                    response = await http.post(f"{HARDWARE}/connect", json={"device_id": device["id"]},
                                               headers=c.headers(client="client-of-c"))
                    return device["id"] if response.status_code == 200 else ""

                async def labware(index: int) -> str:
                    response = await http.post(f"{SCHEDULE}/labware", json={"labware": [
                        {"name": f"from C {index}", "catalog_fqn": PLATE, "barcode": f"C-{index}"}]},
                        headers=c.headers())
                    return f"C-{index}" if response.status_code == 201 else ""

                leased = await asyncio.gather(*(lease(d) for d in simulators))
                stocked = await asyncio.gather(*(labware(i) for i in range(20)))
                os.kill(processes[0].pid, signal.SIGKILL)  # right after the last acknowledgement
                return [d for d in leased if d], [b for b in stocked if b]

        leased, stocked = run_async(writes())
        processes[0].wait(timeout=10)
        c.close()
    assert len(leased) == 10 and len(stocked) == 20
    held = {(x["node"], x["device_id"]): x["client_id"]
            for x in lab.b.get(f"{HARDWARE}/connections").json()["connections"]}
    assert all(held.get(("pc-c", device)) == "client-of-c" for device in leased)
    barcodes = {item["barcode"] for item in lab.b.get(f"{SCHEDULE}/labware").json()["labware"]}
    assert set(stocked) <= barcodes
    # B goes on: its writes are answered, and C drops out of the lab once it stops announcing
    assert lab.b.post(f"{SCHEDULE}/labware", {"labware": [{"name": "after C", "catalog_fqn": PLATE}]}
                      ).status_code == 201
    assert lab.b.post(f"{HARDWARE}/connect", {"device_id": lab.b.simulator("scale")["id"]},
                      client="after-c").status_code == 200
    deadline = time.monotonic() + 30
    while True:
        nodes = {n["name"]: n["alive"] for n in lab.b.get("api/v1/lab").json()["nodes"]}
        if not nodes["pc-c"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert nodes == {"pc-a": True, "pc-b": True, "pc-c": False}
