"""One real stack for the client tests: index, worker, api, web and cron processes.

The well-known clients' keys are registered with ``acoustid application add --known-clients``,
as an operator would; the tests then use Picard's and beets' built-in keys unchanged.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from libs.common.nats import delete_streams
from libs.common.settings import Settings
from tests.api.conftest import api_settings, create_keys
from tests.conftest import REPO, free_port, settings_env
from tests.processes import ServiceProcess

SERVICES = ("index", "worker", "api", "web", "cron")


@dataclass(frozen=True)
class Stack:
    settings: Settings
    processes: dict[str, ServiceProcess]
    applications: dict[str, int]  # name -> id, from `acoustid application list`
    user_key: str

    @property
    def api(self) -> str:
        return self.processes["api"].url

    def api_log_lines(self) -> list[str]:
        return self.processes["api"].log.read_text().splitlines()


def acoustid_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=REPO,
        env={**os.environ, **settings_env(settings)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="session")
def stack(
    migrated: Settings, run_id: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("clients-stack")
    index_port = free_port()
    settings = api_settings(
        migrated,
        nats_prefix=f"test{run_id}c{uuid.uuid4().hex[:4]}.",
        api_port=free_port(),
        web_port=free_port(),
        index_port=index_port,
        index_legacy_port=free_port(),
        index_urls=[f"http://127.0.0.1:{index_port}"],
        index_data_dir=tmp / "index",
        worker_metrics_port=free_port(),
        cron_metrics_port=free_port(),
    )
    added = acoustid_cli(settings, "application", "add", "--known-clients")
    assert added.returncode == 0, added.stderr
    listing = acoustid_cli(settings, "application", "list").stdout.splitlines()
    applications = {row.split("\t")[3]: int(row.split("\t")[0]) for row in listing}
    ports = {
        "index": settings.index_port,
        "worker": settings.worker_metrics_port,
        "api": settings.api_port,
        "web": settings.web_port,
        "cron": settings.cron_metrics_port,
    }
    procs = {
        name: ServiceProcess(name, settings, ports[name], tmp / f"{name}.log") for name in SERVICES
    }
    try:
        for proc in procs.values():
            proc.start(timeout=120)
        yield Stack(settings, procs, applications, asyncio.run(create_keys(settings)).user)
    finally:
        for proc in procs.values():
            proc.stop()
        asyncio.run(delete_streams(settings))


@pytest.fixture(scope="session")
def fpcalc_program() -> Path:
    """``acoustid fpcalc`` as the one executable clients take a path to (FPCALC, Picard)."""
    program = Path(sys.executable).parent / "acoustid-fpcalc"
    assert program.exists(), "acoustid-fpcalc is missing: pip install -e . (make install)"
    return program
