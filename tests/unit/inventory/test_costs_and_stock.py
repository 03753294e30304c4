"""What consumables cost (cheapest batch after the hard constraints, each reason naming its cost),
stock drawn by runs, refill stock, per-window holds, and the migration to schema 4."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from browser_runtime.inventory import (
    ConsumableAssignmentService,
    ConsumableRequirement,
    InventoryError,
    InventoryStore,
    ReservationConflict,
    TimeWindow,
)
from browser_runtime.inventory.schema import MIGRATIONS

from .conftest import NOW, PLATE, TIPS_300, TIPS_1000


def test_the_batch_goes_to_the_cheapest_total_not_the_cheapest_first(store, catalog, window):
    # A first-come choice gives the 8-tip run the cheap rack and the 96-tip run the dear one
    # (0.40 + 7.68); the cheapest batch is the other way round (0.64 + 4.80).
    store.set_cost(TIPS_1000, 0.05, "tip")
    store.set_cost(TIPS_300, 0.08, "tip", currency="EUR")
    cheap = store.add_labware("cheap rack", TIPS_1000, remaining_tips=96)
    dear = store.add_labware("dear rack", TIPS_300, remaining_tips=96, expires_at=NOW + timedelta(days=30))
    needs = [ConsumableRequirement("few", category="tip_rack", tips=8),
             ConsumableRequirement("many", category="tip_rack", tips=96)]
    plan = ConsumableAssignmentService(store, catalog).assign(needs, window, now=NOW)
    few, many = plan.assignments
    assert (few.asset_id, many.asset_id) == (dear, cheap)
    assert plan.total_cost == pytest.approx(0.64 + 4.80)
    assert few.reasons[0] == "costs EUR 0.08 per tip x 8 = EUR 0.64"
    assert many.reasons[0] == "costs 0.05 per tip x 96 = 4.8" and many.cost == pytest.approx(4.8)
    assert plan.to_dict()["total_cost"] == pytest.approx(5.44)


def test_cost_comes_after_the_hard_constraints_and_before_the_scores(store, catalog, window):
    store.set_cost(PLATE, 2.0)
    near = store.add_labware("on deck", PLATE, location="deck/1", expires_at=NOW + timedelta(days=10))
    store.add_labware("expired", PLATE, expires_at=NOW - timedelta(days=1))  # free but not allowed
    plan = ConsumableAssignmentService(store, catalog).assign([ConsumableRequirement("p", category="plate")],
                                                              window, now=NOW)
    assert plan.assignments[0].asset_id == near and plan.assignments[0].reasons[0] == "costs 2 per item"
    untyped = store.add_labware("other", TIPS_1000, remaining_tips=96)
    plan = ConsumableAssignmentService(store, catalog).assign([ConsumableRequirement("t", category="tip_rack")],
                                                              window, now=NOW)
    assert plan.assignments[0].asset_id == untyped
    assert plan.assignments[0].reasons[0] == "no cost recorded for its type" and plan.total_cost == 0


@pytest.mark.parametrize(("arguments", "message"), [
    ((PLATE, -1.0), "cost must be a number >= 0"), ((PLATE, 1.0, "box"), "unit must be one of item, tip, uL"),
    (("", 1.0), "needs the labware type"), ((PLATE, float("nan")), "cost must be a number")])
def test_bad_costs_are_refused(store, arguments, message):
    with pytest.raises(InventoryError, match=message):
        store.set_cost(*arguments)
    assert store.costs() == {}


def test_a_run_draws_stock_and_a_loaded_refill_is_stock_no_more(store):
    rack = store.add_labware("refill pack", TIPS_1000, remaining_tips=96, refill=True)
    trough = store.add_labware("buffer", "pylabrobot.resources.hamilton.troughs.hamilton_1_trough_200mL_Vb",
                               remaining_volume_ul=1000.0)
    assert store.asset(rack).refill
    store.draw(rack, tips=40)
    store.draw(trough, volume_ul=1500.0)  # never below zero
    assert (store.asset(rack).remaining_tips, store.asset(rack).refill) == (56, False)
    assert store.asset(trough).remaining_volume_ul == 0.0
    with pytest.raises(InventoryError, match="no labware with id 999"):
        store.draw(999, tips=1)
    with pytest.raises(InventoryError, match="refill must be true or false"):
        store.add_labware("bad", TIPS_1000, refill="yes")


def test_holds_per_window_are_all_or_nothing(store):
    machine = store.add_machine("LH", "x.LH", "liquid_handler")
    plate = store.add_labware("plate", PLATE)
    early = TimeWindow(NOW, NOW + timedelta(minutes=10))
    whole = TimeWindow(NOW, NOW + timedelta(minutes=30))
    store.reserve_windows("a", [(machine, early), (plate, whole)], now=NOW)
    with pytest.raises(ReservationConflict, match=f"asset {machine} \\(LH\\): run a holds it"):
        store.reserve_windows("b", [(plate, TimeWindow(NOW + timedelta(minutes=40), NOW + timedelta(hours=1))),
                                    (machine, TimeWindow(NOW + timedelta(minutes=5), NOW + timedelta(minutes=15)))],
                              now=NOW)
    assert {r.run_id for r in store.reservations()} == {"a"}  # nothing of b was written
    later = store.reserve_windows("b", [(machine, TimeWindow(NOW + timedelta(minutes=10), NOW + timedelta(minutes=20)))],
                                  now=NOW)
    with pytest.raises(ReservationConflict, match="run b holds it"):
        store.move("a", {store.reservations(run_id="a")[0].id: whole}, now=NOW)
    store.move("a", {store.reservations(run_id="a")[0].id: whole}, now=NOW, force=True)  # an overrun
    assert store.reservations(run_id="a")[0].window == whole and later


def test_schema_4_keeps_workcells_and_lets_a_machine_join_two(tmp_path):
    path = tmp_path / "v3.sqlite"
    connection = sqlite3.connect(path, isolation_level=None)
    for version, migration in enumerate(MIGRATIONS[:3]):
        for statement in migration.split(";"):
            if statement.strip():
                connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {version + 1}")
    now = NOW.isoformat()
    connection.execute("INSERT INTO assets (kind, name, catalog_fqn, machine_kind, status, created_at) VALUES "
                       "('machine', 'reader', 'x.Reader', 'plate_reader', 'available', ?)", (now,))
    connection.execute("INSERT INTO workcells (name, created_at) VALUES ('Alpha', ?)", (now,))
    connection.execute("INSERT INTO workcell_machines VALUES (1, 1)")
    connection.execute("INSERT INTO workcells (name, created_at) VALUES ('Bravo', ?)", (now,))
    with pytest.raises(sqlite3.IntegrityError):
        connection.execute("INSERT INTO workcell_machines VALUES (2, 1)")  # schema 3: one workcell each
    connection.close()
    store = InventoryStore(path)
    assert store.connection.execute("SELECT workcell_id, asset_id FROM workcell_machines").fetchall() == [(1, 1)]
    store.connection.execute("INSERT INTO workcell_machines VALUES (2, 1)")
    assert store.costs() == {} and store.connection.execute("SELECT quality FROM schedule_state").fetchone() == (None,)
    store.close()
