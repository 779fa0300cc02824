"""The FPINDEX message codec shared by the worker and the index."""

from __future__ import annotations

import msgpack
import numpy as np
import pytest

from libs.common import index_messages as m
from services.index.replication import MAX_PAYLOAD

pytestmark = pytest.mark.quick


def test_roundtrip_as_packed_arrays():
    changes = [
        m.insert(7, [16, 32, 2**32 - 16]),
        m.delete(9),
        m.insert(8, []),
        m.set_attributes({"max_document_id": "9"}),
    ]
    payload = m.encode(changes)
    assert payload[:16] == b"FPB1" + bytes([3, 0, 0, 0, 3, 0, 0, 0]) + payload[12:16]
    # ids, then lengths, then kinds padded to 4 bytes, then the terms, little-endian
    assert payload[16:28] == np.array([7, 9, 8], "<u4").tobytes()
    assert payload[28:40] == np.array([3, 0, 0], "<u4").tobytes()
    assert payload[40:44] == bytes([0, 1, 0, 0])
    assert payload[44:56] == np.array([16, 32, 2**32 - 16], "<u4").tobytes()
    assert msgpack.unpackb(payload[56:]) == {"max_document_id": "9"}
    assert m.decode(payload) == changes


def test_messages_written_before_the_packed_format_are_read():
    terms = np.array([16, 32], "<u4").tobytes()
    payload = msgpack.packb(
        {
            "changes": [
                {"op": "insert", "id": 7, "terms": terms},
                {"op": "insert", "id": 3, "terms": [1, 2]},
                {"op": "delete", "id": 9},
                {"op": "set", "values": {"k": "v"}},
            ]
        }
    )
    assert m.decode(payload) == [
        m.Insert(7, np.array([16, 32], np.uint32)),
        m.Insert(3, np.array([1, 2], np.uint32)),
        m.Delete(9),
        m.SetAttributes({"k": "v"}),
    ]


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
        m.encode([m.insert(1, [5])])[:-1],
        m.encode([m.insert(1, [5])]).replace(b"\x01\x00\x00\x00", b"\x00\x00\x00\x00", 2),
        m.encode([m.delete(4)])[:40] + b"\x02" + m.encode([m.delete(4)])[41:],
    ],
)
def test_malformed_messages_raise(payload):
    with pytest.raises(m.InvalidChange):
        m.decode(payload)


def test_by_shard_sends_attributes_everywhere():
    changes = [m.insert(4, [1]), m.delete(5), m.set_attributes({"k": "v"})]
    groups = m.Batch.from_changes(changes).by_shard(2)
    assert groups[0].changes() == [changes[0], changes[2]]
    assert groups[1].changes() == [changes[1], changes[2]]


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
    chunks = m.Batch.from_changes(changes).chunks(MAX_PAYLOAD)
    assert len(chunks) > 1
    assert [c for chunk in chunks for c in chunk.changes()] == [*changes[:3000], changes[-1]]
    assert all(len(m.encode_batch(chunk)) <= MAX_PAYLOAD for chunk in chunks)
