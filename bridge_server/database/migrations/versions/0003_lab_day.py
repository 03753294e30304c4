"""A lab day: the page's inventory schema version 4 (browser_runtime.inventory.schema).

A machine may belong to several workcells (no UNIQUE on workcell_machines.asset_id); an item
type carries a cost (labware_costs); refill stock is marked (consumables.refill); lab hours and
operator shifts are calendars; the schedule keeps its quality (makespan, bound, gap); a hold
made by hand says why (reservations.note). An SQLite file adopted with its inventory already at
version 4 (``PRAGMA user_version``) has all of it and skips this step.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INTEGER = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
REAL = sa.Double()
TEXT = sa.Text()
TIME = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
INVENTORY_VERSION = 4


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite and bind.exec_driver_sql("PRAGMA user_version").scalar() >= INVENTORY_VERSION:
        return
    if sqlite:
        # SQLite cannot drop a UNIQUE: a new table, every row copied, then swapped in.
        op.execute("""CREATE TABLE workcell_machines_v4 (
            workcell_id INTEGER NOT NULL, asset_id INTEGER NOT NULL,
            CONSTRAINT workcell_machines_pkey PRIMARY KEY (workcell_id, asset_id),
            FOREIGN KEY(workcell_id) REFERENCES workcells (id) ON DELETE CASCADE,
            FOREIGN KEY(asset_id) REFERENCES assets (id))""")
        op.execute("INSERT INTO workcell_machines_v4 (workcell_id, asset_id) SELECT workcell_id, asset_id FROM workcell_machines")
        op.execute("DROP TABLE workcell_machines")
        op.execute("ALTER TABLE workcell_machines_v4 RENAME TO workcell_machines")
        op.execute("ALTER TABLE consumables ADD COLUMN refill INTEGER DEFAULT 0 NOT NULL "
                   "CONSTRAINT consumables_refill CHECK (refill IN (0, 1))")
    else:
        op.drop_constraint("workcell_machines_asset_id_key", "workcell_machines", type_="unique")
        op.add_column("consumables", sa.Column("refill", INTEGER, nullable=False, server_default=sa.text("0")))
        op.create_check_constraint("consumables_refill", "consumables", "refill IN (0, 1)")
    op.create_index("workcell_machines_by_asset", "workcell_machines", ["asset_id"])
    op.create_table(
        "labware_costs",
        sa.Column("catalog_fqn", TEXT, primary_key=True),
        sa.Column("cost", REAL, nullable=False),
        sa.Column("unit", TEXT, nullable=False),
        sa.Column("currency", TEXT, nullable=False, server_default=sa.text("''")),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint("cost >= 0", name="labware_costs_cost"),
        sa.CheckConstraint("unit IN ('item', 'tip', 'uL')", name="labware_costs_unit"),
    )
    op.create_table(
        "lab_hours",
        sa.Column("id", ID, primary_key=True),
        sa.Column("starts_at", TIME, nullable=False),
        sa.Column("ends_at", TIME, nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name="lab_hours_window"),
    )
    op.create_table(
        "operator_shifts",
        sa.Column("id", ID, primary_key=True),
        sa.Column("operator", TEXT, nullable=False),
        sa.Column("starts_at", TIME, nullable=False),
        sa.Column("ends_at", TIME, nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name="operator_shifts_window"),
    )
    op.create_index("operator_shifts_by_operator", "operator_shifts", ["operator", "starts_at"])
    op.add_column("schedule_state", sa.Column("quality", TEXT))
    op.add_column("reservations", sa.Column("note", TEXT))
    if sqlite:
        op.execute(f"PRAGMA user_version = {INVENTORY_VERSION}")
