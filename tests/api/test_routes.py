"""Each endpoint is registered once, in ``routes.ENDPOINTS``: that table answers the requests
and writes the schema, and middleware added the public way applies to it."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from libs.common.settings import Settings
from services.api.routes import ENDPOINTS
from tests.api.conftest import running
from tests.conftest import Stamp


async def test_the_schema_documents_every_endpoint_and_nothing_else_routes_them(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    paths = (await client.get("/openapi.json")).json()["paths"]
    for endpoint in ENDPOINTS:
        assert set(paths[endpoint.path]) == {"get", "post"}, endpoint.path
        assert paths[endpoint.path]["get"]["summary"] == endpoint.summary
    registered = {getattr(route, "path", None) for route in app.routes}
    assert registered.isdisjoint(endpoint.path for endpoint in ENDPOINTS)


async def test_a_middleware_added_to_the_app_sees_endpoint_answers(settings_api: Settings) -> None:
    async with running(settings_api, lambda app: app.add_middleware(Stamp)) as (_, client):
        resp = await client.post("/v2/lookup", data={"format": "json"})
    assert resp.status_code == 400 and resp.json()["error"]["code"] == 2
    assert resp.headers["x-stamp"] == "1"
    assert resp.headers["access-control-allow-origin"] == "*"
