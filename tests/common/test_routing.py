"""A service's routing table: what the dispatcher answers, what it leaves to FastAPI, and
what ``/openapi.json`` says, seen through HTTP as a client sees them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from libs.common.routing import Dispatcher, Route, document, path_parameters
from tests.conftest import Stamp

pytestmark = pytest.mark.quick


async def echo(request: Request) -> Response:
    return JSONResponse(
        {"path": request.scope["route"].path, "method": request.method, **request.path_params}
    )


OPERATION = {"summary": "Search", "responses": {"200": {"description": "ok"}}}
ROUTES = [
    Route("/v2/lookup", echo, operations={"get": OPERATION, "post": OPERATION}),
    Route("/{index}/_search", echo, frozenset({"POST"}), {"post": OPERATION}),
    Route("/hidden", echo, frozenset({"GET"})),
]


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()

    @app.get("/{anything}/_search")
    async def fastapi_route(anything: str) -> Response:
        return PlainTextResponse(f"fastapi {anything}")

    app.add_middleware(Dispatcher, routes=ROUTES)
    app.add_middleware(Stamp)
    document(app, ROUTES)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "OPTIONS"])
async def test_a_route_without_methods_answers_every_method(client, method):
    resp = await client.request(method, "/v2/lookup")
    assert resp.json() == {"path": "/v2/lookup", "method": method}
    assert resp.headers["x-stamp"] == "1"


async def test_templates_fill_path_params_and_label_the_route(client):
    resp = await client.post("/main/_search")
    assert resp.json() == {"path": "/{index}/_search", "method": "POST", "index": "main"}
    assert (await client.post("/a/b/_search")).status_code == 404  # one segment per name


async def test_other_methods_and_paths_reach_fastapi(client):
    resp = await client.get("/main/_search")
    assert resp.text == "fastapi main" and resp.headers["x-stamp"] == "1"
    assert (await client.post("/hidden")).status_code == 404
    assert (await client.get("/nothing")).status_code == 404


async def test_the_schema_lists_documented_routes_beside_fastapis(client):
    schema = (await client.get("/openapi.json")).json()
    assert schema["paths"]["/v2/lookup"] == {"get": OPERATION, "post": OPERATION}
    assert schema["paths"]["/{index}/_search"]["post"] == OPERATION
    assert "get" in schema["paths"]["/{anything}/_search"]
    assert "/hidden" not in schema["paths"]


def test_path_parameters_are_named_from_the_template():
    assert [p["name"] for p in path_parameters("/{index}/{id}")] == ["index", "id"]
    assert path_parameters("/v2/lookup") == []
