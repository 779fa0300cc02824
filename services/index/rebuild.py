"""``acoustid index rebuild``: fill this shard's index from the ``fingerprint`` table.

It reads fingerprints in id order in keyset pages (``id > last``), turns each into its query
terms and loads them into the local data directory, which must not be in use by a running
index. Every batch also records the last id read as the index attribute
``rebuild_last_id``; a checkpoint persists it together with the segments, so an
interrupted rebuild resumes after the last checkpointed id and a finished one can be run
again later to add what is new. The index starts at the FPINDEX position the rebuild began
from, so on its next start it replays only what the stream received since.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import time
from collections.abc import AsyncIterator
from typing import TextIO

import numpy as np
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from libs.chromaprint_cy.query import extract_query
from libs.common import nats as nats_helpers
from libs.common.index_messages import Change, Insert, SetAttributes
from libs.common.settings import Settings, get_settings
from services.index.manifest import CorruptManifest
from services.index.segment import CorruptSegment
from services.index.store import IndexLocked, Store, lock_directory

LAST_ID = "rebuild_last_id"
PAGE = text(
    "SELECT id, fingerprint FROM fingerprint"
    " WHERE id > :last AND id % :shards = :shard ORDER BY id LIMIT :n"
)
MAX_ID = text("SELECT coalesce(max(id), 0) FROM fingerprint")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="acoustid index rebuild", description=__doc__)
    p.add_argument("--batch-size", type=int, default=10_000, help="fingerprints per page")
    p.add_argument(
        "--max-rows", type=int, default=0, help="stop after this many (0: all); resumable"
    )
    p.add_argument("--restart", action="store_true", help="discard the index and start over")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


async def stream_position(settings: Settings) -> int:
    """FPINDEX's last sequence now: what the rebuilt index must not replay again."""
    try:
        nc = await asyncio.wait_for(nats_helpers.connect(settings, "index-rebuild"), 5)
    except Exception as exc:
        print(
            f"warning: NATS unreachable ({exc!r}); the index will replay FPINDEX from the start",
            file=sys.stderr,
        )
        return 0
    try:
        info = await nc.jetstream().stream_info(settings.stream(nats_helpers.FPINDEX))
        return int(info.state.last_seq)
    except Exception:
        return 0
    finally:
        await nc.close()


async def pages(
    engine: AsyncEngine, settings: Settings, last: int, size: int
) -> AsyncIterator[list[tuple[int, list[int]]]]:
    """Pages of ``(id, fingerprint)``; the next page is fetched while the caller works."""
    params = {"shards": settings.index_shards, "shard": settings.index_shard, "n": size}

    async def fetch(after: int) -> list[tuple[int, list[int]]]:
        async with engine.connect() as conn:
            rows = await conn.execute(PAGE, {**params, "last": after})
            return [(int(r[0]), r[1]) for r in rows]

    pending = asyncio.create_task(fetch(last))
    while True:
        rows = await pending
        if not rows:
            return
        pending = asyncio.create_task(fetch(rows[-1][0]))
        yield rows


def to_changes(rows: list[tuple[int, list[int]]]) -> list[Change]:
    changes: list[Change] = []
    for id_, items in rows:
        terms = extract_query(np.asarray(items or [], dtype=np.int64))
        if len(terms):
            changes.append(Insert(id_, np.asarray(terms, dtype=np.uint32)))
    changes.append(SetAttributes({LAST_ID: str(rows[-1][0])}))
    return changes


class Progress:
    def __init__(self, out: TextIO, first: int, last: int, enabled: bool) -> None:
        self.out, self.first, self.last, self.enabled = out, first, max(last, first + 1), enabled
        self.started = time.monotonic()
        self.shown = 0.0
        self.rows = 0

    def update(self, rows: int, at_id: int, force: bool = False) -> None:
        self.rows += rows
        now = time.monotonic()
        if not self.enabled or (now - self.shown < 0.5 and not force):
            return
        self.shown = now
        share = min(max((at_id - self.first) / (self.last - self.first), 0.0), 1.0)
        bar = "#" * int(share * 30)
        rate = self.rows / max(now - self.started, 1e-9)
        self.out.write(
            f"\r[{bar:<30}] {share:6.1%}  id {at_id}  {self.rows} fingerprints  {rate:,.0f}/s"
        )
        self.out.flush()


async def rebuild(settings: Settings, args: argparse.Namespace) -> int:
    directory = settings.index_data_dir
    lock_directory(directory)
    if args.restart:
        for path in directory.iterdir():
            if path.name != "lock":
                shutil.rmtree(path) if path.is_dir() else path.unlink()
    store = await asyncio.to_thread(
        Store.open, directory, checkpoint_postings=settings.index_checkpoint_postings
    )
    last = int(store.snapshot.attributes.get(LAST_ID, "0"))
    if store.version == 0 and not store.snapshot.segments:
        store.start_at(await stream_position(settings))
    elif last:
        print(f"resuming after id {last}")
    engine = create_async_engine(settings.fingerprint_database_url, pool_size=2)
    try:
        async with engine.connect() as conn:
            max_id = int((await conn.execute(MAX_ID)).scalar_one())
        progress = Progress(sys.stderr, last, max_id, not args.quiet)
        async for rows in pages(engine, settings, last, args.batch_size):
            if args.max_rows:
                rows = rows[: args.max_rows - progress.rows]
            await asyncio.to_thread(store.load, to_changes(rows))
            while await asyncio.to_thread(store.maintain):
                pass
            last = rows[-1][0]
            progress.update(len(rows), last)
            if args.max_rows and progress.rows >= args.max_rows:
                break
        progress.update(0, last, force=True)
        if progress.enabled:
            sys.stderr.write("\n")
        await asyncio.to_thread(store.flush)
    finally:
        await engine.dispose()
    st = store.stats()
    print(
        f"rebuilt {progress.rows} fingerprints up to id {last} in "
        f"{time.monotonic() - progress.started:.1f} s; index holds {st.num_postings} postings "
        f"in {st.file_segments} segments at stream position {store.durable_version}"
    )
    return 0


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        return asyncio.run(rebuild(get_settings(), args))
    except (IndexLocked, CorruptSegment, CorruptManifest) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (OSError, SQLAlchemyError) as exc:
        print(f"error: fingerprint database: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; run again to resume", file=sys.stderr)
        return 130
