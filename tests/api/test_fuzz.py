"""Hypothesis over every endpoint's parameters, as a careless or hostile client sends them:
never a 5xx, and every error is the documented envelope in the format asked for."""

from __future__ import annotations

import asyncio
import json
import string
from urllib.parse import urlencode

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.world import World

NASTY = st.one_of(
    st.text(max_size=40),
    st.text(string.digits, min_size=1, max_size=30),
    st.sampled_from(
        [
            "",
            "-1",
            "0",
            "1e309",
            "9" * 5000,
            "0b2a5a0e-0000-4000-8000-000000000001\n",
            "0b2a5a0e-0000-4000-8000-000000000001",
            "AQAAAA",
            "AQAAE0mUaEkSRZEGAA",
            "<script>alert(1)</script>",
            "\x00\x01\ud7ff",
            "%00",
            "json",
            "xml",
            "jsonp",
            "recordings releasegroups compress",
            "2",
        ]
    ),
)


def _names(schema: dict[str, object], path: str) -> list[str]:
    item = schema["paths"][path]  # type: ignore[index]
    found: set[str] = set()
    for operation in item.values():
        for parameter in operation.get("parameters", []):
            found.add(parameter["name"])
    return sorted(found)


def _fields(names: list[str]) -> st.SearchStrategy[list[tuple[str, str]]]:
    name = st.one_of(
        st.sampled_from(names or ["x"]),
        st.builds(lambda n, i: f"{n}.{i}", st.sampled_from(names or ["x"]), st.integers(-1, 30)),
        st.text(max_size=10),
    )
    return st.lists(st.tuples(name, NASTY), max_size=12)


def _check(response: httpx.Response, fields: list[tuple[str, str]]) -> None:
    assert response.status_code < 500, (response.status_code, fields, response.text[:300])
    if response.status_code < 400:
        return
    kind = response.headers.get("content-type", "")
    if kind.startswith("application/json"):
        body = json.loads(response.content)
        assert body["status"] == "error"
        assert isinstance(body["error"]["code"], int) and body["error"]["message"]
    elif "xml" in kind:
        assert b"<status>error</status>" in response.content
    elif "javascript" in kind:
        assert b'"status": "error"' in response.content
    else:  # a body that is not a form at all: plain text, as the original answers it
        assert response.status_code in (400, 413, 415), response.text[:200]


def fuzz(client: httpx.Client, schema: dict[str, object], path: str) -> int:
    """Sends hypothesis' requests to ``path`` (over HTTP, from a thread); returns how many."""
    names = _names(schema, path)
    sent = 0

    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(fields=_fields(names), as_query=st.booleans())
    def check(fields: list[tuple[str, str]], as_query: bool) -> None:
        nonlocal sent
        if as_query:
            response = client.get(path, params=fields)
        else:
            body = urlencode(fields).encode()
            kind = {"content-type": "application/x-www-form-urlencoded"}
            response = client.post(path, content=body, headers=kind)
        sent += 1
        _check(response, fields)

    check()
    return sent


async def test_no_input_makes_an_endpoint_fail(world: World) -> None:
    schema = (await world.client.get("/openapi.json")).json()
    paths = [p for p in schema["paths"] if not p.startswith("/_") and p != "/metrics"]
    assert len(paths) >= 10
    with httpx.Client(base_url=world.url, timeout=30) as client:
        for path in paths:
            assert await asyncio.to_thread(fuzz, client, schema, path) >= 20
