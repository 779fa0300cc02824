"""The index state: an ordered list of segments behind an atomically swapped snapshot.

Writes append a memory segment per applied stream message; maintenance merges memory
segments, freezes them into a file segment (checkpoint) and merges file segments, each time
building the new segment off to the side and swapping it in under a short lock. Readers take
the current snapshot (one attribute read) and search it without locks; a snapshot holds its
segments, so a merge that retires them never frees what a running search reads. Retired
files are unlinked at once: their mappings stay valid until the last reader lets go.

The store is synchronous and thread-safe; the service calls it from worker threads.
"""

from __future__ import annotations

import fcntl
import logging
import math
import os
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from libs.common.index_messages import Batch, Change
from services.index import durable, kernel, manifest, segment
from services.index.manifest import Manifest
from services.index.segment import Segment

log = logging.getLogger(__name__)

SEGMENT_SUFFIX = ".seg"
LOCK_FILE = "lock"


class IndexLocked(Exception):
    """Another process (a running index or a rebuild) owns this data directory."""


def lock_directory(directory: Path) -> int:
    """Takes the directory's exclusive lock for this process's lifetime; returns the fd.

    Two writers on one directory would each garbage-collect the other's new segments; the
    kernel drops the lock when the process dies, so a kill -9 never leaves it stale.
    """
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise IndexLocked(f"{directory} is in use by another index or rebuild process") from None
    return fd


@dataclass(frozen=True)
class Snapshot:
    files: tuple[Segment, ...] = ()
    memory: tuple[Segment, ...] = ()
    version: int = 0
    attributes: dict[str, str] = field(default_factory=dict)
    views: list[kernel.SegmentView] = field(default_factory=list)

    @property
    def segments(self) -> tuple[Segment, ...]:
        return self.files + self.memory


@dataclass(frozen=True)
class Stats:
    min_doc_id: int
    max_doc_id: int
    num_segments: int
    num_docs: int
    num_postings: int
    file_segments: int
    memory_segments: int
    file_bytes: int
    memory_bytes: int


@dataclass(frozen=True)
class MergePolicy:
    """Tiered merging of adjacent segments, after Lucene's TieredMergePolicy as fpindex uses it.

    The budget allows ``per_level`` segments per size level (levels grow ``per_merge`` times
    from ``min_size``); past the budget the cheapest window of 2..``per_merge`` adjacent
    segments merges, cheapest meaning most even in size, then smallest.
    """

    min_size: int = 100
    max_size: int = 1_000_000_000
    per_merge: int = 10
    per_level: int = 10

    def budget(self, sizes: Sequence[int]) -> int:
        remaining = float(sum(sizes))
        level = float(max(self.min_size, min(sizes, default=1)))
        allowed = 0
        while True:
            at_level = remaining / level
            if at_level < self.per_level or level >= self.max_size:
                return allowed + math.ceil(at_level)
            allowed += self.per_level
            remaining -= self.per_level * level
            level *= self.per_merge

    def pick(self, sizes: Sequence[int]) -> tuple[int, int] | None:
        """``(start, end)`` of the window to merge, or None when within budget."""
        if len(sizes) < 2 or len(sizes) <= self.budget(sizes):
            return None
        best: tuple[float, int, int] | None = None
        for start in range(len(sizes)):
            for end in range(start + 2, min(start + self.per_merge, len(sizes)) + 1):
                window = sizes[start:end]
                total = max(sum(window), 1)
                if total > self.max_size:
                    break
                score = (max(window) / total) * total**0.05
                if best is None or score < best[0]:
                    best = (score, start, end)
        return None if best is None else (best[1], best[2])


class Store:
    def __init__(
        self,
        directory: Path,
        *,
        checkpoint_postings: int = 1_000_000,
        checkpoint_age: float = 60.0,
        max_memory_segments: int = 16,
        file_policy: MergePolicy | None = None,
        on_durable: Callable[[int], None] | None = None,
    ) -> None:
        self.directory = directory
        self.checkpoint_postings = checkpoint_postings
        self.checkpoint_age = checkpoint_age
        self.max_memory_segments = max_memory_segments
        # Fewer, larger segments than fpindex's 10 per level: a search visits every segment
        # and a hot term costs its capped postings once per segment, while our merges are
        # cheap sorts. 4 per level keeps a 1M-document index near 10 segments.
        self.file_policy = file_policy or MergePolicy(min_size=checkpoint_postings, per_level=4)
        self.on_durable = on_durable
        self._lock = threading.Lock()
        self._maintenance = threading.Lock()
        self._manifest = Manifest()
        self._snapshot = Snapshot()
        self.counters = {"checkpoints": 0, "memory_merges": 0, "file_merges": 0, "updates": 0}

    @classmethod
    def open(cls, directory: Path, **options: object) -> Store:
        """Maps the manifest's segments, verifying each; raises CorruptSegment/CorruptManifest."""
        directory.mkdir(parents=True, exist_ok=True)
        store = cls(directory, **options)  # type: ignore[arg-type]
        found = manifest.load(directory) or Manifest()
        files = tuple(segment.open_file(directory / name) for name in found.segments)
        store._manifest = found
        store._publish(files, (), found.applied_seq, found.attributes)
        live = set(found.segments)
        for path in directory.iterdir():
            if path.name not in live and path.name.endswith((SEGMENT_SUFFIX, durable.TMP_SUFFIX)):
                log.info("removing %s, left over from an interrupted write", path.name)
                path.unlink()
        return store

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    @property
    def version(self) -> int:
        return self._snapshot.version

    @property
    def durable_version(self) -> int:
        return self._manifest.applied_seq

    def _publish(
        self,
        files: tuple[Segment, ...],
        memory: tuple[Segment, ...],
        version: int,
        attributes: dict[str, str],
    ) -> None:
        views = [s.view for s in files + memory]
        self._snapshot = Snapshot(files, memory, version, attributes, views)

    def apply(self, seq: int, changes: Batch | Sequence[Change]) -> bool:
        """Applies one message's changes as version ``seq``; False if already applied."""
        if seq <= self._snapshot.version:
            return False
        batch = changes if isinstance(changes, Batch) else Batch.from_changes(changes)
        seg = segment.from_batch(batch, seq=seq)
        with self._lock:
            snap = self._snapshot
            if seq <= snap.version:
                return False
            attributes = {**snap.attributes, **seg.attributes}
            self._publish(snap.files, (*snap.memory, seg), seq, attributes)
            self.counters["updates"] += 1
        return True

    def load(self, changes: Sequence[Change]) -> None:
        """Adds changes without moving the version: a rebuild from PostgreSQL, which is not
        part of the stream, keeps the stream position it started from."""
        seg = segment.from_changes(changes, seq=self._snapshot.version)
        with self._lock:
            snap = self._snapshot
            attributes = {**snap.attributes, **seg.attributes}
            self._publish(snap.files, (*snap.memory, seg), snap.version, attributes)

    def start_at(self, version: int) -> None:
        """Sets the stream position of an empty index (a rebuild's starting point)."""
        with self._lock:
            snap = self._snapshot
            if snap.segments or snap.version:
                raise ValueError("only an empty index can be positioned")
            self._publish((), (), version, snap.attributes)

    def rewind(self, version: int) -> None:
        """Moves the stream position back to ``version``, keeping the data, so changes after
        it apply again: for a NATS server that lost acknowledged messages (applying a change
        twice gives the same index)."""
        with self._maintenance, self._lock:
            snap = self._snapshot
            if version >= snap.version:
                return
            if self._manifest.applied_seq > version:
                self._commit_manifest(snap.files, version, self._manifest.attributes)
            self._publish(snap.files, snap.memory, version, snap.attributes)

    def adopt(self, incoming: Path) -> None:
        """Replaces the whole index with the snapshot copied into ``incoming`` (a replica
        that fell behind the replication log)."""
        found = manifest.load(incoming)
        if found is None:
            raise ValueError(f"{incoming} holds no snapshot")
        with self._maintenance:
            for name in found.segments:
                os.replace(incoming / name, self.directory / name)
            files = tuple(segment.open_file(self.directory / name) for name in found.segments)
            with self._lock:
                retired = self._snapshot.files
                manifest.save(self.directory, found)
                self._manifest = found
                self._publish(files, (), found.applied_seq, found.attributes)
        for seg in retired:
            if seg.name and seg.name not in found.segments:
                (self.directory / seg.name).unlink(missing_ok=True)

    def search(
        self,
        query: np.ndarray,
        *,
        limit: int,
        min_score: int,
        score_pct: int,
        timeout: float = 0.0,
        max_per_term: int = 0,
    ) -> tuple[list[tuple[int, int]], int]:
        """Best matches and the number of postings scanned; may raise kernel.SearchTimeout."""
        snap = self._snapshot
        ids, scores, scanned = kernel.search(
            snap.views, query, min_score, score_pct, limit, timeout, max_per_term
        )
        return list(zip(ids.tolist(), scores.tolist(), strict=True)), int(scanned)

    def document(self, id: int) -> int | None:
        """The version of the segment holding ``id`` now, or None if absent or deleted."""
        for seg in reversed(self._snapshot.segments):
            state = seg.state(id)
            if state is not None:
                return seg.seq if state else None
        return None

    def live_documents(self) -> np.ndarray:
        """The sorted ids a search can find now: each id's newest entry, unless that is a
        tombstone. Sorting every entry is tens of milliseconds at a million documents, so
        call it off the event loop."""
        segs = self._snapshot.segments
        if not segs:
            return np.empty(0, dtype=np.int64)
        ids = np.concatenate([s.docs for s in segs]).astype(np.int64)
        newest_first = np.concatenate([np.full(s.num_docs, -r) for r, s in enumerate(segs)])
        alive = np.concatenate([~np.isin(s.docs, s.tombstones) for s in segs])
        order = np.lexsort((newest_first, ids))
        ids, alive = ids[order], alive[order]
        first = np.ones(len(ids), dtype=bool)
        first[1:] = ids[1:] != ids[:-1]
        return ids[first & alive]

    def stats(self) -> Stats:
        snap = self._snapshot
        segs = snap.segments
        with_docs = [s for s in segs if s.num_docs]
        return Stats(
            min_doc_id=min((int(s.docs[0]) for s in with_docs), default=0),
            max_doc_id=max((int(s.docs[-1]) for s in with_docs), default=0),
            num_segments=len(segs),
            num_docs=sum(s.num_docs for s in segs),
            num_postings=sum(s.num_postings for s in segs),
            file_segments=len(snap.files),
            memory_segments=len(snap.memory),
            file_bytes=sum(s.nbytes for s in snap.files),
            memory_bytes=sum(s.nbytes for s in snap.memory),
        )

    def checkpoint_view(self) -> tuple[Manifest, tuple[Segment, ...]]:
        """The manifest and its file segments, taken together (what a snapshot copies)."""
        with self._lock:
            return self._manifest, self._snapshot.files

    def maintain(self, *, force_checkpoint: bool = False) -> bool:
        """One step of background work; True if it changed something (call again)."""
        with self._maintenance:
            snap = self._snapshot
            if snap.memory and self._checkpoint_due(snap, force_checkpoint):
                self._checkpoint(snap.memory)
                return True
            if len(snap.memory) > self.max_memory_segments:
                self._merge_memory(snap.memory)
                return True
            pick = self.file_policy.pick([s.num_postings for s in snap.files])
            if pick:
                self._merge_files(snap.files, pick[0], pick[1])
                return True
            return False

    def flush(self) -> None:
        """Checkpoints everything applied so far and settles merges (tests, rebuild, shutdown)."""
        self.maintain(force_checkpoint=True)
        while self.maintain():
            pass

    def _checkpoint_due(self, snap: Snapshot, force: bool) -> bool:
        postings = sum(s.num_postings for s in snap.memory)
        age = time.monotonic() - snap.memory[0].created
        return force or postings >= self.checkpoint_postings or age >= self.checkpoint_age

    def _new_name(self, seq: int) -> str:
        return f"{seq:016x}-{uuid.uuid4().hex[:8]}{SEGMENT_SUFFIX}"

    def _write(self, seg: Segment) -> Segment:
        name = self._new_name(seg.seq)
        segment.write(seg, self.directory / name)
        return segment.open_file(self.directory / name)

    def _checkpoint(self, taken: tuple[Segment, ...]) -> None:
        merged = segment.merge(taken, drop_tombstones=not self._snapshot.files)
        attributes = dict(self._manifest.attributes)
        for s in taken:
            attributes.update(s.attributes)
        frozen = self._write(merged)
        with self._lock:
            snap = self._snapshot
            files = (*snap.files, frozen)
            self._commit_manifest(files, taken[-1].seq, attributes)
            self._publish(files, snap.memory[len(taken) :], snap.version, snap.attributes)
            self.counters["checkpoints"] += 1
        log.info(
            "checkpoint %s: %d postings up to version %d",
            frozen.name,
            frozen.num_postings,
            taken[-1].seq,
        )
        if self.on_durable:
            self.on_durable(taken[-1].seq)

    def _merge_memory(self, taken: tuple[Segment, ...]) -> None:
        """Merges all memory segments: they hold under a checkpoint's worth, so this is cheap."""
        merged = segment.merge(taken, drop_tombstones=False)
        merged = replace(merged, created=taken[0].created)
        with self._lock:
            snap = self._snapshot
            start = snap.memory.index(taken[0])
            memory = (*snap.memory[:start], merged, *snap.memory[start + len(taken) :])
            self._publish(snap.files, memory, snap.version, snap.attributes)
            self.counters["memory_merges"] += 1

    def _merge_files(self, files: tuple[Segment, ...], start: int, end: int) -> None:
        taken = files[start:end]
        merged = self._write(segment.merge(taken, drop_tombstones=start == 0))
        with self._lock:
            snap = self._snapshot
            new_files = (*snap.files[:start], merged, *snap.files[end:])
            self._commit_manifest(new_files, self._manifest.applied_seq, self._manifest.attributes)
            self._publish(new_files, snap.memory, snap.version, snap.attributes)
            self.counters["file_merges"] += 1
        log.info("merged %d file segments into %s", len(taken), merged.name)
        for s in taken:
            if s.name:
                (self.directory / s.name).unlink(missing_ok=True)

    def _commit_manifest(
        self, files: tuple[Segment, ...], applied_seq: int, attributes: dict[str, str]
    ) -> None:
        names = tuple(s.name for s in files if s.name)
        fresh = replace(
            self._manifest, segments=names, applied_seq=applied_seq, attributes=attributes
        )
        manifest.save(self.directory, fresh)
        self._manifest = fresh
