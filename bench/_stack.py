"""What the end-to-end benchmarks share: private settings, ports and service processes."""

from __future__ import annotations

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
