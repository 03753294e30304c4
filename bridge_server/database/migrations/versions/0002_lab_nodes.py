"""Several PCs, one lab: leases name the PC a device is attached to; PCs, their devices, IO tickets.

A lease's key becomes (node, device_id): two PCs may each have a ``serial:/dev/ttyUSB0``.
Leases written before this revision get node ``''``; the first server to open the database
takes them as its own (``Store.adopt_leases``): before this revision one server owned the file.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

REAL = sa.Double()
TEXT = sa.Text()


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot change a primary key: a new table, every row copied, then swapped in.
        op.execute("""CREATE TABLE leases_v2 (
            node TEXT DEFAULT '' NOT NULL, device_id TEXT NOT NULL, client_id TEXT NOT NULL,
            backend TEXT, config TEXT DEFAULT '{}' NOT NULL, ttl DOUBLE NOT NULL,
            connected_at DOUBLE NOT NULL, heartbeat_at DOUBLE NOT NULL, expires_at DOUBLE NOT NULL,
            heartbeats INTEGER DEFAULT 0 NOT NULL,
            CONSTRAINT leases_pkey PRIMARY KEY (node, device_id))""")
        op.execute("""INSERT INTO leases_v2 (node, device_id, client_id, backend, config, ttl,
            connected_at, heartbeat_at, expires_at, heartbeats)
            SELECT '', device_id, client_id, backend, config, ttl, connected_at, heartbeat_at,
            expires_at, heartbeats FROM leases""")
        op.execute("DROP TABLE leases")
        op.execute("ALTER TABLE leases_v2 RENAME TO leases")
    else:
        op.add_column("leases", sa.Column("node", TEXT, nullable=False, server_default=sa.text("''")))
        op.drop_constraint("leases_pkey", "leases", type_="primary")
        op.create_primary_key("leases_pkey", "leases", ["node", "device_id"])
    op.create_table(
        "lab_nodes",
        sa.Column("name", TEXT, primary_key=True),
        sa.Column("url", TEXT, nullable=False),
        sa.Column("started_at", REAL, nullable=False),
        sa.Column("seen_at", REAL, nullable=False),
    )
    op.create_table(
        "node_devices",
        sa.Column("node", TEXT, nullable=False),
        sa.Column("device_id", TEXT, nullable=False),
        sa.Column("document", TEXT, nullable=False),
        sa.Column("seen_at", REAL, nullable=False),
        sa.PrimaryKeyConstraint("node", "device_id", name="node_devices_pkey"),
    )
    op.create_table(
        "io_tickets",
        sa.Column("digest", TEXT, primary_key=True),
        sa.Column("node", TEXT, nullable=False),
        sa.Column("device_id", TEXT, nullable=False),
        sa.Column("port", TEXT, nullable=False),
        sa.Column("client_id", TEXT, nullable=False),
        sa.Column("origin", TEXT, nullable=False),
        sa.Column("expires_at", REAL, nullable=False),
    )
