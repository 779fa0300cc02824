"""Fingerprints read as ``array_send`` bytes equal what PostgreSQL stored, bit for bit."""

from __future__ import annotations

import asyncpg
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from libs.common.int4array import items
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
    assert items(data).view(np.int32).tolist() == values
    assert items(data).dtype == np.uint32


async def test_a_lower_bound_other_than_one_reads_the_same_items() -> None:
    data = await send("SELECT array_send('[0:2]={5,-6,7}'::int4[])")
    assert items(data).view(np.int32).tolist() == [5, -6, 7]


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
        items(await send(sql))


async def test_truncated_bytes_are_refused() -> None:
    data = await send("SELECT array_send(ARRAY[1,2,3]::int4[])")
    with pytest.raises(ValueError, match="truncated"):
        items(data[:-2])
