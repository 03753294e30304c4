"""The lab database on both engines: one schema, migrations, adopting today's SQLite file, refusing newer.

Real SQLite files and a real PostgreSQL; `labwright serve` started as a process where the
behaviour is the server's (migrating at start, refusing with a clear message).
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from bridge_server.database import DatabaseTooNew, LabDatabase, database_url
from bridge_server.database.engine import HEAD
from bridge_server.database.portable import translate
from bridge_server.database.tables import INVENTORY_TABLES, metadata
from tests.serving import LABWRIGHT, ROOT, free_port, running_server, server_env
from tests.unit.server.bridge_client import HARDWARE, TOKEN, Bridge

pytestmark = pytest.mark.cpython

PLATE = "pylabrobot.resources.corning.plates.Cor_96_wellplate_360ul_Fb"
LIQUID_HANDLER = "pylabrobot.liquid_handling.liquid_handler.LiquidHandler"


def _url(lab_database, tmp_path: Path) -> str:
    return database_url(lab_database.fresh().url, tmp_path)


def test_migrations_build_exactly_the_schema_on_both_engines(lab_database, tmp_path: Path):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    database = LabDatabase(_url(lab_database, tmp_path))
    assert database.migrate() == (None, HEAD)
    assert database.migrate() == (HEAD, HEAD)  # a second start finds nothing to do
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    database.engine.dispose()


def test_the_inventory_tables_are_the_pages_inventory_schema():
    """The server runs the page's InventoryStore and ScheduleBook: same tables, same columns."""
    from browser_runtime.inventory.schema import component
    from browser_runtime.storage import migrate, shape

    page = sqlite3.connect(":memory:", isolation_level=None)
    migrate(page, [component()])
    pages = {table: columns for table, columns in shape(page).items() if table in component().tables}
    ours = {name: [column.name for column in metadata.tables[name].columns] for name in INVENTORY_TABLES}
    assert ours == pages


def _todays_sqlite_file(path: Path) -> None:
    """The server's SQLite file as the code before versioned migrations wrote it: the store's
    tables, and the inventory (page migrations, schema version 3) with a schedule in it."""
    from browser_runtime.inventory import InventoryStore
    from browser_runtime.scheduler import ScheduleBook
    from bridge_server.database.engine import _LEGACY_STORE

    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(_LEGACY_STORE)
    now = time.time()
    db.execute("INSERT INTO leases VALUES ('simulator:pylabrobot.scales.chatterbox.ScaleChatterboxBackend',"
               " 'alice', 'pylabrobot.scales.chatterbox.ScaleChatterboxBackend', '{}', 600, ?, ?, ?, 3)",
               (now, now, now + 600))
    db.execute("INSERT INTO devices VALUES ('bench-scale', 'Bench scale', "
               "'pylabrobot.scales.chatterbox.ScaleChatterboxBackend', 'simulator', NULL, NULL, "
               "'{\"dummy_weight\": 1.0}', ?, ?)", (now, now))
    db.close()
    inventory = InventoryStore(path)
    machine = inventory.add_machine("Old STAR", LIQUID_HANDLER, "liquid_handler", capabilities=["pipetting"])
    inventory.add_labware("old plate", PLATE, barcode="OLD-1", lot="L7", remaining_volume_ul=12.5)
    book = ScheduleBook(inventory)
    book.add_workcell("Old cell", [machine])
    assert book.revision == 1
    inventory.close()


def test_todays_sqlite_file_is_migrated_without_loss(tmp_path: Path, catalog_file: Path):
    _todays_sqlite_file(tmp_path / "labwright.sqlite3")
    env = {"LABWRIGHT_TOKEN": TOKEN, "LABWRIGHT_DATA_DIR": str(tmp_path), "LABWRIGHT_CATALOG": str(catalog_file),
           "LABWRIGHT_MDNS": "0", "LABWRIGHT_NODE": "the-lab-pc"}
    with running_server(env=env) as url:
        bridge = Bridge(url)
        leases = bridge.get(f"{HARDWARE}/connections").json()["connections"]
        assert [(x["client_id"], x["node"], x["heartbeats"]) for x in leases] == [("alice", "the-lab-pc", 3)]
        assert bridge.get(f"{HARDWARE}/devices/bench-scale").json()["configuration"] == {"dummy_weight": 1.0}
        schedule = bridge.get("api/v1/schedule").json()
        assert schedule["revision"] == 1
        assert [(w["name"], [m["name"] for m in w["machines"]]) for w in schedule["workcells"]] == [
            ("Old cell", ["Old STAR"])]
        [plate] = bridge.get("api/v1/schedule/labware").json()["labware"]
        assert (plate["barcode"], plate["lot"], plate["remaining_volume_ul"]) == ("OLD-1", "L7", 12.5)
        bridge.close()
    with sqlite3.connect(tmp_path / "labwright.sqlite3") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]


def test_an_older_postgresql_database_is_migrated_at_start(postgres_cluster, tmp_path: Path, catalog_file: Path):
    """A database left at the baseline revision, with a lease in it, is brought to head by the server
    (the SQLite case is the adoption test above)."""
    from alembic import command
    from sqlalchemy import text

    from tests.unit.server.conftest import LabDatabaseUnderTest

    fresh = LabDatabaseUnderTest.make("postgresql", postgres_cluster)
    database = LabDatabase(database_url(fresh.url, tmp_path))
    with database.engine.begin() as connection:
        command.upgrade(database._alembic(connection), "0001")
        now = time.time()
        connection.execute(text("INSERT INTO leases VALUES (:d, 'bob', NULL, '{}', 600, :n, :n, :e, 0)"),
                           {"d": "simulator:pylabrobot.shaking.chatterbox.ShakerChatterboxBackend",
                            "n": now, "e": now + 600})
    database.engine.dispose()
    env = {"LABWRIGHT_TOKEN": TOKEN, "LABWRIGHT_DATA_DIR": str(tmp_path / "data"), "LABWRIGHT_MDNS": "0",
           "LABWRIGHT_CATALOG": str(catalog_file), "LABWRIGHT_NODE": "pc-1", **fresh.env()}
    with running_server(env=env) as url:
        bridge = Bridge(url)
        leases = bridge.get(f"{HARDWARE}/connections").json()["connections"]
        assert [(x["client_id"], x["node"]) for x in leases] == [("bob", "pc-1")]
        bridge.close()


def test_a_database_from_a_newer_labwright_is_refused_with_a_clear_message(lab_database, tmp_path: Path):
    from sqlalchemy import text

    fresh = lab_database.fresh()
    url = database_url(fresh.url, tmp_path)
    database = LabDatabase(url)
    database.migrate()
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(DatabaseTooNew, match="'0099'.*newer Labwright"):
        LabDatabase(url).migrate()
    database.engine.dispose()
    port = free_port()
    process = subprocess.run([str(LABWRIGHT), "serve", "--port", str(port), "--data-dir", str(tmp_path)],
                             cwd=ROOT, capture_output=True, text=True, timeout=60,
                             env=server_env({"LABWRIGHT_MDNS": "0", **fresh.env()}))
    assert process.returncode == 1
    assert "schema revision '0099'" in process.stderr and "Upgrade Labwright" in process.stderr
    assert "Labwright is serving" not in process.stdout


def test_bad_database_urls_are_refused_before_anything_starts(tmp_path: Path):
    for url, words in (("mysql://x@y/z", "unknown database 'mysql'"), ("sqlite://relative", "SQLite needs a file"),
                       ("nonsense", "is not a URL"),
                       ("postgresql://nobody@127.0.0.1:1/none", "cannot open the database")):
        process = subprocess.run([str(LABWRIGHT), "serve", "--port", str(free_port()), "--data-dir", str(tmp_path),
                                  "--database-url", url], cwd=ROOT, capture_output=True, text=True, timeout=60,
                                 env=server_env({"LABWRIGHT_MDNS": "0"}))
        assert process.returncode != 0, url
        assert words in process.stderr, (url, process.stderr)


def test_sqlite_parameters_become_psycopgs_outside_literals():
    assert translate("SELECT a FROM t WHERE b = ? AND c = :name") == "SELECT a FROM t WHERE b = %s AND c = %(name)s"
    assert translate("SELECT '?', ':x', 'it''s ?' WHERE d LIKE 'a%' AND e = ?") == \
        "SELECT '?', ':x', 'it''s ?' WHERE d LIKE 'a%%' AND e = %s"
    assert translate("SELECT x::text, 5 % 2") == "SELECT x::text, 5 %% 2"


def test_the_pages_store_runs_unchanged_on_postgresql(lab_database, tmp_path: Path):
    """The inventory's own behaviour (all-or-nothing, conflicts, generated ids) through the adapter."""
    from datetime import UTC, datetime, timedelta

    from browser_runtime.inventory import InventoryStore
    from browser_runtime.inventory.models import TimeWindow
    from browser_runtime.inventory.store import InventoryError, ReservationConflict

    database = LabDatabase(_url(lab_database, tmp_path))
    database.open()
    store = InventoryStore(database.inventory_database(), migrate_schema=False)
    try:
        first, second = store.add_labware("a", PLATE, barcode="A"), store.add_labware("b", PLATE)
        assert second == first + 1 and store.asset(second).name == "b"
        with pytest.raises(InventoryError, match="labware #1"):
            store.add_labware_many([{"name": "c", "catalog_fqn": PLATE}, {"name": "d", "catalog_fqn": PLATE,
                                                                         "barcode": "A"}])
        assert [a.name for a in store.assets()] == ["a", "b"]  # nothing of the failed batch
        now = datetime(2030, 1, 1, tzinfo=UTC)
        window = TimeWindow(now, now + timedelta(hours=1))
        store.reserve("run-1", [first], window, now=now)
        with pytest.raises(ReservationConflict, match="run run-1 holds it"):
            store.reserve("run-2", [second, first], window, now=now)
        assert [r.run_id for r in store.reservations()] == ["run-1"]
    finally:
        store.close()
        asyncio_close(database)


def asyncio_close(database: LabDatabase) -> None:
    from tests.conftest import _run  # a thread of its own: after the e2e layer a loop runs on this one

    _run(database.close())


def test_leases_survive_in_json(lab_database, tmp_path: Path):
    """Config round-trips through both engines as the JSON it was given."""
    from bridge_server.store import Store

    async def main() -> dict:
        database = LabDatabase(_url(lab_database, tmp_path))
        database.open()
        await database.start()
        try:
            store = Store(database, "pc")
            config = {"port": "/dev/ttyUSB0", "baud": 9600, "nested": {"a": [1, 2.5, None, "ü"]}}
            outcome = await store.acquire("dev", "me", "Backend", config, 60)
            assert outcome.lease is not None
            return (await store.lease("dev")).config  # type: ignore[union-attr]
        finally:
            await database.close()

    from tests.conftest import _run

    assert _run(main()) == {"port": "/dev/ttyUSB0", "baud": 9600, "nested": {"a": [1, 2.5, None, "ü"]}}


def test_nothing_acknowledged_is_lost_when_the_server_is_killed(lab_database, tmp_path: Path, catalog_file: Path,
                                                               run_async):
    """kill -9 right after the last answer: a restarted server (same database) has every write."""
    import asyncio
    import os
    import signal

    import httpx

    fresh = lab_database.fresh()
    env = {"LABWRIGHT_TOKEN": TOKEN, "LABWRIGHT_DATA_DIR": str(tmp_path), "LABWRIGHT_CATALOG": str(catalog_file),
           "LABWRIGHT_MDNS": "0", "LABWRIGHT_NODE": "pc", **fresh.env()}
    processes: list = []
    with running_server(env=env, on_start=processes.append) as url:
        bridge = Bridge(url)
        simulators = bridge.get(f"{HARDWARE}/discover/simulators").json()["devices"][:8]

        async def writes() -> tuple[list[str], list[str]]:
            async with httpx.AsyncClient(base_url=url, timeout=60, headers=bridge.headers(client="writer")) as http:
                async def lease(device_id: str) -> str:
                    answer = await http.post(f"{HARDWARE}/connect", json={"device_id": device_id})
                    return device_id if answer.status_code == 200 else ""

                async def stock(index: int) -> str:
                    answer = await http.post("api/v1/schedule/labware", json={"labware": [
                        {"name": f"plate {index}", "catalog_fqn": PLATE, "barcode": f"K-{index}"}]})
                    return f"K-{index}" if answer.status_code == 201 else ""

                answered = await asyncio.gather(*(lease(d["id"]) for d in simulators),
                                                *(stock(i) for i in range(16)))
                os.kill(processes[0].pid, signal.SIGKILL)
                return [a for a in answered[:8] if a], [a for a in answered[8:] if a]

        leased, stocked = run_async(writes())
        bridge.close()
    assert len(leased) == 8 and len(stocked) == 16
    with running_server(env=env) as url:
        bridge = Bridge(url)
        held = {c["device_id"] for c in bridge.get(f"{HARDWARE}/connections").json()["connections"]}
        assert set(leased) <= held
        barcodes = {item["barcode"] for item in bridge.get("api/v1/schedule/labware").json()["labware"]}
        assert set(stocked) <= barcodes
        bridge.close()
