"""The bridge server's schema, defined once: every table of the lab's shared state, as it is at head.

Alembic's migrations (``migrations/versions``) build exactly this on SQLite and on PostgreSQL
(a test compares the two); the inventory and schedule tables mirror the page's own inventory
schema (``browser_runtime.inventory.schema``), column for column (a test compares those too),
because the same ``InventoryStore`` and ``ScheduleBook`` run over both.

Types are chosen so both engines store the same values: 64-bit integers (SQLite's INTEGER),
double precision floats, text; times the inventory writes as ISO 8601 text compare byte-wise
(PostgreSQL's "C" collation), as they do in SQLite.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    text,
)

#: An integer primary key: SQLite's rowid alias (only ``INTEGER PRIMARY KEY`` is), PostgreSQL's bigint.
ID = BigInteger().with_variant(Integer(), "sqlite")
INTEGER = BigInteger().with_variant(Integer(), "sqlite")
REAL = Double()
TEXT = Text()
#: ISO 8601 text, compared as SQLite compares it: byte by byte.
TIME = Text().with_variant(Text(collation="C"), "postgresql")

metadata = MetaData()

# ---- leases and device profiles (the server's own) -----------------------------------------

leases = Table(
    "leases", metadata,
    #: The lab PC (``--node``) the device is attached to: one lease per device per PC.
    Column("node", TEXT, nullable=False, server_default=text("''")),
    Column("device_id", TEXT, nullable=False),
    Column("client_id", TEXT, nullable=False),
    Column("backend", TEXT),
    Column("config", TEXT, nullable=False, server_default=text("'{}'")),
    Column("ttl", REAL, nullable=False),
    Column("connected_at", REAL, nullable=False),
    Column("heartbeat_at", REAL, nullable=False),
    Column("expires_at", REAL, nullable=False),
    Column("heartbeats", INTEGER, nullable=False, server_default=text("0")),
    PrimaryKeyConstraint("node", "device_id", name="leases_pkey"),
)

devices = Table(
    "devices", metadata,
    Column("device_id", TEXT, primary_key=True),
    Column("name", TEXT, nullable=False),
    Column("backend", TEXT, nullable=False),
    Column("connection_type", TEXT, nullable=False),
    Column("port", TEXT),
    Column("ip_address", TEXT),
    Column("configuration", TEXT, nullable=False, server_default=text("'{}'")),
    Column("created_at", REAL, nullable=False),
    Column("updated_at", REAL, nullable=False),
)

# ---- the lab: its PCs, the devices attached to each, tickets for another PC's ports ---------

lab_nodes = Table(
    "lab_nodes", metadata,
    Column("name", TEXT, primary_key=True),
    #: Where a page reaches this PC's server (its origin): other PCs' pages open its ports there.
    Column("url", TEXT, nullable=False),
    Column("started_at", REAL, nullable=False),
    Column("seen_at", REAL, nullable=False),
)

node_devices = Table(
    "node_devices", metadata,
    Column("node", TEXT, nullable=False),
    Column("device_id", TEXT, nullable=False),
    #: The device as that PC's discovery describes it (JSON).
    Column("document", TEXT, nullable=False),
    Column("seen_at", REAL, nullable=False),
    PrimaryKeyConstraint("node", "device_id", name="node_devices_pkey"),
)

io_tickets = Table(
    "io_tickets", metadata,
    #: sha256 of the ticket: the ticket itself is never stored.
    Column("digest", TEXT, primary_key=True),
    Column("node", TEXT, nullable=False),
    Column("device_id", TEXT, nullable=False),
    Column("port", TEXT, nullable=False),
    Column("client_id", TEXT, nullable=False),
    Column("origin", TEXT, nullable=False),
    Column("expires_at", REAL, nullable=False),
)

# ---- inventory and schedule (browser_runtime.inventory.schema, version 4) -------------------

assets = Table(
    "assets", metadata,
    Column("id", ID, primary_key=True),
    Column("kind", TEXT, nullable=False),
    Column("name", TEXT, nullable=False),
    Column("catalog_fqn", TEXT, nullable=False),
    Column("machine_kind", TEXT),
    Column("backend_fqn", TEXT),
    Column("capabilities", TEXT, nullable=False, server_default=text("'[]'")),
    Column("barcode", TEXT, unique=True),
    Column("location", TEXT),
    Column("status", TEXT, nullable=False, server_default=text("'available'")),
    Column("created_at", TIME, nullable=False),
    CheckConstraint("kind IN ('machine', 'labware')", name="assets_kind"),
    CheckConstraint("status IN ('available', 'in_use', 'quarantined', 'consumed', 'retired')",
                    name="assets_status"),
    Index("assets_by_kind_status", "kind", "status"),
    Index("assets_by_fqn", "catalog_fqn"),
)

consumables = Table(
    "consumables", metadata,
    Column("asset_id", ID, ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True,
           autoincrement=False),
    Column("lot", TEXT),
    Column("received_at", TIME),
    Column("expires_at", TIME),
    Column("remaining_volume_ul", REAL),
    Column("remaining_tips", INTEGER),
    Column("refill", INTEGER, nullable=False, server_default=text("0")),
    CheckConstraint("remaining_volume_ul IS NULL OR remaining_volume_ul >= 0", name="consumables_volume"),
    CheckConstraint("refill IN (0, 1)", name="consumables_refill"),
    CheckConstraint("remaining_tips IS NULL OR remaining_tips >= 0", name="consumables_tips"),
)

reservations = Table(
    "reservations", metadata,
    Column("id", ID, primary_key=True),
    Column("asset_id", INTEGER, ForeignKey("assets.id"), nullable=False),
    Column("run_id", TEXT, nullable=False),
    Column("starts_at", TIME, nullable=False),
    Column("ends_at", TIME, nullable=False),
    Column("status", TEXT, nullable=False),
    Column("expires_at", TIME),
    Column("created_at", TIME, nullable=False),
    Column("released_at", TIME),
    Column("release_reason", TEXT),
    Column("note", TEXT),
    CheckConstraint("status IN ('held', 'active', 'released')", name="reservations_status"),
    CheckConstraint("ends_at > starts_at", name="reservations_window"),
    Index("reservations_by_asset", "asset_id", "status"),
    Index("reservations_by_run", "run_id", "status"),
    Index("reservations_by_window", "starts_at", "ends_at"),
)

workcells = Table(
    "workcells", metadata,
    Column("id", ID, primary_key=True),
    Column("name", TEXT, nullable=False, unique=True),
    Column("deck", TEXT),
    Column("created_at", TIME, nullable=False),
)

workcell_machines = Table(
    "workcell_machines", metadata,
    Column("workcell_id", INTEGER, ForeignKey("workcells.id", ondelete="CASCADE"), nullable=False),
    Column("asset_id", INTEGER, ForeignKey("assets.id"), nullable=False),
    PrimaryKeyConstraint("workcell_id", "asset_id", name="workcell_machines_pkey"),
    Index("workcell_machines_by_asset", "asset_id"),
)

scheduled_runs = Table(
    "scheduled_runs", metadata,
    Column("run_id", TEXT, primary_key=True),
    Column("request", TEXT, nullable=False),
    Column("priority", INTEGER, nullable=False, server_default=text("0")),
    Column("status", TEXT, nullable=False),
    Column("workcell", TEXT),
    Column("starts_at", TIME),
    Column("ends_at", TIME),
    Column("assignment", TEXT, nullable=False, server_default=text("'{}'")),
    Column("reason", TEXT),
    Column("created_at", TIME, nullable=False),
    Column("started_at", TIME),
    Column("ended_at", TIME),
    Column("heartbeat_at", TIME),
    CheckConstraint("status IN ('scheduled', 'infeasible', 'running', 'completed', 'failed', "
                    "'cancelled', 'stale')", name="scheduled_runs_status"),
    Index("scheduled_runs_by_status", "status"),
)

schedule_state = Table(
    "schedule_state", metadata,
    Column("id", INTEGER, primary_key=True, autoincrement=False),
    Column("revision", INTEGER, nullable=False),
    Column("method", TEXT),
    Column("planned_at", TIME),
    Column("quality", TEXT),
    CheckConstraint("id = 1", name="schedule_state_one_row"),
)

labware_costs = Table(
    "labware_costs", metadata,
    Column("catalog_fqn", TEXT, primary_key=True),
    Column("cost", REAL, nullable=False),
    Column("unit", TEXT, nullable=False),
    Column("currency", TEXT, nullable=False, server_default=text("''")),
    Column("updated_at", TIME, nullable=False),
    CheckConstraint("cost >= 0", name="labware_costs_cost"),
    CheckConstraint("unit IN ('item', 'tip', 'uL')", name="labware_costs_unit"),
)

lab_hours = Table(
    "lab_hours", metadata,
    Column("id", ID, primary_key=True),
    Column("starts_at", TIME, nullable=False),
    Column("ends_at", TIME, nullable=False),
    CheckConstraint("ends_at > starts_at", name="lab_hours_window"),
)

operator_shifts = Table(
    "operator_shifts", metadata,
    Column("id", ID, primary_key=True),
    Column("operator", TEXT, nullable=False),
    Column("starts_at", TIME, nullable=False),
    Column("ends_at", TIME, nullable=False),
    CheckConstraint("ends_at > starts_at", name="operator_shifts_window"),
    Index("operator_shifts_by_operator", "operator", "starts_at"),
)

#: The tables the page's inventory schema owns (compared with it by a test).
INVENTORY_TABLES = ("assets", "consumables", "reservations", "workcells", "workcell_machines",
                    "scheduled_runs", "schedule_state", "labware_costs", "lab_hours", "operator_shifts")
#: Tables whose integer ``id`` the database assigns (``cursor.lastrowid`` on SQLite).
GENERATED_IDS = tuple(name for name, table in metadata.tables.items()
                      if "id" in table.c and table.c.id.primary_key and table.c.id.autoincrement is not False)
