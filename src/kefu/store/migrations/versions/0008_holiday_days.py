"""holiday schedules entered or imported by an admin (SV-04)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 18:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "holiday_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("festival", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holiday_days")),
        sa.UniqueConstraint("day", name=op.f("uq_holiday_days_day")),
    )
    with op.batch_alter_table("holiday_days", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_holiday_days_year"), ["year"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("holiday_days", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_holiday_days_year"))
    op.drop_table("holiday_days")
