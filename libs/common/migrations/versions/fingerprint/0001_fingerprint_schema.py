"""fingerprint schema

Revision ID: 0001_fingerprint
Revises:
Create Date: 2026-11-25 13:20:31.750284
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from libs.common.models.base import XID8

revision: str = "0001_fingerprint"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "foreignid_vendor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("foreignid_vendor_pkey")),
    )
    op.create_index(op.f("foreignid_vendor_idx_name"), "foreignid_vendor", ["name"], unique=True)
    op.execute(sa.schema.CreateSequence(sa.Sequence("fpindex_changelog_id_seq")))
    op.create_table(
        "fpindex_changelog",
        sa.Column(
            "id",
            sa.BigInteger(),
            server_default=sa.text("nextval('fpindex_changelog_id_seq')"),
            nullable=False,
        ),
        sa.Column("fingerprint_id", sa.Integer(), nullable=False),
        sa.Column("query", postgresql.ARRAY(sa.Integer(), dimensions=1), nullable=False),
        sa.Column("xid", XID8(), server_default=sa.text("pg_current_xact_id()"), nullable=False),
        sa.Column(
            "created",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", "created", name=op.f("fpindex_changelog_pkey")),
        postgresql_partition_by="RANGE (created)",
    )
    op.create_table(
        "fpindex_meta",
        sa.Column("singleton", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("last_deleted_id", sa.BigInteger(), nullable=True),
        sa.Column("last_deleted_created", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_deleted_xid", XID8(), nullable=True),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("singleton", name=op.f("fpindex_meta_ck_singleton")),
        sa.PrimaryKeyConstraint("singleton", name=op.f("fpindex_meta_pkey")),
    )
    op.create_table(
        "meta",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("track", sa.String(), nullable=True),
        sa.Column("artist", sa.String(), nullable=True),
        sa.Column("album", sa.String(), nullable=True),
        sa.Column("album_artist", sa.String(), nullable=True),
        sa.Column("track_no", sa.Integer(), nullable=True),
        sa.Column("disc_no", sa.Integer(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column(
            "created",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=True,
        ),
        sa.Column("gid", sa.UUID(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("meta_pkey")),
        sa.UniqueConstraint("gid", name=op.f("meta_idx_gid")),
    )
    op.create_table(
        "meta_gid_backfill_status",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_meta_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("meta_gid_backfill_status_pkey")),
    )
    op.create_table(
        "meta_id_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gid", sa.UUID(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("meta_id_history_pkey")),
    )
    op.create_index(op.f("meta_id_history_idx_gid"), "meta_id_history", ["gid"], unique=False)
    op.create_table(
        "track",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=True),
        sa.Column("new_id", sa.Integer(), nullable=True),
        sa.Column("gid", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(["new_id"], ["track.id"], name=op.f("track_fk_new_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("track_pkey")),
    )
    op.create_index(op.f("track_idx_gid"), "track", ["gid"], unique=True)
    op.create_table(
        "fingerprint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", postgresql.ARRAY(sa.Integer(), dimensions=1), nullable=False),
        sa.Column("length", sa.SmallInteger(), nullable=False),
        sa.Column("bitrate", sa.SmallInteger(), nullable=True),
        sa.Column("format_id", sa.Integer(), nullable=True),
        sa.Column(
            "created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=True),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("submission_count", sa.Integer(), nullable=False),
        sa.CheckConstraint("bitrate > 0", name=op.f("fingerprint_ck_bitrate")),
        sa.CheckConstraint("length > 0", name=op.f("fingerprint_ck_length")),
        sa.ForeignKeyConstraint(["track_id"], ["track.id"], name=op.f("fingerprint_fk_track_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("fingerprint_pkey")),
    )
    op.create_index(op.f("fingerprint_idx_length"), "fingerprint", ["length"], unique=False)
    op.create_index(op.f("fingerprint_idx_track_id"), "fingerprint", ["track_id"], unique=False)
    op.create_table(
        "foreignid",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["foreignid_vendor.id"], name=op.f("foreignid_fk_vendor_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("foreignid_pkey")),
    )
    op.create_index("foreignid_idx_vendor", "foreignid", ["vendor_id"], unique=False)
    op.create_index("foreignid_idx_vendor_name", "foreignid", ["vendor_id", "name"], unique=True)
    op.create_table(
        "track_mbid",
        sa.Column("mbid", sa.UUID(), nullable=False),
        sa.Column("disabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("merged_into", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submission_count", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_into"], ["track_mbid.id"], name=op.f("track_mbid_fk_merged_into")
        ),
        sa.ForeignKeyConstraint(["track_id"], ["track.id"], name=op.f("track_mbid_fk_track_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("track_mbid_pkey")),
    )
    op.create_index(op.f("track_mbid_idx_mbid"), "track_mbid", ["mbid"], unique=False)
    op.create_index("track_mbid_idx_uniq", "track_mbid", ["track_id", "mbid"], unique=True)
    op.create_table(
        "track_meta",
        sa.Column("meta_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submission_count", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["meta_id"], ["meta.id"], name=op.f("track_meta_fk_meta_id")),
        sa.ForeignKeyConstraint(["track_id"], ["track.id"], name=op.f("track_meta_fk_track_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("track_meta_pkey")),
    )
    op.create_index(op.f("track_meta_idx_meta_id"), "track_meta", ["meta_id"], unique=False)
    op.create_index("track_meta_idx_uniq", "track_meta", ["track_id", "meta_id"], unique=True)
    op.create_table(
        "track_puid",
        sa.Column("puid", sa.UUID(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submission_count", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["track_id"], ["track.id"], name=op.f("track_puid_fk_track_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("track_puid_pkey")),
    )
    op.create_index(op.f("track_puid_idx_puid"), "track_puid", ["puid"], unique=False)
    op.create_index("track_puid_idx_uniq", "track_puid", ["track_id", "puid"], unique=True)
    op.create_table(
        "fingerprint_data",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gid", sa.UUID(), nullable=False),
        sa.Column("fingerprint", sa.LargeBinary(), nullable=False),
        sa.Column("simhash", sa.Integer(), nullable=False),
        sa.Column(
            "created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(["id"], ["fingerprint.id"], name=op.f("fingerprint_data_fk_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("fingerprint_data_pkey")),
        sa.UniqueConstraint("gid", name=op.f("fingerprint_data_idx_gid")),
    )
    op.create_index(
        op.f("fingerprint_data_idx_simhash"), "fingerprint_data", ["simhash"], unique=False
    )
    op.create_table(
        "track_foreignid",
        sa.Column("foreignid_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submission_count", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["foreignid_id"], ["foreignid.id"], name=op.f("track_foreignid_fk_foreignid_id")
        ),
        sa.ForeignKeyConstraint(
            ["track_id"], ["track.id"], name=op.f("track_foreignid_fk_track_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("track_foreignid_pkey")),
    )
    op.create_index(
        op.f("track_foreignid_idx_foreignid_id"), "track_foreignid", ["foreignid_id"], unique=False
    )
    op.create_index(
        "track_foreignid_idx_uniq", "track_foreignid", ["track_id", "foreignid_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index("track_foreignid_idx_uniq", table_name="track_foreignid")
    op.drop_index(op.f("track_foreignid_idx_foreignid_id"), table_name="track_foreignid")
    op.drop_table("track_foreignid")
    op.drop_index(op.f("fingerprint_data_idx_simhash"), table_name="fingerprint_data")
    op.drop_table("fingerprint_data")
    op.drop_index("track_puid_idx_uniq", table_name="track_puid")
    op.drop_index(op.f("track_puid_idx_puid"), table_name="track_puid")
    op.drop_table("track_puid")
    op.drop_index("track_meta_idx_uniq", table_name="track_meta")
    op.drop_index(op.f("track_meta_idx_meta_id"), table_name="track_meta")
    op.drop_table("track_meta")
    op.drop_index("track_mbid_idx_uniq", table_name="track_mbid")
    op.drop_index(op.f("track_mbid_idx_mbid"), table_name="track_mbid")
    op.drop_table("track_mbid")
    op.drop_index("foreignid_idx_vendor_name", table_name="foreignid")
    op.drop_index("foreignid_idx_vendor", table_name="foreignid")
    op.drop_table("foreignid")
    op.drop_index(op.f("fingerprint_idx_track_id"), table_name="fingerprint")
    op.drop_index(op.f("fingerprint_idx_length"), table_name="fingerprint")
    op.drop_table("fingerprint")
    op.drop_index(op.f("track_idx_gid"), table_name="track")
    op.drop_table("track")
    op.drop_index(op.f("meta_id_history_idx_gid"), table_name="meta_id_history")
    op.drop_table("meta_id_history")
    op.drop_table("meta_gid_backfill_status")
    op.drop_table("meta")
    op.drop_table("fpindex_meta")
    op.drop_table("fpindex_changelog")
    op.execute(sa.schema.DropSequence(sa.Sequence("fpindex_changelog_id_seq")))
    op.drop_index(op.f("foreignid_vendor_idx_name"), table_name="foreignid_vendor")
    op.drop_table("foreignid_vendor")
