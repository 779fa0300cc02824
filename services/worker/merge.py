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

from libs.common.db import Database, Databases
from libs.common.models.fingerprint import (
    Fingerprint,
    LinkRemap,
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

PROVENANCE: dict[str, tuple[Any, str]] = {
    model.__tablename__: (model, column)
    for _, _, provenance in LINKS
    for model, column in provenance
}


async def merge_tracks(fp: AsyncSession, source: int, target: int) -> None:
    """Moves track ``source`` onto ``target`` inside ``fp``'s transaction.

    The provenance rows of folded links live in the ingest database; what to repoint is
    written here as ``link_remap`` rows in the same transaction, for
    :func:`repoint_provenance` to apply once this commits.
    """
    await fp.execute(
        update(Fingerprint)
        .where(Fingerprint.track_id == source)
        .values(track_id=target, updated=func.now())
    )
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
            fp.add_all(
                LinkRemap(
                    provenance=prov.__tablename__,
                    link_column=col,
                    old_link_id=link_id,
                    new_link_id=target_id,
                )
                for prov, col in provenance
            )
    await fp.execute(
        update(Track)
        .where(or_(Track.id == source, Track.new_id == source))
        .values(new_id=target, updated=func.now())
    )


async def repoint_provenance(databases: Databases) -> int:
    """Applies every pending ``link_remap`` in one ingest transaction, then deletes them.

    Safe to repeat: once applied, no provenance row holds an old id any more (link ids are
    never reused), so a run that dies before the delete changes nothing when redone. Rows
    are applied in the order written, so a link folded twice ends at the last target.
    """
    async with databases.session(Database.FINGERPRINT) as fp:
        remaps = list(await fp.scalars(select(LinkRemap).order_by(LinkRemap.id)))
    if not remaps:
        return 0
    async with databases.session(Database.INGEST) as ingest, ingest.begin():
        for remap in remaps:
            model, column = PROVENANCE[remap.provenance]
            await ingest.execute(
                update(model)
                .where(getattr(model, column) == remap.old_link_id)
                .values({column: remap.new_link_id})
            )
    async with databases.session(Database.FINGERPRINT) as fp, fp.begin():
        await fp.execute(delete(LinkRemap).where(LinkRemap.id.in_([r.id for r in remaps])))
    return len(remaps)
