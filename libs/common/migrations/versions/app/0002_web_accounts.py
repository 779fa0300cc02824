"""website accounts: email, password hash, moderator flag

Revision ID: 0002_app
Revises: 0001_app
Create Date: 2026-12-01 19:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_app"
down_revision: str | None = "0001_app"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("account", sa.Column("email", sa.String(), nullable=True))
    op.add_column("account", sa.Column("password_hash", sa.String(), nullable=True))
    op.add_column(
        "account",
        sa.Column("is_moderator", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.create_index(op.f("account_idx_email"), "account", ["email"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("account_idx_email"), table_name="account")
    op.drop_column("account", "is_moderator")
    op.drop_column("account", "password_hash")
    op.drop_column("account", "email")
