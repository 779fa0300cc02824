"""Links counted a batch at a time: repeats within a batch add up to one row each."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from libs.common.db import Database, Databases
from libs.common.models.fingerprint import (
    ForeignId,
    ForeignIdVendor,
    Meta,
    SubmissionImport,
    TrackForeignId,
    TrackMBID,
    TrackMeta,
    TrackPUID,
)
from libs.common.models.ingest import TrackMBIDSource
from libs.common.settings import Settings
from services.worker.importer import Outcome
from tests.worker.fingerprints import clip, variant
from tests.worker.importing import importer, submit

MBID_A = uuid.UUID("11111111-1111-4111-8111-111111111111")
MBID_B = uuid.UUID("22222222-2222-4222-8222-222222222222")
PUID = uuid.UUID("33333333-3333-4333-8333-333333333333")
META = {"track": "Song", "artist": "Someone"}


async def link_counts(databases: Databases, model: Any, column: str) -> dict[Any, int]:
    async with databases.session(Database.FINGERPRINT) as fp:
        rows = await fp.execute(select(getattr(model, column), model.submission_count))
        return {value: n for value, n in rows}


async def test_one_batch_counts_repeated_links_once_per_submission(
    databases: Databases, app_ids: tuple[int, int], migrated: Settings
) -> None:
    items = clip("melody_noise")
    full = {"puid": PUID, "meta": META, "foreignid": "spotify:abc"}
    ids = [
        await submit(databases, app_ids, items, mbid=MBID_A, **full),
        await submit(databases, app_ids, items, mbid=MBID_A, **full),
        await submit(databases, app_ids, variant(items, 1), mbid=MBID_A, **full),
        await submit(databases, app_ids, items, mbid=MBID_B),
        await submit(databases, app_ids, variant(items, 2, seed=1), mbid=MBID_A),
    ]
    imp = importer(databases, migrated)
    results = await imp.run_batch(ids)
    assert {r.outcome for r in results} == {Outcome.IMPORTED}
    assert len({r.track_id for r in results}) == 1
    assert await link_counts(databases, TrackMBID, "mbid") == {MBID_A: 4, MBID_B: 1}
    assert await link_counts(databases, TrackPUID, "puid") == {PUID: 3}
    assert list((await link_counts(databases, TrackMeta, "meta_id")).values()) == [3]
    assert list((await link_counts(databases, TrackForeignId, "foreignid_id")).values()) == [3]

    # a later batch adds to the same rows
    more = [await submit(databases, app_ids, items, mbid=MBID_A) for _ in range(2)]
    await imp.run_batch(more)
    assert await link_counts(databases, TrackMBID, "mbid") == {MBID_A: 6, MBID_B: 1}

    async with databases.session(Database.FINGERPRINT) as fp:
        links = {r.mbid: r.id for r in await fp.scalars(select(TrackMBID))}
        markers = {m.submission_id: m for m in await fp.scalars(select(SubmissionImport))}
    expected = [MBID_A, MBID_A, MBID_A, MBID_B, MBID_A, MBID_A, MBID_A]
    assert [markers[i].track_mbid_id for i in ids + more] == [links[m] for m in expected]
    assert [markers[i].track_puid_id is not None for i in ids] == [True] * 3 + [False] * 2
    assert len({markers[i].track_meta_id for i in ids[:3]}) == 1
    async with databases.session(Database.INGEST) as ingest:
        query = select(TrackMBIDSource.track_mbid_id).where(
            TrackMBIDSource.submission_id.in_(ids + more)
        )
        sources = list(await ingest.scalars(query))
    assert sorted(sources) == sorted(links[m] for m in expected)


async def test_one_batch_creates_each_distinct_tag_set_and_foreign_id_once(
    databases: Databases, app_ids: tuple[int, int], migrated: Settings
) -> None:
    items = clip("melody_noise")
    tag = uuid.uuid4().hex  # names no other test uses
    metas = [
        {"track": f"{tag} one"},
        {"track": f"{tag} two", "year": 1999},
        {"track": f"{tag} one"},
    ]
    foreign = [f"v{tag}:a", f"v{tag}:b", f"w{tag}:a"]
    ids = [
        await submit(databases, app_ids, variant(items, i), meta=m, foreignid=f)
        for i, (m, f) in enumerate(zip(metas, foreign, strict=True))
    ]
    results = await importer(databases, migrated).run_batch(ids)
    assert {r.outcome for r in results} == {Outcome.IMPORTED}
    async with databases.session(Database.FINGERPRINT) as fp:
        stored = {
            (m.track, m.year): m.id
            for m in await fp.scalars(select(Meta).where(Meta.track.startswith(tag)))
        }
        vendors = {
            v.id: v.name
            for v in await fp.scalars(
                select(ForeignIdVendor).where(ForeignIdVendor.name.endswith(tag))
            )
        }
        foreign_ids = {
            f"{vendors[f.vendor_id]}:{f.name}": f.id
            for f in await fp.scalars(select(ForeignId).where(ForeignId.vendor_id.in_(vendors)))
        }
        markers = {m.submission_id: m for m in await fp.scalars(select(SubmissionImport))}
    assert stored.keys() == {(f"{tag} one", None), (f"{tag} two", 1999)}
    assert sorted(vendors.values()) == [f"v{tag}", f"w{tag}"]
    assert foreign_ids.keys() == set(foreign)
    one, two = stored[(f"{tag} one", None)], stored[(f"{tag} two", 1999)]
    assert [markers[i].meta_id for i in ids] == [one, two, one]
    assert [markers[i].track_foreignid_id is not None for i in ids] == [True] * 3
    assert await link_counts(databases, TrackMeta, "meta_id") == {one: 2, two: 1}
    by_id = await link_counts(databases, TrackForeignId, "foreignid_id")
    assert sorted(by_id[foreign_ids[f]] for f in foreign) == [1, 1, 1]
