"""The stored schedule: reservations held for each window, active when started, released on every ending."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from browser_runtime.inventory import InventoryStore, TimeWindow
from browser_runtime.inventory.schema import MIGRATIONS
from browser_runtime.scheduler import ScheduleConflict, ScheduleError

from .conftest import NOW, at, lh_request


def statuses(book, run_id):
    return {r["status"] for r in book.reservations(run_id=run_id)}


def test_a_schedule_holds_reservations_for_its_windows(book):
    schedule = book.submit([lh_request("r1"), lh_request("r2"), lh_request("r3")])
    assert len(schedule.placements) == 3
    for run in book.runs():
        held = book.reservations(run_id=run["id"])
        assert len(held) == 2 and statuses(book, run["id"]) == {"held"}  # its machine and its plate
        assert {r["starts_at"] for r in held} == {run["starts_at"]}
    # Two liquid handlers: the third run waits for the first to end.
    assert sorted(r["starts_at"] for r in book.runs()) == [NOW.isoformat()] * 2 + [at(10).isoformat()]


def test_start_activates_and_every_ending_releases(book, clock):
    book.submit([lh_request(f"r{i}") for i in range(4)])
    book.start("r0")
    assert statuses(book, "r0") == {"active"}
    book.finish("r0")
    book.start("r1")
    book.finish("r1", "failed", "tip pick-up failed")
    book.cancel("r2", "samples not ready")
    book.start("r3")
    clock.now = NOW + timedelta(seconds=61)  # no heartbeat for longer than the TTL (60 s)
    assert book.release_stale() == ["r3"]
    ended = {run["id"]: run for run in book.runs()}
    assert [ended[r]["status"] for r in ("r0", "r1", "r2", "r3")] == ["completed", "failed", "cancelled", "stale"]
    for run_id, why in (("r0", "run completed"), ("r1", "tip pick-up failed"),
                        ("r2", "cancelled: samples not ready"), ("r3", "stale: no heartbeat since")):
        reservations = book.reservations(run_id=run_id)
        assert {r["status"] for r in reservations} == {"released"}
        assert all(r["release_reason"].startswith(why) for r in reservations)
    assert not [r for r in book.reservations() if r["status"] != "released"]


def test_a_heartbeat_keeps_a_run_alive(book, clock):
    book.submit([lh_request("r")])
    book.start("r")
    clock.now = NOW + timedelta(seconds=50)
    book.heartbeat("r")
    clock.now = NOW + timedelta(seconds=100)
    assert book.release_stale() == []
    assert statuses(book, "r") == {"active"}


def test_illegal_transitions_say_why(book):
    book.submit([lh_request("r"), lh_request("late", 120, deadline=at(60))])
    with pytest.raises(ScheduleError, match="'late' is infeasible: takes 2.00 h .* past its deadline"):
        book.start("late")
    with pytest.raises(ScheduleError, match="'r' is scheduled; it cannot become completed"):
        book.finish("r")
    with pytest.raises(ScheduleError, match="no run 'nope'"):
        book.start("nope")
    with pytest.raises(ScheduleError, match="already in the schedule"):
        book.submit([lh_request("r")])


def test_list_by_asset_run_and_window_and_clear_one_with_a_reason(book):
    book.submit([lh_request(f"r{i}") for i in range(3)])
    run = book.run("r2")
    machine = run["machines"]["lh"]
    on_machine = book.reservations(asset_id=machine)
    assert {r["run_id"] for r in on_machine} >= {"r2"}
    window = book.reservations(starts_at=at(12), ends_at=at(13))
    assert {r["run_id"] for r in window} == {"r2"}
    target = book.reservations(run_id="r2")[0]
    revision = book.revision
    cleared = book.clear_reservation(target["id"], "plate dropped on the floor")
    assert cleared["status"] == "released" and cleared["release_reason"] == "plate dropped on the floor"
    assert book.revision == revision + 1
    with pytest.raises(ScheduleError, match="needs a reason"):
        book.clear_reservation(book.reservations(run_id="r1")[0]["id"], "  ")
    with pytest.raises(ScheduleError, match="already released"):
        book.clear_reservation(target["id"], "again")


def test_a_stale_revision_is_refused_and_nothing_is_written(book):
    seen = book.revision
    book.submit([lh_request("first")], expected_revision=seen)
    with pytest.raises(ScheduleConflict, match=f"revision {seen + 1}, not {seen}"):
        book.submit([lh_request("second")], expected_revision=seen)
    assert [r["id"] for r in book.runs()] == ["first"]
    assert book.reservations(run_id="second") == []


def test_replan_with_the_optimiser_keeps_running_runs(book):
    book.submit([lh_request(f"r{i}", 10 + i) for i in range(5)])
    book.start("r0")
    schedule = book.replan(method="optimiser", iterations=30, seed=1)
    assert {p.request for p in schedule.placements} == {"r1", "r2", "r3", "r4"}
    assert statuses(book, "r0") == {"active"}
    for run_id in ("r1", "r2", "r3", "r4"):
        assert statuses(book, run_id) == {"held", "released"}  # old holds released, new ones held
    snapshot = book.snapshot()
    assert snapshot["method"] == "optimiser" and len(snapshot["workcells"]) == 2
    with pytest.raises(ScheduleError, match="method must be one of"):
        book.replan(method="magic")


def test_workcells_take_registered_machines_once(book, inventory):
    machines = {a.name: a.id for a in inventory.assets(kind="machine")}
    with pytest.raises(ScheduleError, match="already in workcell 'Alpha'"):
        book.add_workcell("Gamma", [machines["STARlet (simulated)"]])
    labware = inventory.assets(kind="labware")[0].id
    with pytest.raises(ScheduleError, match=f"asset {labware} is not a registered machine"):
        book.add_workcell("Gamma", [labware])
    book.add_workcell("Gamma", [machines["Scale (simulated)"]], deck="none")
    assert [w.name for w in book.workcells()] == ["Alpha", "Bravo", "Gamma"]


def test_the_migration_keeps_existing_reservations(tmp_path):
    path = tmp_path / "old.sqlite"
    connection = sqlite3.connect(path, isolation_level=None)
    for version, migration in enumerate(MIGRATIONS[:2]):
        for statement in migration.split(";"):
            if statement.strip():
                connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {version + 1}")
    connection.execute("INSERT INTO assets (kind, name, catalog_fqn, status, created_at) VALUES "
                       "('labware', 'old plate', 'x.Plate', 'available', '2025-01-01T00:00:00+00:00')")
    connection.execute("INSERT INTO reservations (asset_id, run_id, starts_at, ends_at, status, created_at)"
                       " VALUES (1, 'old-run', ?, ?, 'held', ?)",
                       (NOW.isoformat(), at(60).isoformat(), NOW.isoformat()))
    connection.close()
    store = InventoryStore(path)
    (old,) = store.reservations(run_id="old-run")
    assert old.status == "held" and old.window == TimeWindow(NOW, at(60))
    assert store.activate("old-run") == 1 and store.reservations(run_id="old-run")[0].status == "active"
    assert store.reserved_in(TimeWindow(at(10), at(20)), now=NOW) == {1: [
        f"run old-run holds it {NOW.isoformat()} -> {at(60).isoformat()}"]}
    store.close()
