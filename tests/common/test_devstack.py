"""``make dev`` brings up five healthy services with demo keys and leaves nothing behind."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from libs.common import migrations
from libs.common.db import Database, database_url
from libs.common.nats import delete_streams
from libs.common.settings import Settings
from services.cli.devstack import DEMO_TRACKS
from tests.conftest import REPO, free_port, settings_env, settings_for_run

START_TIMEOUT = 240.0
DEMO = json.loads(DEMO_TRACKS.read_text())["tracks"][0]


def _demo_lookup(stack: dict[str, str]) -> dict[str, object]:
    """The lookup the banner suggests: the seeded demo track is found with its recording."""
    return {
        "client": stack["client"],
        "meta": "recordings",
        "duration": DEMO["duration"],
        "fingerprint": DEMO["fingerprint"],
    }


def _descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def dev_settings(run_id: str, tmp_path: Path, local_servers: object) -> Iterator[Settings]:
    ports = {
        name: free_port()
        for name in (
            "api_port",
            "web_port",
            "worker_metrics_port",
            "cron_metrics_port",
            "index_port",
            "index_legacy_port",
            "dev_supervisor_port",
        )
    }
    settings = settings_for_run(
        f"{run_id}d",
        **ports,
        dev_dir=tmp_path / "dev",
        index_data_dir=tmp_path / "index",
        index_urls=[f"http://127.0.0.1:{ports['index_port']}"],
    )
    yield settings
    asyncio.run(delete_streams(settings))
    for db in Database:
        asyncio.run(migrations.drop_database(database_url(settings, db)))


def _start(settings: Settings) -> subprocess.Popen[bytes]:
    env = {**os.environ, **settings_env(settings)}
    venv = str(Path(sys.executable).parent.parent)
    return subprocess.Popen(
        ["make", "-s", "dev", f"VENV={venv}"],
        cwd=REPO,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _wait_for_stack(proc: subprocess.Popen[bytes], path: Path) -> dict[str, str]:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if path.exists():
            stack: dict[str, str] = json.loads(path.read_text())
            return stack
        if proc.poll() is not None:
            output = proc.stdout.read().decode() if proc.stdout else ""
            pytest.fail(f"make dev exited with {proc.returncode}:\n{output[-4000:]}")
        time.sleep(0.5)
    pytest.fail("make dev did not write stack.json in time")


def _run_once(settings: Settings) -> dict[str, str]:
    proc = _start(settings)
    try:
        stack = _wait_for_stack(proc, settings.dev_dir / "stack.json")
        urls = [
            stack["api"],
            stack["web"],
            stack["index"],
            f"http://127.0.0.1:{settings.worker_metrics_port}",
            f"http://127.0.0.1:{settings.cron_metrics_port}",
        ]
        for url in urls:
            response = httpx.get(f"{url}/_health", timeout=10)
            assert (response.status_code, response.text) == (200, "ok"), url
        whole = httpx.get(f"{stack['supervisor']}/_health", timeout=10)
        assert whole.status_code == 200, whole.text
        assert {state["status"] for state in whole.json().values()} == {"running"}
        started = _descendants(proc.pid)
        assert len(started) >= 5
        lookup = httpx.post(f"{stack['api']}/v2/lookup", data=_demo_lookup(stack), timeout=10)
        recordings = lookup.json()["results"][0]["recordings"]
        assert [(r["id"], r["title"]) for r in recordings] == [
            (DEMO["mbid"], "Melody for Two Hands")
        ], lookup.text
        assert [a["name"] for a in recordings[0]["artists"]] == ["Aurora Vale", "The Tidewater"]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    text = output.decode()
    # make itself was in the signalled group; the supervisor below it must have stopped cleanly.
    assert proc.returncode in (0, -signal.SIGTERM), text[-4000:]
    assert '"message": "stopped"' in text, text[-4000:]
    assert "did not stop in time" not in text, text[-4000:]
    assert stack["client"] in text and stack["user"] in text
    time.sleep(0.5)
    assert [pid for pid in started if _alive(pid)] == []
    assert not (settings.dev_dir / "stack.json").exists()
    return stack


def test_make_dev_twice_in_a_row(dev_settings: Settings) -> None:
    first = _run_once(dev_settings)
    assert set(first) == {"api", "web", "index", "supervisor", "client", "user"}
    assert first["api"] == f"http://127.0.0.1:{dev_settings.api_port}"
    assert len(first["client"]) == 10 and len(first["user"]) == 10
    second = _run_once(dev_settings)
    assert second == first
