"""What every endpoint shares: methods, bodies (plain, gzip, multipart), limits, paths, CORS,
formats and the error envelope, seen through the key-less ``list_by_puid`` endpoint."""

from __future__ import annotations

import gzip

import httpx
import pytest

PUID = "a0c3a3b2-4b5e-4e2f-8a0b-9f1e2d3c4b5a"
PATH = "/v2/track/list_by_puid"
OK_JSON = b'{"status": "ok", "tracks": []}'
OK_XML = (
    b"<?xml version='1.0' encoding='UTF-8'?>\n<response><status>ok</status><tracks /></response>"
)
TOO_LARGE = b'{"error": {"code": 19, "message": "request too large"}, "status": "error"}'
FORM = {"content-type": "application/x-www-form-urlencoded"}


async def test_get_answers_sorted_json_with_cors(client: httpx.AsyncClient) -> None:
    response = await client.get(PATH, params={"puid": PUID})
    assert response.status_code == 200
    assert response.content == OK_JSON
    assert response.headers["content-type"] == "application/json; charset=UTF-8"
    assert response.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
async def test_any_method_reads_query_and_form(client: httpx.AsyncClient, method: str) -> None:
    response = await client.request(method, PATH, content=f"puid={PUID}", headers=FORM)
    assert (response.status_code, response.content) == (200, OK_JSON)


async def test_gzip_body(client: httpx.AsyncClient) -> None:
    body = gzip.compress(f"format=xml&puid={PUID}".encode())
    headers = {**FORM, "content-encoding": "GZIP"}
    response = await client.post(PATH, content=body, headers=headers)
    assert (response.status_code, response.content) == (200, OK_XML)
    assert response.headers["content-type"] == "text/xml; charset=UTF-8"


async def test_multipart_body(client: httpx.AsyncClient) -> None:
    response = await client.post(PATH, data={"puid": PUID}, files={"x": ("x", b"1")})
    assert (response.status_code, response.content) == (200, OK_JSON)


async def test_double_slashes_and_trailing_slash(client: httpx.AsyncClient) -> None:
    response = await client.get(f"http://test//v2//track/list_by_puid/?puid={PUID}")
    assert (response.status_code, response.content) == (200, OK_JSON)


async def test_unknown_path_is_html_404_with_cors(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/nope")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert b"<title>404 Not Found</title>" in response.content
    assert response.headers["access-control-allow-origin"] == "*"


async def test_jsonp_with_valid_and_invalid_callback(client: httpx.AsyncClient) -> None:
    good = await client.get(PATH, params={"puid": PUID, "format": "jsonp", "jsoncallback": "f"})
    assert good.content == b"f(" + OK_JSON + b")"
    assert good.headers["content-type"] == "application/javascript; charset=UTF-8"
    bad = await client.get(PATH, params={"puid": PUID, "format": "jsonp", "jsoncallback": "a b"})
    assert bad.content == b"jsonAcoustidApi(" + OK_JSON + b")"


async def test_unknown_format_says_json(client: httpx.AsyncClient) -> None:
    response = await client.get(PATH, params={"puid": PUID, "format": "yaml"})
    assert response.status_code == 400
    assert response.content == (
        b'{"error": {"code": 1, "message": "unknown format \\"json\\""}, "status": "error"}'
    )


async def test_errors_in_the_requested_format(client: httpx.AsyncClient) -> None:
    response = await client.get(PATH, params={"format": "xml", "puid": "nope"})
    assert response.status_code == 400
    assert response.content == (
        b"<?xml version='1.0' encoding='UTF-8'?>\n<response><error><code>7</code>"
        b'<message>parameter "puid" is not a valid UUID</message></error>'
        b"<status>error</status></response>"
    )
    missing = await client.get(PATH)
    assert missing.json() == {
        "status": "error",
        "error": {"code": 2, "message": 'missing required parameter "puid"'},
    }


async def test_oversized_plain_body_is_413(client: httpx.AsyncClient) -> None:
    body = b"puid=" + b"x" * (1 << 20)
    response = await client.post(PATH, content=body, headers=FORM)
    assert (response.status_code, response.content) == (413, TOO_LARGE)


async def test_gzip_bomb_is_413(client: httpx.AsyncClient) -> None:
    bomb = gzip.compress(b"puid=" + b"0" * (64 << 20))
    assert len(bomb) < 100_000
    headers = {**FORM, "content-encoding": "gzip"}
    response = await client.post(PATH, content=bomb, headers=headers)
    assert (response.status_code, response.content) == (413, TOO_LARGE)


async def test_too_many_form_parts_is_413(client: httpx.AsyncClient) -> None:
    body = "&".join(f"x{i}=1" for i in range(1001)) + f"&puid={PUID}"
    response = await client.post(PATH, content=body, headers=FORM)
    assert (response.status_code, response.content) == (413, TOO_LARGE)


async def test_broken_gzip_is_plain_400(client: httpx.AsyncClient) -> None:
    headers = {**FORM, "content-encoding": "gzip"}
    response = await client.post(PATH, content=b"not gzip at all", headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
