"""Hypothesis over the index's JSON and msgpack bodies: whatever the structure, every route
answers a named error (``{"error": Name}``) or success, never a 5xx."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from libs.common import nats as nats_helpers
from tests.index.conftest import index_settings, served

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),  # what msgpack can carry (huge ints: another test)
    st.floats(allow_nan=False),
    st.text(max_size=8),
)
KEYS = st.sampled_from(
    ["query", "q", "limit", "l", "min_score", "score_pct", "timeout", "t", "queries", "changes",
     "c", "insert", "i", "delete", "d", "id", "hashes", "h", "metadata", "expected_version",
     "set_metadata", "entries", "key", "value"]
)  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=6), st.dictionaries(KEYS, inner, max_size=5)),
    max_leaves=30,
)
BODIES = st.dictionaries(KEYS, VALUES, max_size=5)
ROUTES = [
    ("POST", "/main/_search"),
    ("POST", "/main/_msearch"),
    ("POST", "/main/_update"),
    ("PUT", "/main/12"),
    ("PUT", "/main"),
]


def fuzz(url: str) -> int:
    sent = 0
    with httpx.Client(base_url=url, timeout=30) as client:

        @settings(
            max_examples=150,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(route=st.sampled_from(ROUTES), body=BODIES, as_msgpack=st.booleans())
        def check(route: tuple[str, str], body: dict[str, object], as_msgpack: bool) -> None:
            nonlocal sent
            method, path = route
            if as_msgpack:
                content = msgpack.packb(body)
                kind = "application/msgpack"
            else:
                content = json.dumps(body).encode()
                kind = "application/json"
            response = client.request(method, path, content=content, headers={"content-type": kind})
            sent += 1
            assert response.status_code < 500 or response.status_code == 503, response.text
            if response.status_code >= 400:
                msgpacked = response.headers["content-type"] == "application/vnd.msgpack"
                answer = msgpack.unpackb(response.content) if msgpacked else response.json()
                assert set(answer) == {"error"} and isinstance(answer["error"], str)

        check()
    return sent


async def test_no_body_makes_the_index_fail(tmp_path: Path) -> None:
    settings_ = index_settings(tmp_path / "data")
    try:
        async with served(settings_) as [url]:
            assert await asyncio.to_thread(fuzz, url) == 150
    finally:
        await nats_helpers.delete_streams(settings_)
