"""ingest schema

Revision ID: 0001_ingest
Revises:
Create Date: 2026-11-25 13:20:31.866028
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_ingest"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fingerprint_source",
        sa.Column("fingerprint_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column(
            "created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("fingerprint_source_pkey")),
    )
    op.create_index(
        op.f("fingerprint_source_idx_submission_id"),
        "fingerprint_source",
        ["submission_id"],
        unique=False,
    )
    op.create_table(
        "pending_submission",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pending_submission_pkey")),
    )
    op.create_table(
        "submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handled", sa.Boolean(), server_default=sa.text("false"), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("application_version", sa.String(), nullable=True),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("fingerprint", postgresql.ARRAY(sa.Integer(), dimensions=1), nullable=False),
        sa.Column("length", sa.SmallInteger(), nullable=False),
        sa.Column("bitrate", sa.SmallInteger(), nullable=True),
        sa.Column("format", sa.String(), nullable=True),
        sa.Column("format_id", sa.Integer(), nullable=True),
        sa.Column("meta", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("meta_gid", sa.UUID(), nullable=True),
        sa.Column("meta_id", sa.Integer(), nullable=True),
        sa.Column("mbid", sa.UUID(), nullable=True),
        sa.Column("puid", sa.UUID(), nullable=True),
        sa.Column("foreignid", sa.String(), nullable=True),
        sa.Column("foreignid_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("bitrate > 0", name=op.f("submission_ck_bitrate")),
        sa.CheckConstraint("length > 0", name=op.f("submission_ck_length")),
        sa.PrimaryKeyConstraint("id", name=op.f("submission_pkey")),
    )
    op.create_index(
        "submission_idx_handled",
        "submission",
        ["id"],
        unique=False,
        postgresql_where=sa.text("handled = false"),
    )
    op.create_table(
        "submission_result",
        sa.Column("submission_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column(
            "created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("application_version", sa.String(), nullable=True),
        sa.Column("fingerprint_id", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("meta_gid", sa.UUID(), nullable=True),
        sa.Column("meta_id", sa.Integer(), nullable=True),
        sa.Column("mbid", sa.UUID(), nullable=True),
        sa.Column("puid", sa.UUID(), nullable=True),
        sa.Column("foreignid", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("submission_id", name=op.f("submission_result_pkey")),
    )
    op.create_table(
        "track_foreignid_source",
        sa.Column("track_foreignid_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column(
            "created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("track_foreignid_source_pkey")),
    )
    op.create_table(
        "track_mbid_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("track_mbid_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column(
            "created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("track_mbid_change_pkey")),
    )
    op.create_index(
        op.f("track_mbid_change_idx_track_mbid_id"),
        "track_mbid_change",
        ["track_mbid_id"],
        unique=False,
    )
    op.create_table(
        "track_mbid_source",
        sa.Column("track_mbid_id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("track_mbid_source_pkey")),
    )
    op.create_index(
        op.f("track_mbid_source_idx_source_id"), "track_mbid_source", ["source_id"], unique=False
    )
    op.create_index(
        op.f("track_mbid_source_idx_track_mbid_id"),
        "track_mbid_source",
        ["track_mbid_id"],
        unique=False,
    )
    op.create_table(
        "track_meta_source",
        sa.Column("track_meta_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column(
            "created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("track_meta_source_pkey")),
    )
    op.create_table(
        "track_puid_source",
        sa.Column("track_puid_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column(
            "created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("track_puid_source_pkey")),
    )


def downgrade() -> None:
    op.drop_table("track_puid_source")
    op.drop_table("track_meta_source")
    op.drop_index(op.f("track_mbid_source_idx_track_mbid_id"), table_name="track_mbid_source")
    op.drop_index(op.f("track_mbid_source_idx_source_id"), table_name="track_mbid_source")
    op.drop_table("track_mbid_source")
    op.drop_index(op.f("track_mbid_change_idx_track_mbid_id"), table_name="track_mbid_change")
    op.drop_table("track_mbid_change")
    op.drop_table("track_foreignid_source")
    op.drop_table("submission_result")
    op.drop_index(
        "submission_idx_handled",
        table_name="submission",
        postgresql_where=sa.text("handled = false"),
    )
    op.drop_table("submission")
    op.drop_table("pending_submission")
    op.drop_index(op.f("fingerprint_source_idx_submission_id"), table_name="fingerprint_source")
    op.drop_table("fingerprint_source")
