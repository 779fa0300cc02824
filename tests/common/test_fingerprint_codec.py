"""Each conversion of ``fingerprint_codec`` keeps every bit; ``array_send`` bytes read back
exactly what PostgreSQL stored."""

from __future__ import annotations

import asyncpg
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from libs.chromaprint_cy.codec import encode_fingerprint
from libs.common.fingerprint_codec import (
    InvalidFingerprint,
    from_binary,
    from_int4,
    from_text,
    to_int4,
    to_wire,
)
from libs.common.settings import DEFAULT_PG

PG = DEFAULT_PG.replace("postgresql+asyncpg", "postgresql") + "/postgres"


async def send(sql: str, *args: object) -> bytes:
    conn = await asyncpg.connect(PG)
    try:
        data: bytes = await conn.fetchval(sql, *args)
        return data
    finally:
        await conn.close()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(-(2**31), 2**31 - 1), max_size=2000))
async def test_items_equal_the_stored_array(values: list[int]) -> None:
    data = await send("SELECT array_send($1::int4[])", values)
    assert from_binary(data).view(np.int32).tolist() == values
    assert from_binary(data).dtype == np.uint32


async def test_a_lower_bound_other_than_one_reads_the_same_items() -> None:
    data = await send("SELECT array_send('[0:2]={5,-6,7}'::int4[])")
    assert from_binary(data).view(np.int32).tolist() == [5, -6, 7]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT array_send(ARRAY[[1,2],[3,4]]::int4[])",
        "SELECT array_send(ARRAY[1,NULL,3]::int4[])",
        "SELECT array_send(ARRAY[1,2]::int8[])",
    ],
)
async def test_arrays_that_are_not_fingerprints_are_refused(sql: str) -> None:
    with pytest.raises(ValueError):
        from_binary(await send(sql))


async def test_truncated_bytes_are_refused() -> None:
    data = await send("SELECT array_send(ARRAY[1,2,3]::int4[])")
    with pytest.raises(ValueError, match="truncated"):
        from_binary(data[:-2])


UINT32 = st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=500)


@pytest.mark.quick
@given(UINT32)
def test_int4_and_wire_forms_keep_every_bit(values: list[int]) -> None:
    items = np.array(values, dtype=np.uint32)
    signed = to_int4(items)
    assert all(-(2**31) <= v < 2**31 for v in signed)
    assert from_int4(signed).tolist() == values
    assert to_wire(items) == values == to_wire(values)
    assert all(type(v) is int for v in to_wire(items))


@pytest.mark.quick
@given(UINT32)
def test_text_reads_back_the_items(values: list[int]) -> None:
    items = np.array(values, dtype=np.uint32)
    assert from_text(encode_fingerprint(items)).tolist() == values


@pytest.mark.quick
@pytest.mark.parametrize(
    "text",
    ["", "x", "AQAA", encode_fingerprint(np.array([1, 2], dtype=np.uint32), algorithm=2)],
)
def test_text_that_is_not_an_algorithm_1_fingerprint_is_refused(text: str) -> None:
    with pytest.raises(InvalidFingerprint):
        from_text(text)
