"""/api/v1/schedule against a real `labwright serve`: token-gated writes, validation, lifecycle,
and no lost updates when twenty pages write at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.serving import running_server
from tests.unit.server.bridge_client import TOKEN, Bridge

pytestmark = pytest.mark.cpython

SCHEDULE = "api/v1/schedule"
WRITES = [
    ("POST", f"{SCHEDULE}/requests", {"requests": []}),
    ("POST", f"{SCHEDULE}/plan", {}),
    ("POST", f"{SCHEDULE}/workcells", {"name": "x", "machines": []}),
    ("DELETE", f"{SCHEDULE}/workcells/x", None),
    ("DELETE", f"{SCHEDULE}/runs/x", None),
    ("POST", f"{SCHEDULE}/runs/x/start", {}),
    ("POST", f"{SCHEDULE}/reservations/1/clear", {"reason": "x"}),
    ("POST", f"{SCHEDULE}/holds", {"asset_ids": [1], "starts_at": "2030-01-01T09:00:00+00:00",
                                   "ends_at": "2030-01-01T10:00:00+00:00", "reason": "x"}),
]


def lh_request(run_id: str, minutes: float = 10, **extra) -> dict:
    return {"id": run_id, "protocol": "Serial dilution", "duration_s": minutes * 60,
            "machines": [{"parameter": "lh", "kind": "liquid_handler", "capabilities": ["pipetting"]}], **extra}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, catalog_file: Path, lab_database) -> Iterator[Bridge]:
    env = {"LABWRIGHT_TOKEN": TOKEN, "LABWRIGHT_DATA_DIR": str(tmp_path_factory.mktemp("schedule-data")),
           "LABWRIGHT_CATALOG": str(catalog_file), **lab_database.env()}
    with running_server(env=env) as url:
        bridge = Bridge(url)
        for name in ("Alpha", "Bravo"):
            response = bridge.post(f"{SCHEDULE}/workcells", {"name": name, "machines": [
                {"name": f"{name} STARlet", "machine_kind": "liquid_handler",
                 "catalog_fqn": "pylabrobot.liquid_handling.liquid_handler.LiquidHandler",
                 "capabilities": ["pipetting", "tip_handling", "gripper"]}]})
            assert response.status_code == 201, response.text
        yield bridge
        bridge.close()


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
def test_every_write_needs_the_token(server: Bridge, method, path, body):
    for token in (None, "wrong"):
        response = server.http.request(method, path, json=body, headers=server.headers(token=token))
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"


def test_reads_are_open_and_carry_the_revision(server: Bridge):
    response = server.http.get(SCHEDULE)
    assert response.status_code == 200
    body = response.json()
    assert response.headers["etag"] == f'"{body["revision"]}"'
    assert [w["name"] for w in body["workcells"]] == ["Alpha", "Bravo"]


def test_bad_bodies_are_422_naming_the_field_never_500(server: Bridge):
    unknown = server.post(f"{SCHEDULE}/requests", {"requests": [lh_request("u1") | {"colour": "red"}]})
    assert unknown.status_code == 422 and "colour" in unknown.json()["detail"]
    missing = server.post(f"{SCHEDULE}/requests", {"requests": [{"id": "m1", "protocol": "p"}]})
    assert missing.status_code == 422 and "requests[0].duration_s" in missing.json()["detail"]
    zone = server.post(f"{SCHEDULE}/requests", {"requests": [lh_request("z1", deadline="2030-01-01T00:00")]})
    assert zone.status_code == 422 and "no time zone" in zone.json()["detail"]
    assert server.post(f"{SCHEDULE}/plan", {"method": "magic"}).status_code == 422
    bad_match = server.post(f"{SCHEDULE}/plan", {}, headers={"If-Match": "yesterday"})
    assert bad_match.status_code == 422
    not_json = server.http.post(f"{SCHEDULE}/requests", content=b"{nope", headers=server.headers())
    assert not_json.status_code == 400
    assert server.post(f"{SCHEDULE}/runs/nope/start", {}).status_code == 404
    assert server.post(f"{SCHEDULE}/runs/nope/explode", {}).status_code == 404
    # not-found by type, whatever the domain: an inventory reservation, a workcell
    assert server.post(f"{SCHEDULE}/reservations/987654/clear", {"reason": "x"}).status_code == 404
    assert server.http.delete(f"{SCHEDULE}/workcells/nope", headers=server.headers()).status_code == 404
    assert server.http.get(f"{SCHEDULE}/reservations?asset_id=abc").status_code == 422
    empty = server.post(f"{SCHEDULE}/workcells", {"name": "Empty", "machines": []})
    assert empty.status_code == 422


def test_a_run_from_request_to_released_reservations(server: Bridge):
    placed = server.post(f"{SCHEDULE}/requests", {"requests": [
        lh_request("life-1"), lh_request("life-2"),
        {"id": "life-reader", "protocol": "ELISA", "duration_s": 60,
         "machines": [{"parameter": "reader", "kind": "plate_reader"}]}]})
    assert placed.status_code == 201, placed.text
    body = placed.json()
    assert {p["request"] for p in body["placed"]} == {"life-1", "life-2"}
    (reader,) = body["infeasible"]
    assert reader["kind"] == "machine" and "plate_reader" in reader["message"]
    held = server.http.get(f"{SCHEDULE}/reservations", params={"run_id": "life-1"}).json()["reservations"]
    assert [r["status"] for r in held] == ["held"]
    assert server.post(f"{SCHEDULE}/runs/life-1/start", {}).json()["run"]["status"] == "running"
    active = server.http.get(f"{SCHEDULE}/reservations", params={"run_id": "life-1"}).json()["reservations"]
    assert [r["status"] for r in active] == ["active"]
    assert server.post(f"{SCHEDULE}/runs/life-1/heartbeat", {}).status_code == 200
    done = server.post(f"{SCHEDULE}/runs/life-1/fail", {"reason": "tip crash"}).json()["run"]
    assert done["status"] == "failed"
    released = server.http.get(f"{SCHEDULE}/reservations", params={"run_id": "life-1"}).json()["reservations"]
    assert [(r["status"], r["release_reason"]) for r in released] == [("released", "tip crash")]
    # Clearing by hand records the reason; deleting a run cancels it.
    (hold,) = server.http.get(f"{SCHEDULE}/reservations", params={"run_id": "life-2"}).json()["reservations"]
    cleared = server.post(f"{SCHEDULE}/reservations/{hold['id']}/clear", {"reason": "robot serviced"})
    assert cleared.json()["reservation"]["release_reason"] == "robot serviced"
    deleted = server.http.delete(f"{SCHEDULE}/runs/life-2", headers=server.headers())
    assert deleted.json()["run"]["status"] == "cancelled"
    assert server.post(f"{SCHEDULE}/runs/life-2/start", {}).status_code == 422


def test_a_hold_by_hand_over_http_moves_the_runs_in_its_way_and_is_cleared(server: Bridge):
    placed = server.post(f"{SCHEDULE}/requests", {"requests": [lh_request("in-the-way", 30)]})
    assert placed.status_code == 201, placed.text
    run = next(p for p in placed.json()["placed"] if p["request"] == "in-the-way")
    machine = next(iter(run["machines"].values()))
    window = {"starts_at": run["starts_at"], "ends_at": run["ends_at"]}
    made = server.post(f"{SCHEDULE}/holds", {"asset_ids": [machine], **window, "reason": "service visit"})
    assert made.status_code == 201, made.text
    held = server.http.get(f"{SCHEDULE}/reservations", params={"asset_id": str(machine), "status": "held"}).json()
    hand = [r for r in held["reservations"] if r["run_id"].startswith("hand-")]
    assert [r["note"] for r in hand] == ["service visit"]
    moved = server.http.get(f"{SCHEDULE}/runs/in-the-way").json()["run"]
    assert moved["starts_at"] >= run["ends_at"] or moved["workcell"] != run["workcell"] or \
        next(iter(moved["machines"].values())) != machine  # placed again after (or beside) the hold
    # Bad input: said what and where; nothing held.
    bad = server.post(f"{SCHEDULE}/holds", {"asset_ids": [machine], **window, "reason": " "})
    assert bad.status_code == 422 and "reason" in bad.text
    missing = server.post(f"{SCHEDULE}/holds", {"asset_ids": [987654], **window, "reason": "x"})
    assert missing.status_code == 404
    cleared = server.post(f"{SCHEDULE}/reservations/{hand[0]['id']}/clear", {"reason": "visit cancelled"})
    assert cleared.status_code == 200 and cleared.json()["reservation"]["status"] == "released"


def test_the_labs_inventory_is_served_with_its_open_reservations(server: Bridge):
    placed = server.post(f"{SCHEDULE}/requests", {"requests": [lh_request("stocked-1")]})
    assert placed.status_code == 201, placed.text
    inventory = server.http.get("api/v1/inventory")  # a read: open, like the schedule
    assert inventory.status_code == 200
    body = inventory.json()
    assert inventory.headers["etag"] == f'"{body["revision"]}"'
    machines = {a["name"] for a in body["assets"] if a["kind"] == "machine"}
    assert {"Alpha STARlet", "Bravo STARlet"} <= machines
    held = [r for r in body["reservations"] if r["run_id"] == "stocked-1"]
    assert held and {r["status"] for r in held} == {"held"}
    assert {r["asset"] for r in held} <= machines | {a["name"] for a in body["assets"]}
    server.post(f"{SCHEDULE}/runs/stocked-1/cancel", {"reason": "done looking"})
    after = server.http.get("api/v1/inventory").json()
    assert not [r for r in after["reservations"] if r["run_id"] == "stocked-1"]
    assert after["revision"] > body["revision"]


def test_twenty_pages_writing_at_once_lose_no_update(server: Bridge, run_async):
    async def race() -> tuple[list[int], int, list[str]]:
        headers = server.headers()
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            revision = (await client.get(SCHEDULE)).json()["revision"]

            async def stale_writer(number: int) -> int:
                response = await client.post(f"{SCHEDULE}/requests", json={"requests": [
                    lh_request(f"stale-{number}", 5)]}, headers={**headers, "If-Match": str(revision)})
                return response.status_code

            first_round = await asyncio.gather(*(stale_writer(n) for n in range(20)))

            async def careful_writer(number: int) -> str:
                # Read, write with If-Match, and on 409 read again and retry: what a page does.
                for _ in range(200):
                    current = (await client.get(SCHEDULE)).json()["revision"]
                    response = await client.post(f"{SCHEDULE}/requests", json={"requests": [
                        lh_request(f"careful-{number}", 5)]}, headers={**headers, "If-Match": f'"{current}"'})
                    if response.status_code == 201:
                        return f"careful-{number}"
                    assert response.status_code == 409, response.text
                    assert response.json()["revision"] > current
                raise AssertionError("a writer never got through")

            async def blind_writer(number: int) -> str:
                response = await client.post(f"{SCHEDULE}/requests", json={"requests": [
                    lh_request(f"blind-{number}", 5)]}, headers=headers)
                assert response.status_code == 201, response.text
                return f"blind-{number}"

            landed = await asyncio.gather(*(careful_writer(n) for n in range(20)),
                                          *(blind_writer(n) for n in range(20)))
            return first_round, revision, landed

    first_round, revision, landed = run_async(race())
    assert sorted(first_round) == [201] + [409] * 19  # exactly one writer based on that revision wins
    snapshot = server.http.get(SCHEDULE).json()
    runs = {run["id"]: run for run in snapshot["runs"]}
    assert set(landed) <= set(runs)  # every acknowledged write is there
    assert len([r for r in runs if r.startswith("stale-")]) == 1
    assert snapshot["revision"] == revision + 41  # one bump per accepted write, none lost
    # And however they raced, no machine is held twice at once.
    by_asset: dict[int, list[tuple[datetime, datetime]]] = {}
    for hold in snapshot["reservations"]:
        by_asset.setdefault(hold["asset_id"], []).append(
            (datetime.fromisoformat(hold["starts_at"]), datetime.fromisoformat(hold["ends_at"])))
    for spans in by_asset.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


def test_replan_with_the_optimiser_through_the_server(server: Bridge):
    current = server.http.get(SCHEDULE).json()["revision"]
    response = server.post(f"{SCHEDULE}/plan", {"method": "optimiser", "iterations": 20, "seed": 1},
                           headers={"If-Match": str(current)})
    assert response.status_code == 200, response.text
    assert response.json()["revision"] == current + 1
    assert server.post(f"{SCHEDULE}/plan", {}, headers={"If-Match": str(current)}).status_code == 409
    assert server.http.get(SCHEDULE).json()["method"] == "optimiser"


def test_a_run_whose_page_went_away_is_released_by_the_server_itself(tmp_path: Path, catalog_file: Path,
                                                                     lab_database):
    # A 2 s TTL: the server's housekeeping (every 0.5 s) must notice the missing heartbeats
    # without anyone reading the schedule.
    env = {"LABWRIGHT_TOKEN": TOKEN, "LABWRIGHT_DATA_DIR": str(tmp_path), "LABWRIGHT_CATALOG": str(catalog_file),
           "LABWRIGHT_CONNECTION_TTL": "2", **lab_database.fresh().env()}
    with running_server(env=env) as url:
        bridge = Bridge(url)
        try:
            assert bridge.post(f"{SCHEDULE}/workcells", {"name": "Solo", "machines": [
                {"name": "Solo STARlet", "machine_kind": "liquid_handler",
                 "catalog_fqn": "pylabrobot.liquid_handling.liquid_handler.LiquidHandler",
                 "capabilities": ["pipetting"]}]}).status_code == 201
            assert bridge.post(f"{SCHEDULE}/requests", {"requests": [lh_request("orphan")]}).status_code == 201
            assert bridge.post(f"{SCHEDULE}/runs/orphan/start", {}).json()["run"]["status"] == "running"
            deadline = time.monotonic() + 30
            while True:
                held = bridge.http.get(f"{SCHEDULE}/reservations", params={"run_id": "orphan"}).json()
                statuses = [r["status"] for r in held["reservations"]]
                if statuses == ["released"] or time.monotonic() > deadline:
                    break
                time.sleep(0.25)
            assert statuses == ["released"], held
            assert "stale" in held["reservations"][0]["release_reason"]
            run = bridge.http.get(f"{SCHEDULE}/runs/orphan").json()["run"]
            assert run["status"] == "stale"
        finally:
            bridge.close()


def test_labware_stock_is_added_all_or_nothing_with_errors_naming_the_item(server: Bridge):
    before = server.http.get(f"{SCHEDULE}/labware").json()["labware"]
    good = {"name": "stock plate 1", "catalog_fqn": "pylabrobot.resources.corning.plates.Cor_96_wellplate_360ul_Fb",
            "lot": "L1", "expires_at": "2030-01-01T00:00:00+00:00", "remaining_volume_ul": 100.0}
    wrong_type = server.post(f"{SCHEDULE}/labware", {"labware": [good, {**good, "name": "x", "catalog_fqn": {}}]})
    assert wrong_type.status_code == 422 and "body.labware[1].catalog_fqn" in wrong_type.text
    unknown = server.post(f"{SCHEDULE}/labware", {"labware": [good, {**good, "name": "y", "catalog_fqn": "no.such.Plate"}]})
    assert unknown.status_code == 422 and "body.labware[1].catalog_fqn" in unknown.text
    negative = server.post(f"{SCHEDULE}/labware", {"labware": [{**good, "remaining_tips": -1}]})
    assert negative.status_code == 422 and "remaining_tips" in negative.text
    assert server.http.get(f"{SCHEDULE}/labware").json()["labware"] == before  # nothing half-written
    added = server.post(f"{SCHEDULE}/labware", {"labware": [good]})
    assert added.status_code == 201, added.text
    (item,) = added.json()["labware"]
    assert item["name"] == "stock plate 1" and item["expires_at"].startswith("2030-01-01")


def test_every_schedule_write_is_pushed_to_the_change_feed(server: Bridge, run_async):
    """Pages follow the schedule without polling: each write arrives on WS /api/v1/ws/changes with
    the revision it made (in-process on SQLite, LISTEN/NOTIFY on PostgreSQL)."""
    import json

    import websockets

    url = server.url.replace("http://", "ws://") + "api/v1/ws/changes"

    async def main() -> tuple[list[int], int]:
        async with websockets.connect(url, subprotocols=["labwright", f"bearer.{TOKEN}"]) as socket_:
            assert json.loads(await socket_.recv())["type"] == "ready"
            assert json.loads(await socket_.recv())["type"] == "changes"
            revisions = []
            for index in range(3):
                written = await asyncio.to_thread(server.post, f"{SCHEDULE}/requests",
                                                  {"requests": [lh_request(f"pushed-{index}")]})
                assert written.status_code == 201, written.text
                while True:
                    message = json.loads(await asyncio.wait_for(socket_.recv(), 10))
                    if message.get("topic") == "schedule" and message["revision"] == written.json()["revision"]:
                        revisions.append(message["revision"])
                        break
            return revisions, written.json()["revision"]

    revisions, last = run_async(main())
    assert revisions == [last - 2, last - 1, last]
