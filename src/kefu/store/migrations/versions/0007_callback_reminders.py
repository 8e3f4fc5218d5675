"""callback reminders: when the reminder fired and when the task was done (SLA-05)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 17:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kefu.store.models.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_tasks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "reminded_at", kefu.store.models.base.UtcDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("done_at", kefu.store.models.base.UtcDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("outbound_tasks", schema=None) as batch_op:
        batch_op.drop_column("done_at")
        batch_op.drop_column("reminded_at")
