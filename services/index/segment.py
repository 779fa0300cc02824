"""Segments: immutable sets of postings and document states, in memory or memory-mapped.

A segment is built once (from a batch of changes, or by merging older segments) and never
changes; the store swaps whole segments. The same arrays serve both kinds: a memory segment
keeps them as numpy arrays, a file segment maps them from disk. The file carries a CRC-32 of
every array so a truncated or bit-flipped file is refused on open instead of answering wrong.

File layout: ``MAGIC``, u32 header length, u32 header CRC, a JSON header (layout constants,
counts, and per array its offset, byte length and CRC), then the arrays at 64-byte aligned
offsets. Everything is little-endian.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from libs.common.index_messages import DELETE, Batch, Change
from services.index import durable, radix
from services.index.kernel import (
    MAX_WIDTH,
    SegmentView,
    decode_keys,
    encode_postings,
    key_stats,
)

MAGIC = b"ACIDXSG1"
ALIGN = 64
ARRAYS = ("offsets", "packed", "docs", "tombstones")
DTYPES = {"offsets": np.uint32, "packed": np.uint8, "docs": np.uint32, "tombstones": np.uint32}
MAX_BUCKET_BITS = 24
POSTINGS_PER_BUCKET = 32
RADIX_MAX_KEYS = 1 << 22


class CorruptSegment(Exception):
    """A segment file fails its size or checksum test; serving it would give wrong answers."""


@dataclass(frozen=True)
class Postings:
    """Decoded content of a segment: postings sorted by (term, id), docs, tombstones."""

    terms: np.ndarray
    ids: np.ndarray
    docs: np.ndarray
    tombstones: np.ndarray


@dataclass(eq=False)
class Segment:
    view: SegmentView
    docs: np.ndarray
    tombstones: np.ndarray
    layout: dict[str, int]
    name: str | None = None
    seq: int = 0
    attributes: dict[str, str] = field(default_factory=dict)
    created: float = field(default_factory=time.monotonic)
    nbytes: int = 0  # array bytes; for a file segment, the size of its file

    @property
    def num_postings(self) -> int:
        return int(self.view.num_postings)

    @property
    def num_docs(self) -> int:
        return len(self.docs)

    def state(self, id: int) -> bool | None:
        """``True`` if the segment holds ``id`` alive, ``False`` for a tombstone, else None."""
        i = int(np.searchsorted(self.docs, id))
        if i == len(self.docs) or int(self.docs[i]) != id:
            return None
        j = int(np.searchsorted(self.tombstones, id))
        return not (j < len(self.tombstones) and int(self.tombstones[j]) == id)

    def postings(self) -> Postings:
        keys = decode_keys(self.view)
        terms = (keys >> np.uint64(32)).astype(np.uint32)
        ids = (keys & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        return Postings(terms, ids, np.asarray(self.docs), np.asarray(self.tombstones))


def _layout(keys: np.ndarray, ids_span: int) -> dict[str, int]:
    """Picks shift, bucket and suffix bits so a posting is as narrow as the data allows.

    One more bucket bit saves a bit per posting and costs 4 bytes per bucket; the two balance
    near ``POSTINGS_PER_BUCKET`` postings per bucket.
    """
    n = len(keys)
    combined, top = key_stats(keys)
    shift = (combined & -combined).bit_length() - 1 if combined else 0
    term_bits = (top >> shift).bit_length()
    id_bits = ids_span.bit_length()
    bucket_bits = int(np.log2(n / POSTINGS_PER_BUCKET)) if n >= 2 * POSTINGS_PER_BUCKET else 0
    bucket_bits = max(min(bucket_bits, MAX_BUCKET_BITS, term_bits), term_bits + id_bits - MAX_WIDTH)
    return {
        "shift": shift,
        "term_bits": term_bits,
        "suffix_bits": term_bits - bucket_bits,
        "id_bits": id_bits,
    }


def build(
    terms: np.ndarray,
    ids: np.ndarray,
    docs: np.ndarray,
    tombstones: np.ndarray,
    *,
    seq: int = 0,
    attributes: dict[str, str] | None = None,
) -> Segment:
    """A memory segment from postings (any order; duplicate pairs collapse) and doc states.

    ``docs`` lists every id the segment speaks for (sorted, unique), ``tombstones`` the subset
    that is deleted; postings must only name alive docs.
    """
    keys = (terms.astype(np.uint64) << np.uint64(32)) | ids.astype(np.uint64)
    if len(keys) <= RADIX_MAX_KEYS:
        keys = radix.sort_keys(keys)
    else:  # the radix sort needs two copies; a rebuild's million-document chunk sorts in place
        keys.sort()
    return from_keys(keys, docs, tombstones, seq=seq, attributes=attributes)


def from_keys(
    keys: np.ndarray,
    docs: np.ndarray,
    tombstones: np.ndarray,
    *,
    unique: bool = False,
    seq: int = 0,
    attributes: dict[str, str] | None = None,
) -> Segment:
    """A segment from sorted ``term << 32 | id`` keys (duplicates collapse unless ``unique``)."""
    if not unique and len(keys) > 1:
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    keys = np.ascontiguousarray(keys, dtype=np.uint64)
    docs = np.ascontiguousarray(docs, dtype=np.uint32)
    min_id = int(docs[0]) if len(docs) else 0
    span = int(docs[-1]) - min_id if len(docs) else 0
    lay = _layout(keys, span)
    lay["min_id"] = min_id
    offsets, packed = encode_postings(
        keys, lay["shift"], lay["term_bits"], lay["suffix_bits"], lay["id_bits"], min_id
    )
    return _segment(
        offsets,
        packed,
        docs,
        np.ascontiguousarray(tombstones, dtype=np.uint32),
        lay,
        seq=seq,
        attributes=dict(attributes or {}),
    )


def _segment(
    offsets: np.ndarray,
    packed: np.ndarray,
    docs: np.ndarray,
    tombstones: np.ndarray,
    lay: dict[str, int],
    nbytes: int | None = None,
    **extra: object,
) -> Segment:
    view = SegmentView(
        offsets,
        packed,
        docs,
        lay["shift"],
        lay["term_bits"],
        lay["suffix_bits"],
        lay["id_bits"],
        lay["min_id"],
    )
    if nbytes is None:
        nbytes = offsets.nbytes + packed.nbytes + docs.nbytes + tombstones.nbytes
    return Segment(view, docs, tombstones, lay, nbytes=nbytes, **extra)  # type: ignore[arg-type]


def from_changes(changes: Sequence[Change], seq: int = 0) -> Segment:
    return from_batch(Batch.from_changes(changes), seq=seq)


def from_batch(batch: Batch, seq: int = 0) -> Segment:
    """One batch as a segment: the last change of an id within the batch wins."""
    ids = np.asarray(batch.ids, dtype=np.uint32)
    reversed_docs, last_from_end = np.unique(ids[::-1], return_index=True)
    docs = reversed_docs
    winning = len(ids) - 1 - last_from_end
    kinds = np.asarray(batch.kinds)
    tombstones = docs[kinds[winning] == DELETE]
    terms = np.asarray(batch.terms, dtype=np.uint32)
    posting_ids = np.repeat(ids, batch.lengths)
    if len(docs) != len(ids):  # an id changed twice: only its last change counts
        wins = np.zeros(len(ids), dtype=bool)
        wins[winning] = True
        keep = np.repeat(wins, batch.lengths)
        terms, posting_ids = terms[keep], posting_ids[keep]
    return build(terms, posting_ids, docs, tombstones, seq=seq, attributes=batch.attributes)


def merge(segments: Sequence[Segment], *, drop_tombstones: bool) -> Segment:
    """Adjacent segments (oldest first) as one; an id keeps only its newest state.

    Tombstones survive unless nothing older than ``segments`` exists (``drop_tombstones``),
    because they must keep hiding older copies of the id.
    """
    all_docs = np.concatenate([s.docs for s in segments]) if segments else np.zeros(0, np.uint32)
    ranks = np.concatenate([np.full(s.num_docs, r, dtype=np.int64) for r, s in enumerate(segments)])
    order = np.lexsort((-ranks, all_docs))
    ids_sorted = all_docs[order]
    first = np.ones(len(ids_sorted), dtype=bool)
    first[1:] = ids_sorted[1:] != ids_sorted[:-1]
    docs = ids_sorted[first]
    winner = ranks[order][first]
    dead = np.concatenate([np.isin(s.docs, s.tombstones, assume_unique=True) for s in segments])[
        order
    ][first]
    parts = []
    for rank, seg in enumerate(segments):
        keys = decode_keys(seg.view)
        wins = winner[np.searchsorted(docs, seg.docs)] == rank
        if not wins.all():
            ids = (keys & np.uint64(0xFFFFFFFF)).astype(np.uint32)
            keys = keys[np.isin(ids, np.asarray(seg.docs)[wins])]
        parts.append(keys)
    tombstones = docs[dead]
    if drop_tombstones:
        docs = docs[~dead]
        tombstones = tombstones[:0]
    attributes: dict[str, str] = {}
    for s in segments:
        attributes.update(s.attributes)
    # Each id's postings come from one segment only, so the keys are already unique. The
    # parts are sorted runs, which timsort ("stable") merges ~8x faster than quicksort sorts.
    keys = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
    keys.sort(kind="stable")
    return from_keys(
        keys,
        docs,
        tombstones,
        unique=True,
        seq=max((s.seq for s in segments), default=0),
        attributes=attributes,
    )


def write(segment: Segment, path: Path) -> int:
    """Writes ``segment`` durably at ``path`` (temp file, fsync, rename); returns its size."""
    arrays = {
        "offsets": np.asarray(segment.view.offsets_array),
        "packed": np.asarray(segment.view.packed_array),
        "docs": segment.docs,
        "tombstones": segment.tombstones,
    }
    entries: dict[str, list[int]] = {}
    offset = 0
    for name in ARRAYS:
        data = arrays[name]
        entries[name] = [offset, data.nbytes, zlib.crc32(data.data.cast("B"))]
        offset = _align(offset + data.nbytes)
    header = {"layout": segment.layout, "seq": segment.seq, "arrays": entries, "data_size": offset}
    blob = json.dumps(header, sort_keys=True).encode()
    start = _align(len(MAGIC) + 8 + len(blob))

    def fill(f: BinaryIO) -> None:
        f.write(MAGIC + struct.pack("<II", len(blob), zlib.crc32(blob)) + blob)
        for name in ARRAYS:
            f.write(b"\0" * (start + entries[name][0] - f.tell()))
            f.write(arrays[name].data.cast("B"))
        f.write(b"\0" * (start + offset - f.tell()))

    durable.replace(path, fill)
    return start + offset


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def open_file(path: Path) -> Segment:
    """Maps a segment file after checking its size and every checksum."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < len(MAGIC) + 8:
                raise CorruptSegment(f"{path.name}: truncated ({size} bytes)")
            buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise CorruptSegment(f"{path.name}: {exc.strerror}") from exc
    if buf[: len(MAGIC)] != MAGIC:
        raise CorruptSegment(f"{path.name}: bad magic")
    hlen, hcrc = struct.unpack_from("<II", buf, len(MAGIC))
    start = len(MAGIC) + 8
    blob = buf[start : start + hlen]
    if len(blob) != hlen or zlib.crc32(blob) != hcrc:
        raise CorruptSegment(f"{path.name}: header checksum mismatch")
    header = json.loads(blob)
    data_start = _align(start + hlen)
    if data_start + header["data_size"] != size:
        raise CorruptSegment(
            f"{path.name}: {size} bytes, header says {data_start + header['data_size']}"
        )
    arrays = {}
    for name in ARRAYS:
        off, nbytes, crc = header["arrays"][name]
        off += data_start
        view = memoryview(buf)[off : off + nbytes]
        if zlib.crc32(view) != crc:
            raise CorruptSegment(f"{path.name}: {name} checksum mismatch")
        dtype = np.dtype(DTYPES[name])
        arrays[name] = np.frombuffer(buf, dtype=dtype, count=nbytes // dtype.itemsize, offset=off)
    try:
        return _segment(
            arrays["offsets"],
            arrays["packed"],
            arrays["docs"],
            arrays["tombstones"],
            header["layout"],
            nbytes=size,
            name=path.name,
            seq=header["seq"],
        )
    except (ValueError, KeyError) as exc:
        raise CorruptSegment(f"{path.name}: {exc}") from exc
