"""The ``ingest`` database: submissions as received, their results, and provenance rows."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from libs.common.models.base import (
    IntArray,
    UUIDType,
    created_ts,
    intpk,
    new_metadata,
    optional_ts,
    updated_ts,
)


class IngestBase(DeclarativeBase):
    metadata = new_metadata()


class Submission(IngestBase):
    __tablename__ = "submission"
    __table_args__ = (
        CheckConstraint("length > 0", name="length"),
        CheckConstraint("bitrate > 0", name="bitrate"),
        Index("submission_idx_handled", "id", postgresql_where=text("handled = false")),
    )

    id: Mapped[intpk]
    created: Mapped[created_ts]
    handled_at: Mapped[optional_ts]
    handled: Mapped[bool | None] = mapped_column(Boolean, server_default=text("false"))
    account_id: Mapped[int | None] = mapped_column(Integer)
    application_id: Mapped[int | None] = mapped_column(Integer)
    application_version: Mapped[str | None] = mapped_column(String)
    source_id: Mapped[int | None] = mapped_column(Integer)
    fingerprint: Mapped[list[int]] = mapped_column(IntArray)
    length: Mapped[int] = mapped_column(SmallInteger)
    bitrate: Mapped[int | None] = mapped_column(SmallInteger)
    format: Mapped[str | None] = mapped_column(String)
    format_id: Mapped[int | None] = mapped_column(Integer)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    meta_gid: Mapped[uuid.UUID | None] = mapped_column(UUIDType)
    meta_id: Mapped[int | None] = mapped_column(Integer)
    mbid: Mapped[uuid.UUID | None] = mapped_column(UUIDType)
    puid: Mapped[uuid.UUID | None] = mapped_column(UUIDType)
    foreignid: Mapped[str | None] = mapped_column(String)
    foreignid_id: Mapped[int | None] = mapped_column(Integer)


class PendingSubmission(IngestBase):
    __tablename__ = "pending_submission"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class SubmissionResult(IngestBase):
    __tablename__ = "submission_result"

    submission_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created: Mapped[created_ts]
    handled_at: Mapped[optional_ts]
    account_id: Mapped[int] = mapped_column(Integer)
    application_id: Mapped[int] = mapped_column(Integer)
    application_version: Mapped[str | None] = mapped_column(String)
    fingerprint_id: Mapped[int] = mapped_column(Integer)
    track_id: Mapped[int] = mapped_column(Integer)
    meta_gid: Mapped[uuid.UUID | None] = mapped_column(UUIDType)
    meta_id: Mapped[int | None] = mapped_column(Integer)
    mbid: Mapped[uuid.UUID | None] = mapped_column(UUIDType)
    puid: Mapped[uuid.UUID | None] = mapped_column(UUIDType)
    foreignid: Mapped[str | None] = mapped_column(String)


class _Provenance:
    """Which submission (and through it which application and account) attached a value."""

    id: Mapped[intpk]
    submission_id: Mapped[int] = mapped_column(Integer)
    source_id: Mapped[int] = mapped_column(Integer)
    created: Mapped[created_ts]


class FingerprintSource(_Provenance, IngestBase):
    __tablename__ = "fingerprint_source"
    __table_args__ = (Index(None, "submission_id"),)

    fingerprint_id: Mapped[int] = mapped_column(Integer)


class TrackMBIDSource(_Provenance, IngestBase):
    __tablename__ = "track_mbid_source"

    track_mbid_id: Mapped[int] = mapped_column(Integer, index=True)
    submission_id: Mapped[int | None] = mapped_column(Integer)  # type: ignore[assignment]
    source_id: Mapped[int] = mapped_column(Integer, index=True)
    updated: Mapped[updated_ts]


class TrackMBIDChange(IngestBase):
    """Moderation log: who enabled or disabled an MBID link, and why."""

    __tablename__ = "track_mbid_change"

    id: Mapped[intpk]
    track_mbid_id: Mapped[int] = mapped_column(Integer, index=True)
    account_id: Mapped[int] = mapped_column(Integer)
    created: Mapped[created_ts]
    disabled: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(Text)
    updated: Mapped[updated_ts]


class TrackPUIDSource(_Provenance, IngestBase):
    __tablename__ = "track_puid_source"

    track_puid_id: Mapped[int] = mapped_column(Integer)


class TrackMetaSource(_Provenance, IngestBase):
    __tablename__ = "track_meta_source"

    track_meta_id: Mapped[int] = mapped_column(Integer)


class TrackForeignIdSource(_Provenance, IngestBase):
    __tablename__ = "track_foreignid_source"

    track_foreignid_id: Mapped[int] = mapped_column(Integer)
