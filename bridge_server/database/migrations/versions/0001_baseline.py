"""Baseline: the server's database as Labwright wrote it before migrations were versioned.

Leases and device profiles (``bridge_server/store.py``), and the inventory with the schedule at
the page's inventory schema version 3. An SQLite file written by that code is adopted at this
revision (``bridge_server.database.engine``) and migrated from here without loss.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INTEGER = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
REAL = sa.Double()
TEXT = sa.Text()
TIME = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("device_id", TEXT, primary_key=True),
        sa.Column("client_id", TEXT, nullable=False),
        sa.Column("backend", TEXT),
        sa.Column("config", TEXT, nullable=False, server_default=sa.text("'{}'")),
        sa.Column("ttl", REAL, nullable=False),
        sa.Column("connected_at", REAL, nullable=False),
        sa.Column("heartbeat_at", REAL, nullable=False),
        sa.Column("expires_at", REAL, nullable=False),
        sa.Column("heartbeats", INTEGER, nullable=False, server_default=sa.text("0")),
    )
    op.create_table(
        "devices",
        sa.Column("device_id", TEXT, primary_key=True),
        sa.Column("name", TEXT, nullable=False),
        sa.Column("backend", TEXT, nullable=False),
        sa.Column("connection_type", TEXT, nullable=False),
        sa.Column("port", TEXT),
        sa.Column("ip_address", TEXT),
        sa.Column("configuration", TEXT, nullable=False, server_default=sa.text("'{}'")),
        sa.Column("created_at", REAL, nullable=False),
        sa.Column("updated_at", REAL, nullable=False),
    )
    op.create_table(
        "assets",
        sa.Column("id", ID, primary_key=True),
        sa.Column("kind", TEXT, nullable=False),
        sa.Column("name", TEXT, nullable=False),
        sa.Column("catalog_fqn", TEXT, nullable=False),
        sa.Column("machine_kind", TEXT),
        sa.Column("backend_fqn", TEXT),
        sa.Column("capabilities", TEXT, nullable=False, server_default=sa.text("'[]'")),
        sa.Column("barcode", TEXT, unique=True),
        sa.Column("location", TEXT),
        sa.Column("status", TEXT, nullable=False, server_default=sa.text("'available'")),
        sa.Column("created_at", TIME, nullable=False),
        sa.CheckConstraint("kind IN ('machine', 'labware')", name="assets_kind"),
        sa.CheckConstraint("status IN ('available', 'in_use', 'quarantined', 'consumed', 'retired')",
                           name="assets_status"),
    )
    op.create_index("assets_by_kind_status", "assets", ["kind", "status"])
    op.create_index("assets_by_fqn", "assets", ["catalog_fqn"])
    op.create_table(
        "consumables",
        sa.Column("asset_id", ID, sa.ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True,
                  autoincrement=False),
        sa.Column("lot", TEXT),
        sa.Column("received_at", TIME),
        sa.Column("expires_at", TIME),
        sa.Column("remaining_volume_ul", REAL),
        sa.Column("remaining_tips", INTEGER),
        sa.CheckConstraint("remaining_volume_ul IS NULL OR remaining_volume_ul >= 0", name="consumables_volume"),
        sa.CheckConstraint("remaining_tips IS NULL OR remaining_tips >= 0", name="consumables_tips"),
    )
    op.create_table(
        "reservations",
        sa.Column("id", ID, primary_key=True),
        sa.Column("asset_id", INTEGER, sa.ForeignKey("assets.id"), nullable=False),
        sa.Column("run_id", TEXT, nullable=False),
        sa.Column("starts_at", TIME, nullable=False),
        sa.Column("ends_at", TIME, nullable=False),
        sa.Column("status", TEXT, nullable=False),
        sa.Column("expires_at", TIME),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("released_at", TIME),
        sa.Column("release_reason", TEXT),
        sa.CheckConstraint("status IN ('held', 'active', 'released')", name="reservations_status"),
        sa.CheckConstraint("ends_at > starts_at", name="reservations_window"),
    )
    op.create_index("reservations_by_asset", "reservations", ["asset_id", "status"])
    op.create_index("reservations_by_run", "reservations", ["run_id", "status"])
    op.create_index("reservations_by_window", "reservations", ["starts_at", "ends_at"])
    op.create_table(
        "workcells",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", TEXT, nullable=False, unique=True),
        sa.Column("deck", TEXT),
        sa.Column("created_at", TIME, nullable=False),
    )
    op.create_table(
        "workcell_machines",
        sa.Column("workcell_id", INTEGER, sa.ForeignKey("workcells.id", ondelete="CASCADE"), nullable=False),
        sa.Column("asset_id", INTEGER, sa.ForeignKey("assets.id"), nullable=False, unique=True),
        sa.PrimaryKeyConstraint("workcell_id", "asset_id", name="workcell_machines_pkey"),
    )
    op.create_table(
        "scheduled_runs",
        sa.Column("run_id", TEXT, primary_key=True),
        sa.Column("request", TEXT, nullable=False),
        sa.Column("priority", INTEGER, nullable=False, server_default=sa.text("0")),
        sa.Column("status", TEXT, nullable=False),
        sa.Column("workcell", TEXT),
        sa.Column("starts_at", TIME),
        sa.Column("ends_at", TIME),
        sa.Column("assignment", TEXT, nullable=False, server_default=sa.text("'{}'")),
        sa.Column("reason", TEXT),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("started_at", TIME),
        sa.Column("ended_at", TIME),
        sa.Column("heartbeat_at", TIME),
        sa.CheckConstraint("status IN ('scheduled', 'infeasible', 'running', 'completed', 'failed', "
                           "'cancelled', 'stale')", name="scheduled_runs_status"),
    )
    op.create_index("scheduled_runs_by_status", "scheduled_runs", ["status"])
    op.create_table(
        "schedule_state",
        sa.Column("id", INTEGER, primary_key=True, autoincrement=False),
        sa.Column("revision", INTEGER, nullable=False),
        sa.Column("method", TEXT),
        sa.Column("planned_at", TIME),
        sa.CheckConstraint("id = 1", name="schedule_state_one_row"),
    )
    op.execute("INSERT INTO schedule_state (id, revision) VALUES (1, 0)")
