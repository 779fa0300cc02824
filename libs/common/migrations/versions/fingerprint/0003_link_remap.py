"""provenance still to repoint after a track merge

Revision ID: 0003_fingerprint
Revises: 0002_fingerprint
Create Date: 2026-11-25 16:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_fingerprint"
down_revision: str | None = "0002_fingerprint"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "link_remap",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provenance", sa.String(), nullable=False),
        sa.Column("link_column", sa.String(), nullable=False),
        sa.Column("old_link_id", sa.Integer(), nullable=False),
        sa.Column("new_link_id", sa.Integer(), nullable=False),
        sa.Column(
            "created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("link_remap_pkey")),
    )


def downgrade() -> None:
    op.drop_table("link_remap")
