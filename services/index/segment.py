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

import numpy as np

from libs.common.index_messages import Change, Delete, Insert
from services.index.kernel import MAX_WIDTH, SegmentView, pack_bits, unpack_bits

MAGIC = b"ACIDXSG1"
ALIGN = 64
ARRAYS = ("offsets", "packed", "docs", "tombstones")
DTYPES = {"offsets": np.uint32, "packed": np.uint8, "docs": np.uint32, "tombstones": np.uint32}
MAX_BUCKET_BITS = 24
POSTINGS_PER_BUCKET = 32


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
        lay = self.layout
        offsets = np.asarray(self.view.offsets_array, dtype=np.int64)
        n = int(offsets[-1])
        width = lay["suffix_bits"] + lay["id_bits"]
        values = unpack_bits(np.ascontiguousarray(self.view.packed_array), n, width)
        buckets = np.repeat(np.arange(len(offsets) - 1, dtype=np.uint64), np.diff(offsets))
        e = (buckets << np.uint64(lay["suffix_bits"])) | (values >> np.uint64(lay["id_bits"]))
        terms = (e << np.uint64(lay["shift"])).astype(np.uint32)
        id_mask = np.uint64((1 << lay["id_bits"]) - 1)
        ids = ((values & id_mask) + np.uint64(lay["min_id"])).astype(np.uint32)
        return Postings(terms, ids, np.asarray(self.docs), np.asarray(self.tombstones))


def _layout(terms: np.ndarray, ids_span: int) -> dict[str, int]:
    """Picks shift, bucket and suffix bits so a posting is as narrow as the data allows.

    One more bucket bit saves a bit per posting and costs 4 bytes per bucket; the two balance
    near ``POSTINGS_PER_BUCKET`` postings per bucket.
    """
    n = len(terms)
    combined = int(np.bitwise_or.reduce(terms)) if n else 0
    shift = (combined & -combined).bit_length() - 1 if combined else 0
    term_bits = int(terms.max() >> shift).bit_length() if n else 0
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
    keys = np.sort((terms.astype(np.uint64) << np.uint64(32)) | ids.astype(np.uint64))
    if len(keys) > 1:
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    terms = (keys >> np.uint64(32)).astype(np.uint32)
    ids = (keys & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    docs = np.ascontiguousarray(docs, dtype=np.uint32)
    min_id = int(docs[0]) if len(docs) else 0
    span = int(docs[-1]) - min_id if len(docs) else 0
    lay = _layout(terms, span)
    lay["min_id"] = min_id
    e = terms.astype(np.uint64) >> np.uint64(lay["shift"])
    suffix_bits = lay["suffix_bits"]
    buckets = e >> np.uint64(suffix_bits)
    nbuckets = 1 << (lay["term_bits"] - suffix_bits)
    offsets = np.zeros(nbuckets + 1, dtype=np.uint32)
    np.cumsum(np.bincount(buckets.astype(np.int64), minlength=nbuckets), out=offsets[1:])
    suffix = e & np.uint64((1 << suffix_bits) - 1)
    values = (suffix << np.uint64(lay["id_bits"])) | (ids.astype(np.uint64) - np.uint64(min_id))
    packed = pack_bits(values, suffix_bits + lay["id_bits"])
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
    """One batch as a segment: the last change of an id within the batch wins."""
    latest: dict[int, Insert | Delete] = {}
    attributes: dict[str, str] = {}
    for change in changes:
        if isinstance(change, Insert | Delete):
            latest[change.id] = change
        else:
            attributes.update(change.values)
    inserts = [c for c in latest.values() if isinstance(c, Insert)]
    docs = np.array(sorted(latest), dtype=np.uint32)
    tombstones = np.array(sorted(i for i, c in latest.items() if isinstance(c, Delete)), np.uint32)
    if inserts:
        terms = np.concatenate([c.terms for c in inserts])
        ids = np.repeat(
            np.array([c.id for c in inserts], dtype=np.uint32), [len(c.terms) for c in inserts]
        )
    else:
        terms = ids = np.zeros(0, dtype=np.uint32)
    return build(terms, ids, docs, tombstones, seq=seq, attributes=attributes)


def merge(segments: Sequence[Segment], *, drop_tombstones: bool) -> Segment:
    """Adjacent segments (oldest first) as one; an id keeps only its newest state.

    Tombstones survive unless nothing older than ``segments`` exists (``drop_tombstones``),
    because they must keep hiding older copies of the id.
    """
    decoded = [s.postings() for s in segments]
    all_docs = np.concatenate([p.docs for p in decoded]) if decoded else np.zeros(0, np.uint32)
    ranks = np.concatenate([np.full(len(p.docs), r, dtype=np.int64) for r, p in enumerate(decoded)])
    order = np.lexsort((-ranks, all_docs))
    ids_sorted = all_docs[order]
    first = np.ones(len(ids_sorted), dtype=bool)
    first[1:] = ids_sorted[1:] != ids_sorted[:-1]
    docs = ids_sorted[first]
    winner = ranks[order][first]
    dead = np.concatenate([np.isin(p.docs, p.tombstones, assume_unique=True) for p in decoded])[
        order
    ][first]
    terms_parts, ids_parts = [], []
    for rank, p in enumerate(decoded):
        wins = winner[np.searchsorted(docs, p.docs)] == rank
        if wins.all():
            terms_parts.append(p.terms)
            ids_parts.append(p.ids)
            continue
        keep = np.isin(p.ids, p.docs[wins])
        terms_parts.append(p.terms[keep])
        ids_parts.append(p.ids[keep])
    tombstones = docs[dead]
    if drop_tombstones:
        docs = docs[~dead]
        tombstones = tombstones[:0]
    attributes: dict[str, str] = {}
    for s in segments:
        attributes.update(s.attributes)
    empty = np.zeros(0, dtype=np.uint32)
    return build(
        np.concatenate(terms_parts) if terms_parts else empty,
        np.concatenate(ids_parts) if ids_parts else empty,
        docs,
        tombstones,
        seq=max((s.seq for s in segments), default=0),
        attributes=attributes,
    )


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(MAGIC + struct.pack("<II", len(blob), zlib.crc32(blob)) + blob)
        for name in ARRAYS:
            f.write(b"\0" * (start + entries[name][0] - f.tell()))
            f.write(arrays[name].data.cast("B"))
        f.write(b"\0" * (start + offset - f.tell()))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)
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
