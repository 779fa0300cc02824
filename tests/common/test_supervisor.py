"""The dev stack's supervisor restarts with backoff, forgives old exits, never gives up on
the healthy services, and reports a failing one at the stack's /_health (real processes)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx

from libs.common.supervisor import (
    FAILING_AFTER,
    HEALTHY_PERIOD,
    Supervised,
    serve_health,
    stack_health,
)
from tests.conftest import free_port

EXITS = [sys.executable, "-c", "import sys; sys.exit(3)"]
STAYS = [sys.executable, "-c", "import time; time.sleep(600)"]


def _exited(child: Supervised) -> None:
    assert child.process is not None
    child.process.wait(10)


def _crash_and_restart(child: Supervised, now: float) -> float:
    """Lets the child's process exit, notices it at ``now``; returns the restart delay."""
    _exited(child)
    child.tick(now)
    assert child.restart_at is not None
    delay = child.restart_at - now
    restarts = child.restarts
    child.tick(child.restart_at - 0.01)
    assert child.restarts == restarts  # not yet due
    child.tick(child.restart_at)
    assert child.restart_at is None and child.process is not None
    return delay


def test_quick_exits_back_off_and_a_long_run_is_forgiven(tmp_path: Path) -> None:
    child = Supervised("flaky", EXITS, tmp_path / "flaky.log")
    child.launch(now=0.0)
    now, delays = 0.0, []
    for _ in range(4):
        delays.append(_crash_and_restart(child, now + 0.1))
        now = child.started_at
    assert delays == [1.0, 2.0, 4.0, 8.0]
    assert child.restarts == 4 and child.last_code == 3
    # Up for a healthy period, then one more exit: restarted at once, as a first crash.
    child.tick(now + HEALTHY_PERIOD)
    assert child.quick_exits == 0
    assert _crash_and_restart(child, now + HEALTHY_PERIOD + 1) == 1.0
    child.stop()


def test_a_failing_service_is_reported_and_the_others_keep_running(tmp_path: Path) -> None:
    failing = Supervised("web", EXITS, tmp_path / "web.log")
    healthy = Supervised("api", STAYS, tmp_path / "api.log")
    children = [healthy, failing]
    for child in children:
        child.launch(now=0.0)
    now = 0.0
    for _ in range(FAILING_AFTER):
        _exited(failing)
        for child in children:
            child.tick(now + 0.1)
        assert failing.restart_at is not None
        now = failing.restart_at
        for child in children:
            child.tick(now)
    status, body = stack_health(children)
    assert status == 503
    assert '"web": {"last_exit_code": 3, "restarts": 5, "status": "failing"}' in body
    assert '"api": {"last_exit_code": null, "restarts": 0, "status": "running"}' in body
    assert healthy.process is not None and healthy.process.poll() is None
    assert failing.restarts == FAILING_AFTER  # still retried, at the longest delay
    for child in children:
        child.stop()
        child.reap(time.monotonic() + 10)
    assert healthy.process.returncode is not None


def test_stack_health_is_served_over_http(tmp_path: Path) -> None:
    child = Supervised("api", STAYS, tmp_path / "api.log")
    child.launch()
    port = free_port()
    server = serve_health([child], "127.0.0.1", port)
    try:
        up = httpx.get(f"http://127.0.0.1:{port}/_health", timeout=5)
        assert up.status_code == 200
        assert up.json() == {"api": {"last_exit_code": None, "restarts": 0, "status": "running"}}
        assert child.process is not None
        child.process.kill()  # a crash, not a stop
        child.process.wait(10)
        child.tick(time.monotonic())
        down = httpx.get(f"http://127.0.0.1:{port}/_health", timeout=5)
        assert down.status_code == 503
        assert down.json()["api"]["status"] == "restarting"
        assert httpx.get(f"http://127.0.0.1:{port}/other", timeout=5).status_code == 404
    finally:
        server.shutdown()
        child.stop()


def test_stop_cancels_a_pending_restart(tmp_path: Path) -> None:
    child = Supervised("cron", EXITS, tmp_path / "cron.log")
    child.launch(now=0.0)
    _exited(child)
    child.tick(0.1)
    child.stop()
    child.tick(1000.0)
    assert child.restarts == 0
    assert child.restart_at is None
