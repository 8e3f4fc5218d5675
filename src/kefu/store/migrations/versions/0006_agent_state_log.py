"""agent state log and after-call work: occupancy and AHT with ACW (CC-10)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 17:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kefu.store.models.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_state_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("started_at", kefu.store.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", kefu.store.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_state_log_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_state_log")),
    )
    with op.batch_alter_table("agent_state_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_agent_state_log_agent_id_started_at", ["agent_id", "started_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_agent_state_log_started_at"), ["started_at"], unique=False
        )
    # existing CDRs had no after-call work recorded: 0
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("acw_seconds", sa.Double(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.alter_column("acw_seconds", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("acw_seconds")
    with op.batch_alter_table("agent_state_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_state_log_started_at"))
        batch_op.drop_index("ix_agent_state_log_agent_id_started_at")
    op.drop_table("agent_state_log")
