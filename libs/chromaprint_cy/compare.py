"""Fingerprint similarity as the AcoustID server computes it (pg_acoustid), plus simhash."""

from __future__ import annotations

import numpy as np

from . import _compare

#: acoustid-server's TRACK_MAX_OFFSET: how far (in items) two fingerprints may be shifted.
TRACK_MAX_OFFSET = 80


def compare2(a: np.ndarray, b: np.ndarray, maxoffset: int = 0) -> float:
    """`acoustid_compare2(a, b, maxoffset)`: the float4 score in [0, 1], bit for bit.

    Items may be given as uint32 or as the int32 PostgreSQL stores; only the bit pattern counts.
    """
    return float(_compare.compare2(_as_items(a), _as_items(b), maxoffset)[0])


def compare2_offset(a: np.ndarray, b: np.ndarray, maxoffset: int = 0) -> tuple[float, int]:
    """compare2's score and the alignment it scored: a positive offset means ``a[offset:]``
    lines up with ``b``, a negative one that ``b[-offset:]`` lines up with ``a``."""
    score, offset = _compare.compare2(_as_items(a), _as_items(b), maxoffset)
    return float(score), int(offset)


def simhash(items: np.ndarray) -> int:
    """`chromaprint_hash_fingerprint`: per bit, set when more items have it set than clear."""
    return int(_compare.simhash(_as_items(items)))


def _as_items(items: np.ndarray) -> np.ndarray:
    arr = np.asarray(items)
    if arr.dtype == np.uint32 and arr.flags.c_contiguous:
        return arr
    return np.ascontiguousarray(arr.astype(np.int64) & 0xFFFFFFFF, dtype=np.uint32)
