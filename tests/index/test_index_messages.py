"""The FPINDEX message codec shared by the worker and the index."""

from __future__ import annotations

import msgpack
import numpy as np
import pytest

from libs.common import index_messages as m
from services.index.replication import MAX_PAYLOAD, _chunks

pytestmark = pytest.mark.quick


def test_roundtrip_with_binary_terms():
    changes = [
        m.insert(7, [16, 32, 2**32 - 16]),
        m.delete(9),
        m.set_attributes({"max_document_id": "9"}),
    ]
    payload = m.encode(changes)
    raw = msgpack.unpackb(payload)
    assert raw["changes"][0] == {
        "op": "insert",
        "id": 7,
        "terms": np.array([16, 32, 2**32 - 16], "<u4").tobytes(),
    }
    assert m.decode(payload) == changes


def test_hand_written_list_terms_are_accepted():
    payload = msgpack.packb({"changes": [{"op": "insert", "id": 3, "terms": [1, 2]}]})
    assert m.decode(payload) == [m.Insert(3, np.array([1, 2], np.uint32))]


@pytest.mark.parametrize(
    "payload",
    [
        b"\xc1",
        msgpack.packb([1]),
        msgpack.packb({"changes": [{"op": "upsert", "id": 1}]}),
        msgpack.packb({"changes": [{"op": "insert", "id": 0, "terms": []}]}),
        msgpack.packb({"changes": [{"op": "insert", "id": 1, "terms": b"abc"}]}),
        msgpack.packb({"changes": [{"op": "insert", "id": 1, "terms": [2**32]}]}),
        msgpack.packb({"changes": [{"op": "set", "values": {"a": 1}}]}),
    ],
)
def test_malformed_messages_raise(payload):
    with pytest.raises(m.InvalidChange):
        m.decode(payload)


def test_split_by_shard_sends_attributes_everywhere():
    changes = [m.insert(4, [1]), m.delete(5), m.set_attributes({"k": "v"})]
    groups = m.split_by_shard(changes, 2)
    assert groups[0] == [changes[0], changes[2]]
    assert groups[1] == [changes[1], changes[2]]


def test_check_terms_many_agrees_with_one_by_one():
    lists = [[1, 2, 3], [4, 5, 6]]
    assert [a.tolist() for a in m.check_terms_many(lists)] == lists
    assert [a.tolist() for a in m.check_terms_many([[1], [2, 3]])] == [[1], [2, 3]]
    with pytest.raises(m.InvalidChange):
        m.check_terms_many([[1, 2], [3, -1]])
    with pytest.raises(m.InvalidChange):
        m.check_terms_many([[1, 2], [3, 0.5]])


def test_large_updates_are_cut_into_messages_nats_accepts():
    changes = [m.Insert(i + 1, np.arange(120, dtype=np.uint32)) for i in range(3000)]
    changes += [m.set_attributes({"k": "v" * 100_000})] * 8
    chunks = _chunks(changes)
    assert [c for chunk in chunks for c in chunk] == changes
    assert all(len(m.encode(chunk)) <= MAX_PAYLOAD for chunk in chunks)
