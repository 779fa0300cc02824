"""fpindex's HTTP API as a client sees it: routes, encodings, defaults and error names."""

from __future__ import annotations

import msgpack
import numpy as np
import pytest

MSGPACK = "application/vnd.msgpack"


def terms(seed: int, n: int = 120) -> list[int]:
    rng = np.random.default_rng(seed)
    return (rng.choice(2**28, n, replace=False).astype(np.uint32) << np.uint32(4)).tolist()


async def insert_many(client, ids) -> int:
    changes = [{"insert": {"id": i, "hashes": terms(i)}} for i in ids]
    resp = await client.post("/main/_update", json={"changes": changes})
    assert resp.status_code == 200, resp.text
    return resp.json()["version"]


async def test_update_then_search_json(client):
    version = await insert_many(client, range(1, 51))
    assert version > 0
    resp = await client.post("/main/_search", json={"query": terms(7)})
    assert resp.status_code == 200
    assert resp.json() == {"results": [{"id": 7, "score": 120}]}
    resp = await client.get("/main")
    body = resp.json()
    assert body["version"] == version
    assert body["stats"]["min_doc_id"] == 1 and body["stats"]["max_doc_id"] == 50
    assert (await client.get("/main/7")).json() == {"version": version}


async def test_msgpack_bodies_use_first_letters(client):
    body = msgpack.packb({"c": [{"i": {"i": 9, "h": terms(9)}}], "m": {"max_document_id": "9"}})
    resp = await client.post("/main/_update", content=body, headers={"content-type": MSGPACK})
    assert resp.status_code == 200 and resp.headers["content-type"] == MSGPACK
    assert set(msgpack.unpackb(resp.content)) == {"v"}
    resp = await client.post(
        "/main/_search",
        content=msgpack.packb({"q": terms(9), "l": 5}),
        headers={"content-type": MSGPACK},
    )
    assert msgpack.unpackb(resp.content) == {"r": [{"i": 9, "s": 120}]}
    resp = await client.post(
        "/main/_search",
        content=msgpack.packb({"q": terms(9)}),
        headers={"content-type": MSGPACK, "accept": "application/json"},
    )
    assert resp.json() == {"results": [{"id": 9, "score": 120}]}
    assert (await client.get("/main")).json()["metadata"] == {"max_document_id": "9"}


async def test_put_get_delete_document(client):
    assert (await client.put("/main/77", json={"hashes": terms(77)})).json() == {}
    assert (await client.get("/main/77")).status_code == 200
    assert (await client.delete("/main/77")).status_code == 200
    resp = await client.get("/main/77")
    assert resp.status_code == 404 and resp.json() == {"error": "FingerprintNotFound"}
    resp = await client.post("/main/_search", json={"query": terms(77)})
    assert resp.json() == {"results": []}


async def test_min_score_floor_and_limit_defaults(client):
    await insert_many(client, range(1, 31))
    shared = terms(1)[:4]
    query = shared + terms(999)[:96]
    resp = await client.post("/main/_search", json={"query": query})
    assert resp.json() == {"results": []}  # 4 hits, floor (100 + 19) // 20 = 5
    resp = await client.post("/main/_search", json={"query": query, "min_score": 1})
    assert resp.json() == {"results": [{"id": 1, "score": 4}]}
    resp = await client.post("/main/_search", json={"query": terms(2) + terms(3), "limit": 1})
    assert resp.json() == {"results": [{"id": 2, "score": 120}]}
    resp = await client.post("/main/_search", json={"query": terms(2) + terms(3)})
    assert resp.json()["results"] == [{"id": 2, "score": 120}, {"id": 3, "score": 120}]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "error"),
    [
        (
            "post",
            "/main/_search",
            {"content": b"{nope", "headers": {"content-type": "application/json"}},
            400,
            "BadRequest",
        ),
        ("post", "/main/_search", {"json": {"query": [1, -1]}}, 400, "BadRequest"),
        ("post", "/main/_search", {"json": {"query": [2**32]}}, 400, "BadRequest"),
        ("post", "/main/_search", {"json": {"query": "1,2"}}, 400, "BadRequest"),
        ("post", "/main/_search", {"json": {"query": list(range(5000))}}, 400, "BadRequest"),
        ("post", "/main/_search", {"json": {"query": [1], "limit": "x"}}, 400, "BadRequest"),
        (
            "post",
            "/main/_search",
            {"content": b"x", "headers": {"content-type": "text/plain"}},
            415,
            "UnsupportedMediaType",
        ),
        ("post", "/other/_search", {"json": {"query": [1]}}, 404, "IndexNotFound"),
        ("post", "/bad!name/_search", {"json": {"query": [1]}}, 400, "InvalidIndexName"),
        ("get", "/other", {}, 404, "IndexNotFound"),
        ("put", "/main/0", {"json": {"hashes": [1]}}, 400, "InvalidFingerprintId"),
        ("put", "/main/4294967296", {"json": {"hashes": [1]}}, 400, "InvalidFingerprintId"),
        ("put", "/main/5", {"json": {"hashes": [1, 2**32]}}, 400, "BadRequest"),
        ("get", "/main/abc", {}, 400, "InvalidFingerprintId"),
        ("get", "/main/%C2%B2", {}, 400, "InvalidFingerprintId"),
        (
            "post",
            "/main/_update",
            {"json": {"changes": [{"insert": {"id": 0, "hashes": [1]}}]}},
            400,
            "InvalidFingerprintId",
        ),
        (
            "post",
            "/main/_update",
            {"json": {"changes": [{"upsert": {"id": 1}}]}},
            400,
            "BadRequest",
        ),
        ("post", "/main/_update", {"json": {"changes": "x"}}, 400, "BadRequest"),
        ("put", "/main", {"json": {"expect_does_not_exist": True}}, 409, "IndexAlreadyExists"),
        ("delete", "/main", {}, 403, "IndexDeleteNotAllowed"),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(
    client, method, path, kwargs, status, error
):
    before = (await client.get("/main")).json()
    resp = await getattr(client, method)(path, **kwargs)
    assert resp.status_code == status, resp.text
    assert resp.json() == {"error": error}
    assert (await client.get("/main")).json() == before


async def test_expected_version_conflict(client):
    version = await insert_many(client, [1])
    ok = await client.post(
        "/main/_update", json={"changes": [{"delete": {"id": 1}}], "expected_version": version}
    )
    assert ok.status_code == 200
    stale = await client.post(
        "/main/_update", json={"changes": [{"delete": {"id": 1}}], "expected_version": version}
    )
    assert stale.status_code == 409 and stale.json() == {"error": "VersionMismatch"}


async def test_health_status_metrics(client):
    await insert_many(client, [3])
    await client.post("/main/_search", json={"query": terms(3)})
    assert (await client.get("/main/_health")).text == "OK"
    assert (await client.get("/_health")).status_code == 200
    assert (await client.get("/_health_docker")).status_code == 200
    status = (await client.get("/main/_status")).json()
    assert set(status) == {"generation", "version", "file_version"}
    text = (await client.get("/metrics")).text
    for name in (
        "fpindex_search_duration_seconds",
        "fpindex_segments",
        "fpindex_docs",
        "fpindex_searches_total",
    ):
        assert name in text
    assert (await client.get("/_metrics")).text.count("fpindex_version") >= 1


async def test_searches_skip_fastapi_routing_but_not_its_answers(client):
    """POST /main/_search and _msearch are dispatched directly; their errors, metrics labels
    and request ids are the same as every other route's, and other methods and index names
    still reach FastAPI's router."""
    await insert_many(client, [5])
    resp = await client.post(
        "/main/_search", json={"query": terms(5)}, headers={"x-request-id": "idx-1"}
    )
    assert resp.json() == {"results": [{"id": 5, "score": 120}]}
    assert resp.headers["x-request-id"] == "idx-1"
    resp = await client.post("/main/_msearch", json={"queries": [{"query": "x"}]})
    assert (resp.status_code, resp.json()) == (400, {"error": "BadRequest"})
    resp = await client.post("/other/_search", json={"query": terms(5)})
    assert (resp.status_code, resp.json()) == (404, {"error": "IndexNotFound"})
    resp = await client.get("/main/_search")  # fpindex's GET /<index>/<id> route
    assert (resp.status_code, resp.json()) == (400, {"error": "InvalidFingerprintId"})
    text = (await client.get("/metrics")).text
    assert 'route="/{index}/_search",service="index",status="200"' in text
    assert 'route="/{index}/_msearch",service="index",status="400"' in text


async def test_the_schema_lists_the_index_routes_from_their_one_table(client):
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert set(paths["/{index}/_search"]) == {"post"}
    assert set(paths["/{index}/_msearch"]) == {"post"}
    assert set(paths["/{index}/{id}"]) == {"get", "put", "delete"}
    assert set(paths["/{index}"]) == {"get", "put", "delete"}
    assert [p["name"] for p in paths["/{index}/{id}"]["get"]["parameters"]] == ["index", "id"]
