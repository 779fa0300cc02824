"""``ACOUSTID_API_PROCESSES``: several API processes on one port, as one service."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from libs.common.settings import Settings
from tests.api.conftest import Keys, api_settings
from tests.conftest import free_port
from tests.processes import ServiceProcess


def _children(pid: int) -> set[int]:
    """The worker processes (multiprocessing's resource tracker is a child too)."""
    out = subprocess.run(
        ["pgrep", "-P", str(pid), "-f", "spawn_main"], capture_output=True, text=True
    ).stdout
    return {int(p) for p in out.split()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _answered(metrics: str, route: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(metrics)
        if family.name == "http_requests"
        for sample in family.samples
        if sample.name == "http_requests_total" and sample.labels.get("route") == route
    )


async def _wait_for_workers(pid: int, count: int, other_than: set[int]) -> set[int]:
    deadline = time.monotonic() + 30
    while True:
        children = _children(pid)
        if len(children) == count and not children & other_than:
            return children
        assert time.monotonic() < deadline, f"workers of {pid}: {children}"
        await asyncio.sleep(0.2)


async def test_processes_share_the_port_sum_their_metrics_and_are_replaced(
    settings_api: Settings, keys: Keys, tmp_path: Path
) -> None:
    port = free_port()
    settings = api_settings(settings_api, api_port=port, api_processes=2)
    service = ServiceProcess("api", settings, port, tmp_path / "api.log").start()
    assert service.proc is not None
    try:
        workers = await _wait_for_workers(service.proc.pid, 2, set())
        async with httpx.AsyncClient(base_url=service.url) as client:
            for _ in range(40):  # a connection each, so both processes take some
                response = await client.get(
                    "/v2/submission_status",
                    params={"client": keys.client, "id": "1"},
                    headers={"connection": "close"},
                )
                assert response.status_code == 200
            metrics = (await client.get("/metrics")).text
            assert _answered(metrics, "/v2/submission_status") == 40

            victim = min(workers)
            os.kill(victim, signal.SIGKILL)
            await _wait_for_workers(service.proc.pid, 2, {victim})
            response = await client.get(
                "/v2/submission_status", params={"client": keys.client, "id": "1"}
            )
            assert response.json()["status"] == "ok"
        workers = _children(service.proc.pid)
    finally:
        service.stop()
    assert service.proc.returncode == 0
    assert not [pid for pid in workers if _alive(pid)]
