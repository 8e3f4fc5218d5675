"""recording retention: legal hold and purge marks

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 16:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kefu.store.models.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("legal_hold", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("hold_reason", sa.String(length=256), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("purged_at", kefu.store.models.base.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_recordings_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_index("ix_recordings_created_at")
        batch_op.drop_column("purged_at")
        batch_op.drop_column("hold_reason")
        batch_op.drop_column("legal_hold")
