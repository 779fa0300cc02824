"""The ``fingerprint`` database: tracks, fingerprints and what links to tracks.

The four link tables (MBID, PUID, meta, foreign id) share one shape: a value attached to a
track with a count of the submissions that said so.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    Sequence,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from libs.common.models.base import (
    XID8,
    IntArray,
    UUIDType,
    created_ts,
    intpk,
    new_metadata,
    optional_ts,
    updated_ts,
    uuid_col,
)


class FingerprintBase(DeclarativeBase):
    metadata = new_metadata()


class Track(FingerprintBase):
    __tablename__ = "track"
    __table_args__ = (Index(None, "gid", unique=True),)

    id: Mapped[intpk]
    created: Mapped[created_ts]
    updated: Mapped[updated_ts]
    new_id: Mapped[int | None] = mapped_column(ForeignKey("track.id"))
    gid: Mapped[uuid_col]


class Fingerprint(FingerprintBase):
    __tablename__ = "fingerprint"
    __table_args__ = (
        CheckConstraint("length > 0", name="length"),
        CheckConstraint("bitrate > 0", name="bitrate"),
    )

    id: Mapped[intpk]
    fingerprint: Mapped[list[int]] = mapped_column(IntArray)
    length: Mapped[int] = mapped_column(SmallInteger, index=True)
    bitrate: Mapped[int | None] = mapped_column(SmallInteger)
    format_id: Mapped[int | None] = mapped_column(Integer)
    created: Mapped[created_ts]
    updated: Mapped[updated_ts]
    track_id: Mapped[int] = mapped_column(ForeignKey("track.id"), index=True)
    submission_count: Mapped[int] = mapped_column(Integer)


class FingerprintData(FingerprintBase):
    __tablename__ = "fingerprint_data"

    id: Mapped[int] = mapped_column(ForeignKey("fingerprint.id"), primary_key=True)
    gid: Mapped[uuid.UUID] = mapped_column(UUIDType, unique=True)
    fingerprint: Mapped[bytes] = mapped_column(LargeBinary)
    simhash: Mapped[int] = mapped_column(Integer, index=True)
    created: Mapped[created_ts]


class Meta(FingerprintBase):
    __tablename__ = "meta"

    id: Mapped[intpk]
    track: Mapped[str | None] = mapped_column(String)
    artist: Mapped[str | None] = mapped_column(String)
    album: Mapped[str | None] = mapped_column(String)
    album_artist: Mapped[str | None] = mapped_column(String)
    track_no: Mapped[int | None] = mapped_column(Integer)
    disc_no: Mapped[int | None] = mapped_column(Integer)
    year: Mapped[int | None] = mapped_column(Integer)
    created: Mapped[optional_ts] = mapped_column(server_default=text("CURRENT_TIMESTAMP"))
    gid: Mapped[uuid.UUID | None] = mapped_column(UUIDType, unique=True)


class MetaIdHistory(FingerprintBase):
    __tablename__ = "meta_id_history"

    id: Mapped[intpk]
    gid: Mapped[uuid_col] = mapped_column(index=True)


class MetaGidBackfillStatus(FingerprintBase):
    __tablename__ = "meta_gid_backfill_status"

    id: Mapped[intpk]
    last_meta_id: Mapped[int] = mapped_column(Integer)


class ForeignIdVendor(FingerprintBase):
    __tablename__ = "foreignid_vendor"
    __table_args__ = (Index(None, "name", unique=True),)

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String)


class ForeignId(FingerprintBase):
    __tablename__ = "foreignid"
    __table_args__ = (Index("foreignid_idx_vendor_name", "vendor_id", "name", unique=True),)

    id: Mapped[intpk]
    vendor_id: Mapped[int] = mapped_column(ForeignKey("foreignid_vendor.id"))
    name: Mapped[str] = mapped_column(Text)


Index("foreignid_idx_vendor", ForeignId.vendor_id)


class _TrackLink:
    """A value attached to a track, counted by the submissions that attached it."""

    id: Mapped[intpk]
    created: Mapped[created_ts]
    updated: Mapped[updated_ts]
    submission_count: Mapped[int] = mapped_column(Integer)

    @declared_attr
    def track_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("track.id"))


class TrackMBID(_TrackLink, FingerprintBase):
    __tablename__ = "track_mbid"
    __table_args__ = (Index("track_mbid_idx_uniq", "track_id", "mbid", unique=True),)

    mbid: Mapped[uuid_col] = mapped_column(index=True)
    disabled: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("track_mbid.id"))


class TrackPUID(_TrackLink, FingerprintBase):
    __tablename__ = "track_puid"
    __table_args__ = (Index("track_puid_idx_uniq", "track_id", "puid", unique=True),)

    puid: Mapped[uuid_col] = mapped_column(index=True)


class TrackMeta(_TrackLink, FingerprintBase):
    __tablename__ = "track_meta"
    __table_args__ = (Index("track_meta_idx_uniq", "track_id", "meta_id", unique=True),)

    meta_id: Mapped[int] = mapped_column(ForeignKey("meta.id"), index=True)


class TrackForeignId(_TrackLink, FingerprintBase):
    __tablename__ = "track_foreignid"
    __table_args__ = (Index("track_foreignid_idx_uniq", "track_id", "foreignid_id", unique=True),)

    foreignid_id: Mapped[int] = mapped_column(ForeignKey("foreignid.id"), index=True)


FPINDEX_CHANGELOG_ID_SEQ = Sequence("fpindex_changelog_id_seq", metadata=FingerprintBase.metadata)


class FpindexChangelog(FingerprintBase):
    """Index changes in commit order, partitioned by month (partitions made by a cron job)."""

    __tablename__ = "fpindex_changelog"
    __table_args__ = (
        PrimaryKeyConstraint("id", "created"),
        {"postgresql_partition_by": "RANGE (created)"},
    )

    id: Mapped[int] = mapped_column(
        BigInteger, FPINDEX_CHANGELOG_ID_SEQ, server_default=FPINDEX_CHANGELOG_ID_SEQ.next_value()
    )
    fingerprint_id: Mapped[int] = mapped_column(Integer)
    query: Mapped[list[int]] = mapped_column(IntArray)
    xid: Mapped[int] = mapped_column(XID8, server_default=text("pg_current_xact_id()"))
    created: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()")
    )


class FpindexMeta(FingerprintBase):
    __tablename__ = "fpindex_meta"
    __table_args__ = (CheckConstraint("singleton", name="singleton"),)

    singleton: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default=text("true"))
    last_deleted_id: Mapped[int | None] = mapped_column(BigInteger)
    last_deleted_created: Mapped[optional_ts]
    last_deleted_xid: Mapped[int | None] = mapped_column(XID8)
    updated: Mapped[updated_ts]


class SubmissionImport(FingerprintBase):
    """What importing one submission did in this database, written in the same transaction.

    The importer writes to two databases without two-phase commit; when it dies between the
    two commits, the redelivered submission finds this row and finishes the ingest side with
    the same ids instead of inserting a second fingerprint or counting a link twice.
    """

    __tablename__ = "submission_import"

    submission_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    fingerprint_id: Mapped[int] = mapped_column(Integer)
    track_id: Mapped[int] = mapped_column(Integer)
    new_fingerprint: Mapped[bool] = mapped_column(Boolean)
    track_mbid_id: Mapped[int | None] = mapped_column(Integer)
    track_puid_id: Mapped[int | None] = mapped_column(Integer)
    track_meta_id: Mapped[int | None] = mapped_column(Integer)
    track_foreignid_id: Mapped[int | None] = mapped_column(Integer)
    meta_id: Mapped[int | None] = mapped_column(Integer)
    created: Mapped[created_ts]


class LinkRemap(FingerprintBase):
    """A folded link's provenance still to repoint in the ingest database.

    Merging tracks folds links here and repoints their provenance rows there, in two
    transactions; written in the first, deleted after the second commits, these rows let
    the next run finish a merge whose process died in between.
    """

    __tablename__ = "link_remap"

    id: Mapped[intpk]
    provenance: Mapped[str] = mapped_column(String)
    """The ingest table whose rows point at the link."""
    link_column: Mapped[str] = mapped_column(String)
    old_link_id: Mapped[int] = mapped_column(Integer)
    new_link_id: Mapped[int] = mapped_column(Integer)
    created: Mapped[created_ts]
