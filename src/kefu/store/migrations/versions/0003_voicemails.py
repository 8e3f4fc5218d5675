"""voicemails: callers' messages recorded on SIP calls

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 16:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kefu.store.models.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "voicemails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("box", sa.String(length=64), nullable=False),
        sa.Column("caller", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("duration_s", sa.Double(), nullable=False),
        sa.Column("ended_by", sa.String(length=16), nullable=False),
        sa.Column("created_at", kefu.store.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("heard_at", kefu.store.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_voicemails_call_id_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voicemails")),
    )
    with op.batch_alter_table("voicemails", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_voicemails_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_voicemails_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("voicemails", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voicemails_created_at"))
        batch_op.drop_index(batch_op.f("ix_voicemails_call_id"))
    op.drop_table("voicemails")
