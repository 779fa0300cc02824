"""``_msearch``: many ``_search`` queries in one request, same answers, same errors."""

from __future__ import annotations

import msgpack
import pytest

from tests.index.conftest import MSGPACK, insert_many, terms


async def test_msearch_json_answers_each_query_like_search(client):
    await insert_many(client, range(1, 21))
    queries = [
        {"query": terms(7)},
        {"query": terms(3) + terms(4), "limit": 1},
        {"query": terms(999)},
        {"query": terms(5)[:60], "min_score": 61},
    ]
    resp = await client.post("/main/_msearch", json={"queries": queries, "timeout": 1000})
    assert resp.status_code == 200, resp.text
    answers = resp.json()["responses"]
    singles = [(await client.post("/main/_search", json=q)).json() for q in queries]
    assert answers == singles
    assert answers[0] == {"results": [{"id": 7, "score": 120}]}
    assert answers[1] == {"results": [{"id": 3, "score": 120}]}
    assert answers[2] == answers[3] == {"results": []}


async def test_msearch_msgpack_uses_first_letters(client):
    await insert_many(client, [9, 10])
    body = msgpack.packb({"q": [{"q": terms(9), "l": 5}, {"q": terms(10)}], "t": 500})
    resp = await client.post("/main/_msearch", content=body, headers={"content-type": MSGPACK})
    assert resp.status_code == 200 and resp.headers["content-type"] == MSGPACK
    assert msgpack.unpackb(resp.content) == {
        "r": [{"r": [{"i": 9, "s": 120}]}, {"r": [{"i": 10, "s": 120}]}]
    }
    resp = await client.post(
        "/main/_msearch",
        content=body,
        headers={"content-type": MSGPACK, "accept": "application/json"},
    )
    assert resp.json() == {
        "responses": [
            {"results": [{"id": 9, "score": 120}]},
            {"results": [{"id": 10, "score": 120}]},
        ]
    }


async def test_msearch_of_no_queries_answers_none(client):
    resp = await client.post("/main/_msearch", json={"queries": []})
    assert resp.status_code == 200 and resp.json() == {"responses": []}


@pytest.mark.parametrize(
    ("kwargs", "status", "error"),
    [
        ({"json": {}}, 400, "BadRequest"),
        ({"json": {"queries": {"query": [1]}}}, 400, "BadRequest"),
        ({"json": {"queries": [[1, 2]]}}, 400, "BadRequest"),
        ({"json": {"queries": [{"query": [1]}, {"query": [1, -1]}]}}, 400, "BadRequest"),
        ({"json": {"queries": [{"query": [2**32]}]}}, 400, "BadRequest"),
        ({"json": {"queries": [{"query": "1,2"}]}}, 400, "BadRequest"),
        ({"json": {"queries": [{"query": list(range(5000))}]}}, 400, "BadRequest"),
        ({"json": {"queries": [{"query": [1], "limit": "x"}]}}, 400, "BadRequest"),
        ({"json": {"queries": [{"query": [1], "score_pct": 101}]}}, 400, "BadRequest"),
        ({"json": {"queries": [{"query": [1]}], "timeout": -1}}, 400, "BadRequest"),
        ({"json": {"queries": [{"query": [1]}] * 1001}}, 400, "BadRequest"),
        (
            {
                "content": msgpack.packb({"q": [{"q": [1, -1]}]}),
                "headers": {"content-type": MSGPACK},
            },
            400,
            "BadRequest",
        ),
        ({"content": b"x", "headers": {"content-type": "text/plain"}}, 415, "UnsupportedMediaType"),
    ],
)
async def test_msearch_bad_input_is_refused(client, kwargs, status, error):
    resp = await client.post("/main/_msearch", **kwargs)
    assert resp.status_code == status, resp.text
    if resp.headers["content-type"] == MSGPACK:
        assert msgpack.unpackb(resp.content) == {"error": error}
    else:
        assert resp.json() == {"error": error}


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [("/other/_msearch", 404, "IndexNotFound"), ("/bad!name/_msearch", 400, "InvalidIndexName")],
)
async def test_msearch_names_the_index_errors(client, path, status, error):
    resp = await client.post(path, json={"queries": [{"query": [1]}]})
    assert resp.status_code == status and resp.json() == {"error": error}
