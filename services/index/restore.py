"""``acoustid index restore SNAPSHOT``: put a saved ``/<index>/_snapshot`` back on disk.

A snapshot file is exactly what a peer streams to a bootstrapping replica, saved by the
backup (``curl -o`` works too). Restoring writes its segments and manifest into this
shard's data directory, which must be empty and not in use by a running index. The index
then starts at the snapshot's stream position and replays from FPINDEX what came after it,
as a replica bootstrapped from a peer does.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from libs.common.settings import get_settings
from services.index import manifest
from services.index.replication import receive_snapshot
from services.index.segment import CorruptSegment
from services.index.store import IndexLocked, lock_directory

CHUNK = 1 << 20


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="acoustid index restore", description=__doc__)
    p.add_argument("snapshot", type=Path, help="a file saved from GET /<index>/_snapshot")
    return p


async def chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as f:
        while block := await asyncio.to_thread(f.read, CHUNK):
            yield block


async def restore(snapshot: Path, directory: Path) -> manifest.Manifest:
    """The restored manifest; refuses a directory that already holds an index."""
    lock = lock_directory(directory)
    try:
        if manifest.load(directory) is not None:
            raise FileExistsError(f"{directory} already holds an index; restore into an empty one")
        return await receive_snapshot(chunks(snapshot), directory)
    finally:
        os.close(lock)


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    directory = get_settings().index_data_dir
    try:
        found = asyncio.run(restore(args.snapshot, directory))
    except (OSError, ValueError, IndexLocked, CorruptSegment, manifest.CorruptManifest) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"restored {len(found.segments)} segments into {directory} at stream position "
        f"{found.applied_seq}; the index replays FPINDEX from there when it starts"
    )
    return 0
