"""Every service's health routes against the real servers, and with each one unreachable."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

from libs.common.settings import Settings
from services.api.app import create_app as api_app
from services.web.app import create_app as web_app
from services.worker.app import create_app as worker_app
from services.worker.cron import create_app as cron_app
from tests.conftest import closed_port_url

AppFactory = Callable[[Settings], FastAPI]

SERVICES: dict[str, tuple[AppFactory, set[str]]] = {
    "api": (api_app, {"postgres", "redis", "nats"}),
    "web": (web_app, {"postgres", "redis"}),
    "worker": (worker_app, {"postgres", "nats"}),
    "cron": (cron_app, {"postgres", "redis", "nats"}),
}


def _failing(response: httpx.Response) -> set[str]:
    return {line.split(":")[0].split("-")[0] for line in response.text.splitlines()[1:]}


async def _get(app: FastAPI, broken: str | None, *paths: str) -> list[httpx.Response]:
    """NATS connects in the background, so a check may wait until only ``broken`` fails."""

    def settled(response: httpx.Response) -> bool:
        if broken is None:
            return response.status_code == 200
        return _failing(response) == {broken}

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            responses = []
            for path in paths:
                for _ in range(50):
                    response = await client.get(path)
                    if path == "/_health_docker" or settled(response):
                        break
                    await asyncio.sleep(0.1)
                responses.append(response)
            return responses


def _broken(settings: Settings, dependency: str) -> Settings:
    if dependency == "postgres":
        url = closed_port_url("postgresql+asyncpg") + "/acoustid"
        changes = {
            "app_database_url": url,
            "fingerprint_database_url": url,
            "ingest_database_url": url,
        }
    elif dependency == "redis":
        changes = {"redis_url": closed_port_url("redis")}
    else:
        changes = {"nats_servers": [closed_port_url("nats")]}
    return settings.model_copy(update=changes)


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_healthy_when_every_dependency_answers(
    service: str, migrated: Settings, nats_streams: Settings
) -> None:
    factory, _ = SERVICES[service]
    health, health_ro, docker = await _get(
        factory(migrated), None, "/_health", "/_health_ro", "/_health_docker"
    )
    assert (health.status_code, health.text) == (200, "ok")
    assert (health_ro.status_code, health_ro.text) == (200, "ok")
    assert (docker.status_code, docker.text) == (200, "ok")


CASES = [(s, dep) for s, (_, deps) in sorted(SERVICES.items()) for dep in sorted(deps)]


@pytest.mark.parametrize(("service", "dependency"), CASES)
async def test_unreachable_dependency_is_named_with_503(
    service: str, dependency: str, migrated: Settings, nats_streams: Settings
) -> None:
    factory, _ = SERVICES[service]
    app = factory(_broken(migrated, dependency))
    paths = ("/_health", "/_health_ro", "/_health_docker")
    health, health_ro, docker = await _get(app, dependency, *paths)
    for response in (health, health_ro):
        assert response.status_code == 503
        assert response.text.startswith("unhealthy\n")
        assert _failing(response) == {dependency}, response.text
    assert (docker.status_code, docker.text) == (200, "ok")


async def test_metrics_count_requests_by_route_and_requests_carry_an_id(
    migrated: Settings, nats_streams: Settings
) -> None:
    app = api_app(migrated)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            first = await client.get("/_health_docker", headers={"X-Request-Id": "abc123"})
            second = await client.get("/_health_docker")
            metrics = await client.get("/metrics")
    assert first.headers["x-request-id"] == "abc123"
    assert len(second.headers["x-request-id"]) == 32
    assert metrics.status_code == 200
    assert (
        'http_requests_total{method="GET",route="/_health_docker",service="api",status="200"}'
        in metrics.text
    )
