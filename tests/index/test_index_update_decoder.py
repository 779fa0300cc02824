"""The msgpack ``_update`` reader agrees with the general path on every body it accepts."""

from __future__ import annotations

import msgpack
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from libs.common.index_messages import Batch, Delete, Insert
from services.index import update_decoder

terms = st.lists(st.integers(0, 2**32 - 1), max_size=20)
ids = st.integers(1, 2**32 - 1)
change = st.one_of(
    st.builds(lambda i, h: {"i": {"i": i, "h": h}}, ids, terms),
    st.builds(lambda i: {"d": {"i": i}}, ids),
)


def expected(body: dict) -> list:
    out = []
    for c in body["c"]:
        ((kind, value),) = c.items()
        if kind == "i":
            out.append(Insert(value["i"], np.array(value["h"], dtype=np.uint32)))
        else:
            out.append(Delete(value["i"]))
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(change, max_size=30), st.one_of(st.none(), st.integers(0, 2**40)))
def test_inserts_and_deletes_read_as_packed_arrays(changes, version):
    body = {"c": changes} if version is None else {"c": changes, "e": version}
    result = update_decoder.decode(msgpack.packb(body))
    assert result is not None
    batch, expected_version = result
    assert isinstance(batch, Batch)
    assert batch.changes() == expected(body)
    assert expected_version == version


def test_bulk_load_shape():
    rng = np.random.default_rng(1)
    docs = rng.integers(0, 2**28, (1000, 120), dtype=np.uint32) << np.uint32(4)
    body = msgpack.packb({"c": [{"i": {"i": n + 1, "h": t.tolist()}} for n, t in enumerate(docs)]})
    result = update_decoder.decode(body)
    assert result is not None
    batch, version = result
    assert version is None
    assert batch.ids.tolist() == list(range(1, 1001))
    assert (batch.lengths == 120).all()
    assert np.array_equal(batch.terms, docs.ravel())


def test_unknown_keys_are_skipped_like_the_general_path():
    body = {"x": [1, {"a": b"b"}, 2.5, None], "c": [{"i": {"i": 5, "h": [1], "z": "q"}}]}
    result = update_decoder.decode(msgpack.packb(body))
    assert result is not None
    assert result[0].changes() == [Insert(5, np.array([1], np.uint32))]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xc1",
        msgpack.packb({"c": []}) + b"\x00",  # trailing bytes
        msgpack.packb([1]),
        msgpack.packb({"changes": [{"insert": {"id": 1, "hashes": [1]}}]}),  # full names
        msgpack.packb({"c": [{"s": {"e": [{"k": "a", "v": "b"}]}}]}),  # set_metadata
        msgpack.packb({"c": [], "m": {"a": "b"}}),
        msgpack.packb({"c": [{"i": {"i": 0, "h": [1]}}]}),
        msgpack.packb({"c": [{"i": {"i": 2**32, "h": [1]}}]}),
        msgpack.packb({"c": [{"i": {"i": True, "h": [1]}}]}),
        msgpack.packb({"c": [{"i": {"i": 1, "h": [-1]}}]}),
        msgpack.packb({"c": [{"i": {"i": 1, "h": [2**32]}}]}),
        msgpack.packb({"c": [{"i": {"i": 1, "h": [1.5]}}]}),
        msgpack.packb({"c": [{"i": {"i": 1, "h": list(range(4097))}}]}),
        msgpack.packb({"c": [{"i": {"i": 1}}]}),
        msgpack.packb({"c": [{"i": {"i": 1, "h": [1]}, "d": {"i": 2}}]}),
        msgpack.packb({"c": [{"i": {"i": 1, "h": [1]}}], "e": "7"}),
        msgpack.packb({"c": [{"i": {"i": 1, "h": [1]}}]})[:-1],  # cut short
    ],
)
def test_anything_else_goes_to_the_general_path(body):
    assert update_decoder.decode(body) is None
