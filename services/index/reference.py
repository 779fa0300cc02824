"""Pure-numpy search with the same rules as the kernel, over decoded postings.

It exists to be obviously right: tests check the kernel against it on random data, and the
benchmark runs it side by side to show what the kernel buys. It reads the postings of each
segment sorted by (term, id), finds each query term's range with ``searchsorted`` and counts
with ``np.unique``; no bucket, no bit packing, no hash table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from services.index.segment import Postings


def search(
    segments: Sequence[Postings],
    query: np.ndarray,
    floor: int,
    score_pct: int,
    limit: int,
    max_per_term: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, scores)``: see ``kernel.search``; segments run oldest to newest."""
    q = np.unique(np.asarray(query, dtype=np.uint32))
    best: dict[int, tuple[int, int]] = {}
    for rank, seg in enumerate(segments):
        lo = np.searchsorted(seg.terms, q, side="left")
        hi = np.searchsorted(seg.terms, q, side="right")
        if max_per_term:
            hi = np.minimum(hi, lo + max_per_term)
        if not (hi > lo).any():
            continue
        hits = np.concatenate([seg.ids[a:b] for a, b in zip(lo, hi, strict=True) if b > a])
        ids, counts = np.unique(hits, return_counts=True)
        for id_, count in zip(ids.tolist(), counts.tolist(), strict=True):
            best[id_] = (rank, count)
    ranked = sorted(
        ((count, id_, rank) for id_, (rank, count) in best.items() if count >= floor),
        key=lambda c: (-c[0], c[1]),
    )
    out_ids: list[int] = []
    out_scores: list[int] = []
    cut = floor
    for count, id_, rank in ranked:
        if len(out_ids) >= limit or count < cut:
            break
        if any(_holds(seg, id_) for seg in segments[rank + 1 :]):
            continue
        if not out_ids:
            cut = max(cut, count * score_pct // 100)
        out_ids.append(id_)
        out_scores.append(count)
    return np.array(out_ids, dtype=np.uint32), np.array(out_scores, dtype=np.uint32)


def _holds(seg: Postings, id_: int) -> bool:
    i = int(np.searchsorted(seg.docs, id_))
    return i < len(seg.docs) and int(seg.docs[i]) == id_
