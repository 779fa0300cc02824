"""Slow or lying clients cannot hold a connection: a real API process closes a request whose
headers or body do not arrive in time, logs it as one line, and counts the query string's
fields against the documented limit."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from libs.common.settings import Settings
from tests.api.conftest import Keys, api_settings
from tests.conftest import free_port
from tests.processes import ServiceProcess

DEADLINE = 1.0
PATIENCE = 15.0
"""How long the test waits for the close; the deadline is a second, the rest is slack for a
loaded machine."""


@pytest.fixture(scope="module")
def slow_api(
    settings_api: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    port = free_port()
    settings = api_settings(
        settings_api, api_port=port, http_header_timeout=DEADLINE, http_body_timeout=DEADLINE
    )
    log = tmp_path_factory.mktemp("slow") / "api.log"
    process = ServiceProcess("api", settings, port, log).start()
    yield process
    process.stop()


def _closed_after(port: int, sent: bytes) -> tuple[bytes, float]:
    """What the server answered before closing, and after how long."""
    with socket.create_connection(("127.0.0.1", port), timeout=PATIENCE) as sock:
        started = time.monotonic()
        sock.sendall(sent)
        received = b""
        while chunk := sock.recv(4096):
            received += chunk
        return received, time.monotonic() - started


def test_a_body_shorter_than_its_content_length_is_cut_off(slow_api: ServiceProcess) -> None:
    port = int(slow_api.url.rsplit(":", 1)[1])
    request = (
        b"POST /v2/lookup HTTP/1.1\r\nHost: api\r\nContent-Type: application/x-www-form-urlencoded"
        b"\r\nContent-Length: 5000\r\n\r\nclient=abc&duration=1"
    )
    answer, seconds = _closed_after(port, request)
    assert seconds < PATIENCE
    assert b" 200 " not in answer
    log = slow_api.log.read_text()
    assert "request body too slow" in log
    assert "Traceback" not in log


def test_headers_that_never_end_are_cut_off(slow_api: ServiceProcess) -> None:
    port = int(slow_api.url.rsplit(":", 1)[1])
    answer, seconds = _closed_after(port, b"GET /v2/lookup HTTP/1.1\r\nHost: api\r\nX-Slow: a")
    assert (answer, seconds < PATIENCE) == (b"", True)
    assert "request headers too slow" in slow_api.log.read_text()


def test_a_connection_that_sends_nothing_is_closed(slow_api: ServiceProcess) -> None:
    port = int(slow_api.url.rsplit(":", 1)[1])
    answer, seconds = _closed_after(port, b"")
    assert (answer, seconds < PATIENCE) == (b"", True)


def test_a_prompt_client_is_answered_and_kept_alive(slow_api: ServiceProcess, keys: Keys) -> None:
    with httpx.Client(base_url=slow_api.url) as client:
        for _ in range(2):
            answer = client.get("/v2/submission_status", params={"client": keys.client, "id": 1})
            assert answer.status_code == 200


def test_the_field_limit_holds_for_the_query_string(slow_api: ServiceProcess) -> None:
    query = "&".join(f"f{n}=x" for n in range(1001))
    answer = httpx.get(f"{slow_api.url}/v2/lookup?{query}")
    assert answer.status_code == 413
    assert answer.json()["error"] == {"code": 19, "message": "request too large"}
    ok = httpx.get(f"{slow_api.url}/v2/lookup?" + "&".join(f"f{n}=x" for n in range(999)))
    assert ok.json()["error"]["code"] == 2  # no client key: the fields were read
