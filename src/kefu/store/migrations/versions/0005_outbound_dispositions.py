"""outbound dispositions: busy, no answer, agent did not answer (click-to-dial)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 17:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ("answered", "abandoned", "overflowed", "voicemail", "rejected")
NEW = (*OLD, "busy", "no_answer", "agent_no_answer")


def _enum(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(
        *values, name="disposition", native_enum=False, create_constraint=True, length=32
    )


def upgrade() -> None:
    # the CHECK constraint of the old values is dropped and the new one created
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.alter_column(
            "disposition", existing_type=_enum(OLD), type_=_enum(NEW), existing_nullable=True
        )


def downgrade() -> None:
    op.execute(
        "UPDATE calls SET disposition = 'abandoned' "
        "WHERE disposition IN ('busy', 'no_answer', 'agent_no_answer')"
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.alter_column(
            "disposition", existing_type=_enum(NEW), type_=_enum(OLD), existing_nullable=True
        )
