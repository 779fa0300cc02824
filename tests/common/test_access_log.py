"""The access log line every HTTP service writes, and the setting that samples it."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from fastapi import FastAPI

from libs.common import access_log
from libs.common.logging import JsonFormatter
from libs.common.service import build_resources, create_service_app
from libs.common.settings import Settings


def service(rate: float) -> FastAPI:
    settings = Settings(access_log_sample_rate=rate)
    app = create_service_app(
        build_resources(settings, "test", [], uses_redis=False, uses_nats=False),
        title="test",
        description="",
    )

    @app.get("/hello")
    async def hello() -> dict[str, str]:
        access_log.note_application(7)
        return {"hello": "world"}

    return app


async def get(app: FastAPI, path: str, **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(path, headers=headers)


def lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    formatter = JsonFormatter("test")
    records = [r for r in caplog.records if r.name == "access"]
    return [json.loads(formatter.format(r)) for r in records]


async def test_one_json_line_per_request(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="access")
    response = await get(service(1.0), "/hello?client=secret-key", **{"User-Agent": "Tagger/1"})
    (line,) = lines(caplog)
    assert line["message"] == "GET /hello 200"
    assert line["request_id"] == response.headers["x-request-id"]
    assert (line["method"], line["path"], line["status"]) == ("GET", "/hello", 200)
    assert (line["app_id"], line["user_agent"]) == (7, "Tagger/1")
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert "secret-key" not in json.dumps(line)


async def test_unknown_paths_and_failing_probes_are_logged_healthy_probes_not(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="access")
    app = service(1.0)
    await get(app, "/nowhere")
    await get(app, "/_health_docker")
    await get(app, "/metrics")
    assert [(line["path"], line["status"], line["app_id"]) for line in lines(caplog)] == [
        ("/nowhere", 404, None)
    ]


async def test_rate_zero_turns_it_off_and_a_fraction_samples(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="access")
    off = service(0.0)
    for _ in range(20):
        await get(off, "/hello")
    assert lines(caplog) == []
    sampled = service(0.5)
    for _ in range(200):
        await get(sampled, "/hello")
    assert 40 < len(lines(caplog)) < 160


def test_the_rate_must_be_a_share() -> None:
    with pytest.raises(ValueError, match="access_log_sample_rate"):
        Settings(access_log_sample_rate=1.5)
