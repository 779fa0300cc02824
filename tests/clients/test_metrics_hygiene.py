"""Every service's ``/metrics`` passes ``promtool check metrics`` (Debian's prometheus package)."""

from __future__ import annotations

import shutil
import subprocess

import httpx
import pytest

from tests.clients.conftest import SERVICES, Stack


def test_keyless_endpoints_are_labelled_app_none(stack: Stack) -> None:
    """A request without a key counts under ``app="none"``, the same label everywhere."""
    httpx.post(f"{stack.api}/v2/user/lookup", data={"user": stack.user_key}, timeout=10)
    httpx.post(f"{stack.api}/v2/lookup", data={"client": "no-such-key"}, timeout=10)
    text = httpx.get(f"{stack.api}/metrics", timeout=10).text
    requests = [line for line in text.splitlines() if line.startswith("api_requests_total{")]
    assert any('app="none"' in line for line in requests), requests
    assert not any('app="None"' in line or 'app=""' in line for line in text.splitlines())


@pytest.mark.parametrize("service", SERVICES)
def test_metrics_pass_promtool(stack: Stack, service: str) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: apt-get install prometheus (see .ci/apt-packages-*)"
    httpx.post(f"{stack.api}/v2/lookup", data={"client": "x"}, timeout=10)  # some labels in use
    response = httpx.get(f"{stack.processes[service].url}/metrics", timeout=10)
    assert response.status_code == 200
    check = subprocess.run(
        [promtool, "check", "metrics"], input=response.text, capture_output=True, text=True
    )
    assert (check.returncode, check.stdout + check.stderr) == (0, "")
