"""A service with ``ACOUSTID_SENTRY_DSN`` set reports its errors: a real API process, made to
fail on every request, sends the event to a Sentry endpoint this test runs."""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from libs.chromaprint_cy import encode_fingerprint
from libs.common import migrations
from libs.common.sentry import init_sentry
from libs.common.settings import Settings
from tests.conftest import free_port
from tests.processes import ServiceProcess


class Sink(ThreadingHTTPServer):
    """Sentry's ingest endpoint as far as sentry-sdk can tell: it keeps every envelope item."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.items: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def events(self) -> list[dict[str, Any]]:
        return [payload for header, payload in self.items if header.get("type") == "event"]


class _Handler(BaseHTTPRequestHandler):
    server: Sink

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        lines = body.split(b"\n")
        # Envelope: a header line, then (item header, item payload) pairs.
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if header.strip():
                self.server.items.append((json.loads(header), json.loads(payload or b"{}")))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.fixture
def unmigrated_app_db(migrated: Settings) -> Iterator[str]:
    """An app database without tables: every API key lookup fails with a database error."""
    url = migrated.app_database_url + "_sentry"
    asyncio.run(migrations.drop_database(url))
    asyncio.run(migrations.create_database(url))
    yield url
    asyncio.run(migrations.drop_database(url))


def test_a_forced_error_is_reported_with_environment_and_service(
    migrated: Settings, unmigrated_app_db: str, sink: Sink, tmp_path: Path
) -> None:
    port = free_port()
    settings = migrated.model_copy(
        update={
            "app_database_url": unmigrated_app_db,
            "api_port": port,
            "sentry_dsn": f"http://publickey@127.0.0.1:{sink.server_address[1]}/42",
            "sentry_environment": "compose-test",
            "sentry_sample_rate": 1.0,
        }
    )
    api = ServiceProcess("api", settings, port, tmp_path / "api.log").start()
    try:
        items = np.random.default_rng(7).integers(0, 2**32, 900, dtype=np.uint32)
        resp = httpx.post(
            f"{api.url}/v2/lookup",
            data={"client": "somekey", "duration": "120", "fingerprint": encode_fingerprint(items)},
        )
        assert resp.status_code == 500
        assert resp.json()["error"]["code"] == 5
        deadline = time.monotonic() + 20
        while not sink.events() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        api.stop()
    assert sink.events(), f"no event reached the sink; log:\n{(tmp_path / 'api.log').read_text()}"
    event = sink.events()[0]
    assert event["environment"] == "compose-test"
    assert event["tags"]["service"] == "api"
    assert event["level"] == "error"
    (exc,) = event["exception"]["values"][-1:]
    assert "UndefinedTable" in exc["type"] or "ProgrammingError" in exc["type"], exc["type"]
    assert event["logentry"]["message"] == "unhandled error in %s"


def test_no_dsn_no_reporting() -> None:
    assert init_sentry(Settings(sentry_dsn=""), "api") is False
