"""The kernel, the numpy reference and a brute-force model agree on every search."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from libs.common.index_messages import Change, Delete, Insert
from services.index import reference
from services.index.kernel import MAX_WIDTH, SearchTimeout, decode_keys, search
from services.index.segment import Segment, from_changes, from_keys, merge

pytestmark = pytest.mark.quick


def random_batches(rng: np.random.Generator, nbatches: int, max_id: int, vocab: int, shift: int):
    batches: list[list[Change]] = []
    for _ in range(nbatches):
        batch: list[Change] = []
        for _ in range(int(rng.integers(1, 30))):
            id_ = int(rng.integers(1, max_id + 1))
            if rng.random() < 0.2:
                batch.append(Delete(id_))
            else:
                n = int(rng.integers(0, 40))
                terms = (rng.integers(0, vocab, size=n).astype(np.uint32)) << np.uint32(shift)
                batch.append(Insert(id_, terms))
        batches.append(batch)
    return batches


def model(batches: list[list[Change]]) -> dict[int, set[int]]:
    state: dict[int, set[int]] = {}
    for batch in batches:
        for c in batch:
            if isinstance(c, Insert):
                state[c.id] = set(c.terms.tolist())
            elif isinstance(c, Delete):
                state.pop(c.id, None)
    return state


def brute(state: dict[int, set[int]], query: np.ndarray, floor: int, pct: int, limit: int):
    q = set(query.tolist())
    scored = sorted(
        ((len(q & terms), id_) for id_, terms in state.items()), key=lambda s: (-s[0], s[1])
    )
    out: list[tuple[int, int]] = []
    cut = floor
    for score, id_ in scored:
        if len(out) >= limit or score < cut or score == 0:
            break
        if not out:
            cut = max(cut, score * pct // 100)
        out.append((id_, score))
    return out


def check(segments: list[Segment], state, query, floor, pct, limit, cap):
    views = [s.view for s in segments]
    decoded = [s.postings() for s in segments]
    for max_per_term in (0, cap):
        ids, scores, _ = search(views, query, floor, pct, limit, max_per_term=max_per_term)
        got = list(zip(ids.tolist(), scores.tolist(), strict=True))
        rids, rscores = reference.search(decoded, query, floor, pct, limit, max_per_term)
        assert got == list(zip(rids.tolist(), rscores.tolist(), strict=True))
        if max_per_term == 0:
            assert got == brute(state, query, max(floor, 1), pct, limit)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    max_id=st.sampled_from([5, 50, 1000, 2**32 - 1]),
    vocab=st.sampled_from([8, 64, 5000, 2**28]),
    shift=st.sampled_from([0, 4]),
    merged=st.booleans(),
)
def test_kernel_reference_and_model_agree(seed, max_id, vocab, shift, merged):
    rng = np.random.default_rng(seed)
    if vocab << shift > 2**32:
        vocab = 2**32 >> shift
    batches = random_batches(rng, int(rng.integers(1, 8)), max_id, vocab, shift)
    segments = [from_changes(b, seq=i + 1) for i, b in enumerate(batches)]
    if merged and len(segments) > 2:
        k = int(rng.integers(0, len(segments) - 1))
        segments = [
            *segments[:k],
            merge(segments[k : k + 2], drop_tombstones=k == 0),
            *segments[k + 2 :],
        ]
    state = model(batches)
    for _ in range(5):
        if state and rng.random() < 0.7:
            doc = sorted(state[int(rng.choice(list(state)))])
            query = np.array(doc[: int(rng.integers(0, len(doc) + 1))], dtype=np.uint32)
            query = np.concatenate(
                [query, rng.integers(0, vocab, 5).astype(np.uint32) << np.uint32(shift)]
            )
        else:
            query = rng.integers(0, vocab, int(rng.integers(0, 50))).astype(np.uint32) << np.uint32(
                shift
            )
        floor = int(rng.integers(0, 4))
        pct = int(rng.choice([0, 10, 50]))
        check(segments, state, query, floor, pct, int(rng.integers(1, 20)), int(rng.integers(1, 4)))


def test_floor_and_relative_cut():
    seg = from_changes(
        [
            Insert(1, np.arange(100, dtype=np.uint32)),
            Insert(2, np.arange(20, dtype=np.uint32)),
            Insert(3, np.arange(5, dtype=np.uint32)),
        ]
    )
    query = np.arange(100, dtype=np.uint32)
    ids, scores, _ = search([seg.view], query, 6, 10, 10)
    assert ids.tolist() == [1, 2] and scores.tolist() == [100, 20]
    ids, _, _ = search([seg.view], query, 6, 25, 10)
    assert ids.tolist() == [1]
    ids, _, _ = search([seg.view], query, 1, 0, 10)
    assert ids.tolist() == [1, 2, 3]


def test_newest_segment_decides_and_tombstones_hide():
    old = from_changes(
        [Insert(7, np.array([1, 2, 3], np.uint32)), Insert(8, np.array([1], np.uint32))]
    )
    new = from_changes([Insert(7, np.array([9], np.uint32)), Delete(8)])
    ids, _, _ = search([old.view, new.view], np.array([1, 2, 3], np.uint32), 1, 0, 10)
    assert ids.tolist() == []
    ids, scores, _ = search([old.view, new.view], np.array([9, 1], np.uint32), 1, 0, 10)
    assert ids.tolist() == [7] and scores.tolist() == [1]


def test_query_is_a_set():
    seg = from_changes([Insert(1, np.array([5, 6], np.uint32))])
    _, scores, _ = search([seg.view], np.array([5, 5, 5, 6], np.uint32), 1, 0, 10)
    assert scores.tolist() == [2]


def test_postings_roundtrip_at_every_width():
    rng = np.random.default_rng(1)
    for id_bits in range(0, 33, 4):
        for term_bits in (1, 8, 20, 28, 32):
            ids = rng.integers(1, min(2**id_bits + 1, 2**32), 500, dtype=np.uint64)
            terms = rng.integers(0, 2**term_bits, 500, dtype=np.uint64)
            keys = np.unique((terms << np.uint64(32)) | ids)
            docs = np.unique((keys & np.uint64(0xFFFFFFFF)).astype(np.uint32))
            seg = from_keys(keys, docs, np.zeros(0, np.uint32))
            assert seg.layout["suffix_bits"] + seg.layout["id_bits"] <= MAX_WIDTH
            assert np.array_equal(decode_keys(seg.view), keys)


def test_timeout_raises():
    rng = np.random.default_rng(2)
    segs = [
        from_changes([Insert(i, rng.integers(0, 50, 40).astype(np.uint32)) for i in range(1, 500)])
        for _ in range(50)
    ]
    with pytest.raises(SearchTimeout):
        search([s.view for s in segs], np.arange(50, dtype=np.uint32), 1, 0, 10, timeout=1e-9)


def test_dense_ids_pack_under_four_bytes():
    rng = np.random.default_rng(3)
    n = 20000
    terms = (rng.integers(0, 2**28, (n, 120)).astype(np.uint32) << np.uint32(4)).ravel()
    seg = from_changes([Insert(i + 1, terms[i * 120 : (i + 1) * 120]) for i in range(n)])
    assert seg.nbytes / seg.num_postings < 4.0
