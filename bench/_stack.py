"""What the end-to-end benchmarks share: private settings, ports and service processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from pathlib import Path
from typing import Any

from libs.common.settings import DEFAULT_PG, Settings

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def bench_settings(run: str, data_dir: Path, **overrides: Any) -> Settings:
    """Databases, streams, key prefix and ports of one benchmark run, shared by nothing else."""
    index_port = free_port()
    values: dict[str, Any] = {
        "app_database_url": f"{DEFAULT_PG}/bench_{run}_app",
        "fingerprint_database_url": f"{DEFAULT_PG}/bench_{run}_fingerprint",
        "ingest_database_url": f"{DEFAULT_PG}/bench_{run}_ingest",
        "nats_prefix": f"bench{run}.",
        "redis_prefix": f"bench:{run}:",
        "website_secret": f"bench-secret-{run}",
        "index_data_dir": data_dir,
        "index_port": index_port,
        "index_legacy_port": free_port(),
        "index_urls": [f"http://127.0.0.1:{index_port}"],
    }
    values.update(overrides)
    return Settings(**values)


def env_of(settings: Settings) -> dict[str, str]:
    """The environment that hands ``settings`` to a service process, quietly logging."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        text = ",".join(value) if isinstance(value, list) else str(value)
        env[f"ACOUSTID_{name.upper()}"] = text
    env["ACOUSTID_LOG_LEVEL"] = "WARNING"
    return env


class BareHTTP:
    """Keep-alive HTTP/1.1 connections with no client library in the way.

    On two cores the load generator's CPU is taken from the server it measures; httpx spends
    several times the API's own CPU per request, which would make the client, not the server,
    the bottleneck. This pool costs a few microseconds per request.
    """

    def __init__(self, url: str) -> None:
        host, _, port = url.removeprefix("http://").partition(":")
        self.host, self.port = host, int(port)
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        request = (
            f"POST {path} HTTP/1.1\r\nhost: bench\r\n"
            f"content-type: application/x-www-form-urlencoded\r\n"
            f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        status = b""
        if self.idle:
            reader, writer = self.idle.pop()
            with contextlib.suppress(ConnectionError):
                writer.write(request)
                status = await reader.readline()
            if not status:  # the server closed an idle keep-alive connection
                writer.close()
        if not status:
            reader, writer = await asyncio.open_connection(self.host, self.port)
            writer.write(request)
            status = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        payload = await reader.readexactly(length)
        self.idle.append((reader, writer))
        return int(status.split(b" ", 2)[1]), payload

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()
