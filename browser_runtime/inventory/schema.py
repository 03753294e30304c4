"""The inventory database schema as numbered migrations, applied in order inside one transaction."""

from __future__ import annotations

import sqlite3
from typing import Any

# Each entry moves the schema from version i to i + 1 (PRAGMA user_version). Never edit a
# released migration; append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE assets (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('machine', 'labware')),
        name TEXT NOT NULL,
        catalog_fqn TEXT NOT NULL,
        machine_kind TEXT,
        backend_fqn TEXT,
        capabilities TEXT NOT NULL DEFAULT '[]',
        barcode TEXT UNIQUE,
        location TEXT,
        status TEXT NOT NULL DEFAULT 'available'
            CHECK (status IN ('available', 'in_use', 'quarantined', 'consumed', 'retired')),
        created_at TEXT NOT NULL
    );
    CREATE TABLE consumables (
        asset_id INTEGER PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,
        lot TEXT,
        received_at TEXT,
        expires_at TEXT,
        remaining_volume_ul REAL CHECK (remaining_volume_ul IS NULL OR remaining_volume_ul >= 0),
        remaining_tips INTEGER CHECK (remaining_tips IS NULL OR remaining_tips >= 0)
    );
    CREATE TABLE reservations (
        id INTEGER PRIMARY KEY,
        asset_id INTEGER NOT NULL REFERENCES assets(id),
        run_id TEXT NOT NULL,
        starts_at TEXT NOT NULL,
        ends_at TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('held', 'released')),
        expires_at TEXT,
        created_at TEXT NOT NULL,
        released_at TEXT,
        release_reason TEXT,
        CHECK (ends_at > starts_at)
    );
    CREATE INDEX reservations_by_asset ON reservations (asset_id, status);
    CREATE INDEX reservations_by_run ON reservations (run_id, status);
    """,
    """
    CREATE INDEX assets_by_kind_status ON assets (kind, status);
    CREATE INDEX assets_by_fqn ON assets (catalog_fqn);
    """,
    # 3: the scheduler. Reservations gain 'active' (the run started), so the table is rebuilt
    # (SQLite cannot alter a CHECK) with every existing row copied; workcells group machines;
    # scheduled_runs hold each run request with its placement, status and heartbeat; one
    # schedule_state row carries the revision that optimistic writers compare against.
    """
    CREATE TABLE reservations_v3 (
        id INTEGER PRIMARY KEY,
        asset_id INTEGER NOT NULL REFERENCES assets(id),
        run_id TEXT NOT NULL,
        starts_at TEXT NOT NULL,
        ends_at TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('held', 'active', 'released')),
        expires_at TEXT,
        created_at TEXT NOT NULL,
        released_at TEXT,
        release_reason TEXT,
        CHECK (ends_at > starts_at)
    );
    INSERT INTO reservations_v3 (id, asset_id, run_id, starts_at, ends_at, status, expires_at,
        created_at, released_at, release_reason)
        SELECT id, asset_id, run_id, starts_at, ends_at, status, expires_at, created_at,
        released_at, release_reason FROM reservations;
    DROP TABLE reservations;
    ALTER TABLE reservations_v3 RENAME TO reservations;
    CREATE INDEX reservations_by_asset ON reservations (asset_id, status);
    CREATE INDEX reservations_by_run ON reservations (run_id, status);
    CREATE INDEX reservations_by_window ON reservations (starts_at, ends_at);
    CREATE TABLE workcells (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        deck TEXT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE workcell_machines (
        workcell_id INTEGER NOT NULL REFERENCES workcells(id) ON DELETE CASCADE,
        asset_id INTEGER NOT NULL UNIQUE REFERENCES assets(id),
        PRIMARY KEY (workcell_id, asset_id)
    );
    CREATE TABLE scheduled_runs (
        run_id TEXT PRIMARY KEY,
        request TEXT NOT NULL,
        priority INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL CHECK (status IN ('scheduled', 'infeasible', 'running', 'completed',
            'failed', 'cancelled', 'stale')),
        workcell TEXT,
        starts_at TEXT,
        ends_at TEXT,
        assignment TEXT NOT NULL DEFAULT '{}',
        reason TEXT,
        created_at TEXT NOT NULL,
        started_at TEXT,
        ended_at TEXT,
        heartbeat_at TEXT
    );
    CREATE INDEX scheduled_runs_by_status ON scheduled_runs (status);
    CREATE TABLE schedule_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        revision INTEGER NOT NULL,
        method TEXT,
        planned_at TEXT
    );
    INSERT INTO schedule_state (id, revision) VALUES (1, 0)
    """,
    # 4: a lab day. A machine may be in several workcells (the table is rebuilt without the
    # UNIQUE on asset_id, rows copied); an item type carries a cost; refill stock is marked;
    # lab hours and operator shifts are calendars; the schedule keeps its makespan, lower
    # bound and gap; a hold made by hand says why.
    """
    CREATE TABLE workcell_machines_v4 (
        workcell_id INTEGER NOT NULL REFERENCES workcells(id) ON DELETE CASCADE,
        asset_id INTEGER NOT NULL REFERENCES assets(id),
        PRIMARY KEY (workcell_id, asset_id)
    );
    INSERT INTO workcell_machines_v4 (workcell_id, asset_id)
        SELECT workcell_id, asset_id FROM workcell_machines;
    DROP TABLE workcell_machines;
    ALTER TABLE workcell_machines_v4 RENAME TO workcell_machines;
    CREATE INDEX workcell_machines_by_asset ON workcell_machines (asset_id);
    CREATE TABLE labware_costs (
        catalog_fqn TEXT PRIMARY KEY,
        cost REAL NOT NULL CHECK (cost >= 0),
        unit TEXT NOT NULL CHECK (unit IN ('item', 'tip', 'uL')),
        currency TEXT NOT NULL DEFAULT '',
        updated_at TEXT NOT NULL
    );
    ALTER TABLE consumables ADD COLUMN refill INTEGER NOT NULL DEFAULT 0 CHECK (refill IN (0, 1));
    CREATE TABLE lab_hours (
        id INTEGER PRIMARY KEY,
        starts_at TEXT NOT NULL,
        ends_at TEXT NOT NULL,
        CHECK (ends_at > starts_at)
    );
    CREATE TABLE operator_shifts (
        id INTEGER PRIMARY KEY,
        operator TEXT NOT NULL,
        starts_at TEXT NOT NULL,
        ends_at TEXT NOT NULL,
        CHECK (ends_at > starts_at)
    );
    CREATE INDEX operator_shifts_by_operator ON operator_shifts (operator, starts_at);
    ALTER TABLE schedule_state ADD COLUMN quality TEXT;
    ALTER TABLE reservations ADD COLUMN note TEXT
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(connection: sqlite3.Connection) -> int:
    """Bring the database up to SCHEMA_VERSION; returns the version it started from.

    A database newer than this code is refused rather than guessed at.
    """
    current = connection.execute("PRAGMA user_version").fetchone()[0]
    if current > SCHEMA_VERSION:
        raise RuntimeError(f"inventory database is at schema version {current}, newer than this "
                           f"Labwright ({SCHEMA_VERSION}); upgrade Labwright")
    for version in range(current, SCHEMA_VERSION):
        connection.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[version].split(";"):
                if statement.strip():
                    connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {version + 1}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
    return current


def _user_version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA user_version").fetchone()[0])


def _set_user_version(connection: sqlite3.Connection, version: int) -> None:
    connection.execute(f"PRAGMA user_version = {int(version)}")


def component() -> Any:
    """The inventory as one part of a larger database (the page's), versioned by ``user_version``."""
    from browser_runtime.storage import Component

    return Component("inventory", tables=("assets", "consumables", "reservations", "workcells",
                                          "workcell_machines", "scheduled_runs", "schedule_state",
                                          "labware_costs", "lab_hours", "operator_shifts"),
                     migrations=MIGRATIONS, read_version=_user_version, write_version=_set_user_version)
