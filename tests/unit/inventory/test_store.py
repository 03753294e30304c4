"""The inventory database: migrations, transactional writes, atomic reservations, guaranteed release."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from browser_runtime.inventory import (
    SCHEMA_VERSION,
    InventoryError,
    InventoryStore,
    ReservationConflict,
    TimeWindow,
    migrate,
)

from .conftest import NOW, PLATE, days


def test_migrations_are_versioned_and_idempotent(tmp_path):
    path = tmp_path / "inventory.sqlite"
    InventoryStore(path).close()
    connection = sqlite3.connect(path, isolation_level=None)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert migrate(connection) == SCHEMA_VERSION  # nothing left to do
    tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"assets", "consumables", "reservations"} <= tables


def test_a_newer_database_is_refused(tmp_path):
    path = tmp_path / "inventory.sqlite"
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()
    with pytest.raises(RuntimeError, match="newer than this"):
        InventoryStore(path)


def test_labware_round_trips(store):
    asset_id = store.add_labware("plate A", PLATE, barcode="P-001", location="fridge/2", lot="L1",
                                 received_at=days(-10), expires_at=days(30), remaining_volume_ul=None)
    asset = store.asset(asset_id)
    assert (asset.name, asset.catalog_fqn, asset.barcode, asset.lot) == ("plate A", PLATE, "P-001", "L1")
    assert asset.expires_at == days(30) and asset.status == "available"


def test_a_bad_row_writes_nothing(store):
    with pytest.raises(InventoryError, match=r"labware #1 \('dup'\)"):
        store.add_labware_many([{"name": "ok", "catalog_fqn": PLATE, "barcode": "X"},
                                {"name": "dup", "catalog_fqn": PLATE, "barcode": "X"}])
    assert store.assets() == []
    with pytest.raises(InventoryError, match="remaining_tips cannot be negative"):
        store.add_labware("rack", PLATE, remaining_tips=-1)
    with pytest.raises(InventoryError, match="time zone"):
        store.add_labware("p", PLATE, expires_at=days(1).replace(tzinfo=None))
    assert store.assets() == []


def test_reserving_a_plan_is_all_or_nothing(store, window):
    a, b, c = (store.add_labware(n, PLATE) for n in "abc")
    store.reserve("run-1", [a], window)
    with pytest.raises(ReservationConflict) as raised:
        store.reserve("run-2", [b, a, c], window)
    assert any("run run-1 holds it" in c for c in raised.value.conflicts)
    assert [r.run_id for r in store.reservations()] == ["run-1"]  # nothing of run-2 was written
    later = TimeWindow(window.ends_at, window.ends_at + timedelta(hours=1))
    assert len(store.reserve("run-3", [a, b, c], later)) == 3  # touching windows do not overlap


def test_unknown_duplicate_and_unavailable_assets_are_conflicts(store, window):
    a = store.add_labware("a", PLATE)
    store.set_status(a, "quarantined")
    with pytest.raises(ReservationConflict) as raised:
        store.reserve("run", [a, 999], window)
    assert raised.value.conflicts == ["asset 1 (a) is quarantined", "asset 999 does not exist"]
    with pytest.raises(ReservationConflict, match="appears twice"):
        store.reserve("run", [a, a], window)


def test_release_on_success_and_on_failure(store, window):
    a = store.add_labware("a", PLATE)
    with store.reserved("run-ok", [a], window):
        assert store.reserved_in(window)[a]
    assert store.reserved_in(window) == {}
    with pytest.raises(RuntimeError, match="pump jammed"):
        with store.reserved("run-bad", [a], window):
            raise RuntimeError("pump jammed")
    [failed] = store.reservations(run_id="run-bad")
    assert failed.status == "released"
    reason = store.connection.execute("SELECT release_reason FROM reservations WHERE run_id = 'run-bad'")
    assert "pump jammed" in reason.fetchone()[0]
    assert store.release("run-bad") == 0  # releasing twice is harmless


def test_unconfirmed_holds_lapse(store, window):
    a = store.add_labware("a", PLATE)
    store.reserve("tentative", [a], window, hold_for=timedelta(minutes=10), now=NOW)
    assert store.reserved_in(window, now=NOW + timedelta(minutes=5))
    assert store.reserved_in(window, now=NOW + timedelta(minutes=11)) == {}
    store.confirm("tentative")
    assert store.reserved_in(window, now=NOW + timedelta(days=1))


def test_time_windows_must_end_after_they_start():
    with pytest.raises(ValueError, match="must end after it starts"):
        TimeWindow(NOW, NOW)
