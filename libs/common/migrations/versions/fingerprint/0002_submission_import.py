"""submission import markers

Revision ID: 0002_fingerprint
Revises: 0001_fingerprint
Create Date: 2026-11-25 13:32:11.449316
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_fingerprint"
down_revision: str | None = "0001_fingerprint"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "submission_import",
        sa.Column("submission_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("fingerprint_id", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("new_fingerprint", sa.Boolean(), nullable=False),
        sa.Column("track_mbid_id", sa.Integer(), nullable=True),
        sa.Column("track_puid_id", sa.Integer(), nullable=True),
        sa.Column("track_meta_id", sa.Integer(), nullable=True),
        sa.Column("track_foreignid_id", sa.Integer(), nullable=True),
        sa.Column("meta_id", sa.Integer(), nullable=True),
        sa.Column(
            "created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("submission_id", name=op.f("submission_import_pkey")),
    )


def downgrade() -> None:
    op.drop_table("submission_import")
