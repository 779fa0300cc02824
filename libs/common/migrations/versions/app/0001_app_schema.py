"""app schema

Revision ID: 0001_app
Revises:
Create Date: 2026-11-25 13:20:31.521737
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_app"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("apikey", sa.String(), nullable=False),
        sa.Column("mbuser", sa.String(), nullable=True),
        sa.Column("anonymous", sa.Boolean(), server_default=sa.text("false"), nullable=True),
        sa.Column(
            "created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("lastlogin", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submission_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("application_version", sa.String(), nullable=True),
        sa.Column("created_from", postgresql.INET(), nullable=True),
        sa.Column("is_admin", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("account_pkey")),
    )
    op.create_index(op.f("account_idx_apikey"), "account", ["apikey"], unique=True)
    op.create_index(op.f("account_idx_mbuser"), "account", ["mbuser"], unique=True)
    op.create_table(
        "format",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("format_pkey")),
    )
    op.create_index(op.f("format_idx_name"), "format", ["name"], unique=True)
    op.create_table(
        "stats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("date", sa.Date(), server_default=sa.text("CURRENT_DATE"), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("stats_pkey")),
    )
    op.create_index(op.f("stats_idx_date"), "stats", ["date"], unique=False)
    op.create_index(op.f("stats_idx_name_date"), "stats", ["name", "date"], unique=False)
    op.create_table(
        "account_google",
        sa.Column("google_user_id", sa.String(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("account_google_fk_account_id")
        ),
        sa.PrimaryKeyConstraint("google_user_id", name=op.f("account_google_pkey")),
    )
    op.create_index(
        op.f("account_google_idx_account_id"), "account_google", ["account_id"], unique=False
    )
    op.create_table(
        "account_openid",
        sa.Column("openid", sa.String(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("account_openid_fk_account_id")
        ),
        sa.PrimaryKeyConstraint("openid", name=op.f("account_openid_pkey")),
    )
    op.create_index(
        op.f("account_openid_idx_account_id"), "account_openid", ["account_id"], unique=False
    )
    op.create_table(
        "application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("apikey", sa.String(), nullable=False),
        sa.Column(
            "created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("website", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("application_fk_account_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("application_pkey")),
    )
    op.create_index(op.f("application_idx_apikey"), "application", ["apikey"], unique=True)
    op.create_foreign_key(
        op.f("account_fk_application_id"), "account", "application", ["application_id"], ["id"]
    )
    op.create_table(
        "stats_top_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("stats_top_accounts_fk_account_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("stats_top_accounts_pkey")),
    )
    op.create_table(
        "source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("source_fk_account_id")),
        sa.ForeignKeyConstraint(
            ["application_id"], ["application.id"], name=op.f("source_fk_application_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("source_pkey")),
    )
    op.create_index(
        "source_idx_uniq", "source", ["application_id", "account_id", "version"], unique=True
    )
    op.create_table(
        "stats_lookups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("count_nohits", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("count_hits", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"], ["application.id"], name=op.f("stats_lookups_fk_application_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("stats_lookups_pkey")),
    )
    op.create_index(op.f("stats_lookups_idx_date"), "stats_lookups", ["date"], unique=False)
    op.create_index(
        "stats_lookups_idx_uniq", "stats_lookups", ["application_id", "date", "hour"], unique=True
    )
    op.create_table(
        "stats_user_agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("user_agent", sa.String(), nullable=False),
        sa.Column("ip", sa.String(), nullable=False),
        sa.Column("count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"], ["application.id"], name=op.f("stats_user_agents_fk_application_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("stats_user_agents_pkey")),
    )
    op.create_index(op.f("stats_user_agents_idx_date"), "stats_user_agents", ["date"], unique=False)
    op.create_index(
        "stats_user_agents_idx_uniq",
        "stats_user_agents",
        ["application_id", "date", "user_agent", "ip"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_constraint(op.f("account_fk_application_id"), "account", type_="foreignkey")
    op.drop_index("stats_user_agents_idx_uniq", table_name="stats_user_agents")
    op.drop_index(op.f("stats_user_agents_idx_date"), table_name="stats_user_agents")
    op.drop_table("stats_user_agents")
    op.drop_index("stats_lookups_idx_uniq", table_name="stats_lookups")
    op.drop_index(op.f("stats_lookups_idx_date"), table_name="stats_lookups")
    op.drop_table("stats_lookups")
    op.drop_index("source_idx_uniq", table_name="source")
    op.drop_table("source")
    op.drop_table("stats_top_accounts")
    op.drop_index(op.f("application_idx_apikey"), table_name="application")
    op.drop_table("application")
    op.drop_index(op.f("account_openid_idx_account_id"), table_name="account_openid")
    op.drop_table("account_openid")
    op.drop_index(op.f("account_google_idx_account_id"), table_name="account_google")
    op.drop_table("account_google")
    op.drop_index(op.f("stats_idx_name_date"), table_name="stats")
    op.drop_index(op.f("stats_idx_date"), table_name="stats")
    op.drop_table("stats")
    op.drop_index(op.f("format_idx_name"), table_name="format")
    op.drop_table("format")
    op.drop_index(op.f("account_idx_mbuser"), table_name="account")
    op.drop_index(op.f("account_idx_apikey"), table_name="account")
    op.drop_table("account")
