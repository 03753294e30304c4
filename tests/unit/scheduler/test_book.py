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
    first = next(r["id"] for r in book.runs() if r["starts_at"] == NOW.isoformat())
    book.start(first)
    schedule = book.replan(method="optimiser", iterations=30, seed=1)
    rest = {f"r{i}" for i in range(5)} - {first}
    assert {p.request for p in schedule.placements} == rest
    assert statuses(book, first) == {"active"}
    for run_id in rest:
        assert statuses(book, run_id) == {"held", "released"}  # old holds released, new ones held
    snapshot = book.snapshot()
    assert snapshot["method"] == "optimiser" and len(snapshot["workcells"]) == 2
    with pytest.raises(ScheduleError, match="method must be one of"):
        book.replan(method="magic")


def test_workcells_take_registered_machines_and_may_share_one(book, inventory):
    machines = {a.name: a.id for a in inventory.assets(kind="machine")}
    labware = inventory.assets(kind="labware")[0].id
    with pytest.raises(ScheduleError, match=f"asset {labware} is not a registered machine"):
        book.add_workcell("Gamma", [labware])
    with pytest.raises(ScheduleError, match="a workcell named 'Alpha' exists"):
        book.add_workcell("Alpha", [machines["Scale (simulated)"]])
    # The reader stands between both liquid handlers: it belongs to Alpha and to Gamma.
    book.add_workcell("Gamma", [machines["STARlet 2 (simulated)"], machines["Plate reader (simulated)"]],
                      deck="none")
    assert [w.name for w in book.workcells()] == ["Alpha", "Bravo", "Gamma"]
    sharing = [w.name for w in book.workcells() if machines["Plate reader (simulated)"] in
               {m.id for m in w.machines}]
    assert sharing == ["Alpha", "Gamma"]


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


def open_runs_overlapping(book):
    """Pairs of open runs (scheduled or running) whose planned windows overlap on one asset."""
    runs = {r["id"]: r for r in book.runs() if r["status"] in ("scheduled", "running")}
    holds = {}
    for run_id, run in runs.items():
        for asset in [*run["machines"].values(), *run["consumables"].values()]:
            holds.setdefault(asset, []).append((run["starts_at"], run["ends_at"], run_id))
    clashes = []
    for asset, spans in holds.items():
        spans.sort()
        clashes += [(a[2], b[2], asset) for a, b in zip(spans, spans[1:]) if b[0] < a[1]]
    return clashes


def test_run_now_is_refused_while_another_run_holds_its_machine(book):
    # Regression: start() used to accept a run whose machine another run held at that moment.
    book.submit([lh_request("r0"), lh_request("r1"), lh_request("r2")])
    queued = book.run("r2")
    assert queued["starts_at"] == at(10).isoformat()  # both liquid handlers are busy until then
    before = book.reservations(run_id="r2")
    with pytest.raises(ScheduleError, match=r"cannot start 'r2' now: .* held by run r[01]"):
        book.start("r2", now=NOW)
    assert book.run("r2")["status"] == "scheduled" and book.reservations(run_id="r2") == before
    assert not open_runs_overlapping(book)


def test_clearing_a_scheduled_runs_hold_sends_it_back_to_be_planned(book):
    # Regression: the run stayed scheduled without its hold and the next run was placed over it.
    book.submit([lh_request("r0"), lh_request("r1"), lh_request("r2")])
    machine_hold = next(r for r in book.reservations(run_id="r2") if r["asset_id"] == book.run("r2")["machines"]["lh"])
    book.clear_reservation(machine_hold["id"], "the liquid handler needs a service")
    cleared = book.run("r2")
    assert cleared["status"] == "infeasible" and cleared["reason"]["kind"] == "cleared"
    assert "needs a service" in cleared["reason"]["message"] and "replan" in cleared["reason"]["message"]
    assert {r["status"] for r in book.reservations(run_id="r2")} == {"released"}  # no half-held run
    book.submit([lh_request("r3")])
    assert not open_runs_overlapping(book)
    book.replan()
    assert book.run("r2")["status"] == "scheduled" and not open_runs_overlapping(book)


def test_a_running_runs_hold_cannot_be_cleared(book):
    book.submit([lh_request("r0")])
    book.start("r0")
    hold = book.reservations(run_id="r0")[0]
    with pytest.raises(ScheduleError, match="run 'r0', which is running: finish, fail or cancel"):
        book.clear_reservation(hold["id"], "oops")
    assert {r["status"] for r in book.reservations(run_id="r0")} == {"active"}


def test_a_hold_by_hand_moves_the_scheduled_runs_out_of_its_way(book, inventory, clock):
    machines = {a.name: a.id for a in inventory.assets(kind="machine")}
    book.submit([lh_request(f"r{i}", workcell="Alpha") for i in range(2)])  # 08:00 and 08:10 on STARlet
    made = book.hold([machines["STARlet (simulated)"]], at(5), at(30), "annual service")
    (reservation,) = made["reservations"]
    assert reservation["note"] == "annual service" and reservation["run_id"].startswith("hand-")
    assert {m["run"] for m in made["shifted"]} == {"r0", "r1"}  # both were in its way: after it now
    assert sorted(book.run(r)["starts_at"] for r in ("r0", "r1")) == [at(30).isoformat(), at(40).isoformat()]
    assert not open_runs_overlapping(book)
    clock.now = at(30)
    book.start(book.runs(status="scheduled")[0]["id"])
    running = book.runs(status="running")[0]
    with pytest.raises(ScheduleError, match="cannot hold by hand: 'STARlet \\(simulated\\)' is held by run"):
        book.hold([machines["STARlet (simulated)"]], at(35), at(36), "quick look")
    with pytest.raises(ScheduleError, match="needs a reason"):
        book.hold([machines["STARlet (simulated)"]], at(90), at(95), " ")
    with pytest.raises(ScheduleError, match="no asset with id 999"):
        book.hold([999], at(90), at(95), "x")
    cleared = book.clear_reservation(reservation["id"], "service done early")
    assert cleared["status"] == "released" and running["status"] == "running"
