"""Merging tracks that turned out to hold the same audio.

Two tracks are the same audio when a fingerprint of one scores above the fingerprint-merge
threshold against a fingerprint of the other (the importer would have reused it, had both
been indexed when the second arrived). The newer track is merged into the older: its
fingerprints move, its links are added to the target's counts, and ``track.new_id`` points
lookups of its AcoustID at the target. MBID links keep their row (``merged_into``, count 0,
disabled) as acoustid.org's ``merge_mbids`` does; the other links' rows are folded away.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.models.fingerprint import (
    Fingerprint,
    Track,
    TrackForeignId,
    TrackMBID,
    TrackMeta,
    TrackPUID,
)
from libs.common.models.ingest import (
    TrackForeignIdSource,
    TrackMBIDChange,
    TrackMBIDSource,
    TrackMetaSource,
    TrackPUIDSource,
)

# link model, its value column, the provenance models whose rows follow a link's id
LINKS: list[tuple[Any, str, list[tuple[Any, str]]]] = [
    (
        TrackMBID,
        "mbid",
        [(TrackMBIDSource, "track_mbid_id"), (TrackMBIDChange, "track_mbid_id")],
    ),
    (TrackPUID, "puid", [(TrackPUIDSource, "track_puid_id")]),
    (TrackMeta, "meta_id", [(TrackMetaSource, "track_meta_id")]),
    (TrackForeignId, "foreignid_id", [(TrackForeignIdSource, "track_foreignid_id")]),
]

Remap = list[tuple[Any, str, int, int]]
"""Provenance rows to repoint: (model, column, old link id, new link id)."""


async def merge_tracks(fp: AsyncSession, source: int, target: int) -> Remap:
    """Moves track ``source`` onto ``target`` inside ``fp``'s transaction.

    Returns the provenance rows (in the ingest database) to repoint afterwards.
    """
    await fp.execute(
        update(Fingerprint)
        .where(Fingerprint.track_id == source)
        .values(track_id=target, updated=func.now())
    )
    remap: Remap = []
    for model, column, provenance in LINKS:
        rows = await fp.execute(
            select(model.id, getattr(model, column), model.submission_count)
            .where(model.track_id == source)
            .where(*([model.merged_into.is_(None)] if model is TrackMBID else []))
        )
        for link_id, value, count in rows.all():
            values = {"track_id": target, column: value, "submission_count": count}
            stmt = insert(model).values(**values)
            stmt = stmt.on_conflict_do_update(
                index_elements=["track_id", column],
                set_={"submission_count": model.submission_count + count, "updated": func.now()},
            )
            target_id = int((await fp.execute(stmt.returning(model.id))).scalar_one())
            if model is TrackMBID:
                await fp.execute(
                    update(TrackMBID)
                    .where(TrackMBID.id == link_id)
                    .values(merged_into=target_id, submission_count=0, disabled=True)
                )
            else:
                await fp.execute(delete(model).where(model.id == link_id))
            remap += [(prov, col, link_id, target_id) for prov, col in provenance]
    await fp.execute(
        update(Track)
        .where(or_(Track.id == source, Track.new_id == source))
        .values(new_id=target, updated=func.now())
    )
    return remap


async def repoint_provenance(ingest: AsyncSession, remap: Remap) -> None:
    for model, column, old, new in remap:
        await ingest.execute(
            update(model).where(getattr(model, column) == old).values({column: new})
        )
