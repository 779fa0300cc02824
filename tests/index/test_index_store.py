"""Segments on disk, the manifest and the store: what survives a reopen, what is refused."""

from __future__ import annotations

import itertools
import threading
import time

import numpy as np
import pytest

from libs.common.index_messages import Delete, Insert, SetAttributes
from services.index import manifest
from services.index.segment import CorruptSegment
from services.index.store import MergePolicy, Store

pytestmark = pytest.mark.quick


def terms(seed: int, n: int = 120) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.choice(2**28, n, replace=False).astype(np.uint32) << np.uint32(4)


def fill(store: Store, first_seq: int, docs: range, batch: int = 50) -> int:
    seq = first_seq
    ids = list(docs)
    for i in range(0, len(ids), batch):
        store.apply(seq, [Insert(d, terms(d)) for d in ids[i : i + batch]])
        seq += 1
        while store.maintain():
            pass
    return seq


def results(store: Store, id_: int) -> list[tuple[int, int]]:
    return store.search(terms(id_), limit=10, min_score=6, score_pct=10)[0]


def test_search_sees_writes_and_survives_reopen(tmp_path):
    store = Store.open(tmp_path, checkpoint_postings=10_000)
    seq = fill(store, 1, range(1, 401))
    store.apply(seq, [Delete(5), Insert(6, terms(1006)), SetAttributes({"max_document_id": "400"})])
    assert results(store, 7) == [(7, 120)]
    assert results(store, 5) == []
    store.flush()
    assert store.stats().memory_segments == 0
    assert store.durable_version == seq
    files = sorted(p.name for p in tmp_path.iterdir())
    assert "manifest.json" in files and any(f.endswith(".seg") for f in files)

    again = Store.open(tmp_path)
    assert again.version == seq
    assert results(again, 7) == [(7, 120)]
    assert results(again, 5) == []
    assert results(again, 6) == []
    assert again.search(terms(1006), limit=10, min_score=6, score_pct=10)[0] == [(6, 120)]
    assert again.snapshot.attributes == {"max_document_id": "400"}
    assert again.document(7) is not None and again.document(5) is None


def test_replayed_message_is_not_applied_twice(tmp_path):
    store = Store.open(tmp_path)
    assert store.apply(1, [Insert(1, terms(1))])
    assert not store.apply(1, [Delete(1)])
    assert results(store, 1) == [(1, 120)]


def test_merges_keep_results(tmp_path):
    store = Store.open(
        tmp_path,
        checkpoint_postings=2_000,
        file_policy=MergePolicy(min_size=2_000, per_merge=3, per_level=2),
    )
    seq = fill(store, 1, range(1, 301), batch=20)
    store.apply(seq, [Delete(i) for i in range(1, 301, 3)])
    before = [results(store, i) for i in range(1, 301, 7)]
    store.flush()
    assert store.counters["file_merges"] > 0
    assert store.stats().file_segments < store.counters["checkpoints"]
    assert [results(store, i) for i in range(1, 301, 7)] == before
    reopened = Store.open(tmp_path)
    assert [results(reopened, i) for i in range(1, 301, 7)] == before
    assert sorted(p.name for p in tmp_path.glob("*.seg")) == sorted(
        manifest.load(tmp_path).segments
    )


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_damaged_segment_is_refused(tmp_path, damage):
    store = Store.open(tmp_path)
    fill(store, 1, range(1, 51))
    store.flush()
    (path,) = tmp_path.glob("*.seg")
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) - 100]
    else:
        data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptSegment, match=path.name):
        Store.open(tmp_path)


def test_merge_policy_budget():
    policy = MergePolicy(min_size=100, per_merge=10, per_level=10)
    assert policy.pick([1000] * 5) is None
    assert policy.budget([100] * 100) == 19
    start, end = policy.pick([10**6] + [100] * 100)
    assert end - start >= 2 and start >= 1


def test_searches_see_a_consistent_snapshot_while_writes_and_merges_run(tmp_path):
    """fpindex crashed when a merge freed segments a concurrent update still read (§7.1)."""
    store = Store.open(
        tmp_path,
        checkpoint_postings=3_000,
        file_policy=MergePolicy(min_size=3_000, per_merge=3, per_level=2),
    )
    seq = fill(store, 1, range(1, 101), batch=10)
    stop = threading.Event()
    errors: list[str] = []

    def writer() -> None:
        nonlocal seq
        docs = iter(range(1000, 100_000))
        while not stop.is_set():
            store.apply(seq, [Insert(d, terms(d)) for d in itertools.islice(docs, 20)])
            seq += 1

    def maintainer() -> None:
        while not stop.is_set():
            store.maintain()

    def reader() -> None:
        rng = np.random.default_rng(threading.get_ident() % 2**32)
        while not stop.is_set():
            doc = int(rng.integers(1, 101))
            got = results(store, doc)
            if got != [(doc, 120)]:
                errors.append(f"{doc}: {got}")

    def merged_enough() -> bool:
        return store.counters["file_merges"] > 0 and store.counters["checkpoints"] > 3

    threads = [threading.Thread(target=f) for f in (writer, maintainer, reader, reader)]
    for t in threads:
        t.start()
    # Until the merges and checkpoints the test is about have happened under the readers,
    # however long a loaded machine takes; the deadline only bounds a broken maintainer.
    deadline = time.monotonic() + 300
    while not merged_enough() and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors[:5]
    assert merged_enough(), store.counters
    store.flush()
    reopened = Store.open(tmp_path)
    assert all(results(reopened, d) == [(d, 120)] for d in range(1, 101, 9))


def test_radix_sort_agrees_with_numpy():
    from services.index.radix import sort_keys

    rng = np.random.default_rng(3)
    for n in (0, 1, 2, 1000, 50_001):
        keys = rng.integers(0, 2**64 - 1, n, dtype=np.uint64, endpoint=True)
        assert np.array_equal(sort_keys(keys), np.sort(keys))
    same_high = (rng.integers(0, 2**28, 9999, dtype=np.uint64) << np.uint64(36)) | np.uint64(7)
    assert np.array_equal(sort_keys(same_high), np.sort(same_high))
