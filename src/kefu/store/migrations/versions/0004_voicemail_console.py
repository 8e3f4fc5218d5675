"""voicemail console and IVR password lockout: heard by, callback ticket, purge mark,
wrong-password counts per account and day

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 17:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kefu.store.models.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("voicemails", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heard_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("ticket_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("purged_at", kefu.store.models.base.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_voicemails_heard_by_users"),
            "users",
            ["heard_by"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_voicemails_ticket_id_tickets"),
            "tickets",
            ["ticket_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "ivr_password_failures",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("updated_at", kefu.store.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account", "day", name=op.f("pk_ivr_password_failures")),
    )


def downgrade() -> None:
    op.drop_table("ivr_password_failures")
    with op.batch_alter_table("voicemails", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_voicemails_ticket_id_tickets"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_voicemails_heard_by_users"), type_="foreignkey")
        batch_op.drop_column("purged_at")
        batch_op.drop_column("ticket_id")
        batch_op.drop_column("heard_by")
