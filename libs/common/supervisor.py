"""Keeps ``make dev``'s service processes running, and says which ones are not.

A service that exits is started again after a delay that doubles with each quick exit (up
to a minute), and its count of quick exits is forgotten once it has stayed up for a healthy
period: a few crashes spread over a day are each healed at once, while a service that
cannot start does not spin. A failing service never stops the others. The state of every
service is served as the stack's own ``/_health``, so scripts see what the console says.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

log = logging.getLogger("devstack")

HEALTHY_PERIOD = 60.0
"""Seconds up after which earlier exits no longer count towards the backoff."""
FIRST_DELAY = 1.0
MAX_DELAY = 60.0
FAILING_AFTER = 5
"""Quick exits in a row after which a service is reported failing (it is still retried)."""


@dataclass
class Supervised:
    """One child process and what the supervisor knows of its exits."""

    name: str
    command: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    started_at: float = 0.0
    quick_exits: int = 0
    restart_at: float | None = None
    last_code: int | None = None
    restarts: int = 0
    stopped: bool = False
    env: dict[str, str] = field(default_factory=dict)
    """Variables set on top of this process's environment (a private stack's settings)."""

    def launch(self, now: float | None = None) -> None:
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                self.command,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env} if self.env else None,
            )
        self.started_at = time.monotonic() if now is None else now
        self.restart_at = None
        self.stopped = False

    def stop(self) -> None:
        """Ends the process for good: its exit is not a crash and nothing restarts it."""
        self.stopped = True
        self.restart_at = None
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def reap(self, deadline: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in time; killing it", self.name)
            self.process.kill()
            self.process.wait()

    @property
    def failing(self) -> bool:
        return self.quick_exits >= FAILING_AFTER

    def state(self) -> dict[str, object]:
        if self.restart_at is None:
            status = "failing" if self.failing else "running"
        else:
            status = "failing" if self.failing else "restarting"
        return {"status": status, "restarts": self.restarts, "last_exit_code": self.last_code}

    def tick(self, now: float) -> None:
        """Notices an exit and schedules the restart, or performs a restart that is due."""
        if self.stopped:
            return
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.restarts += 1
                log.warning("restarting %s (restart %d)", self.name, self.restarts)
                self.launch(now)
            return
        if self.process is None or self.process.poll() is None:
            if self.quick_exits and now - self.started_at >= HEALTHY_PERIOD:
                self.quick_exits = 0
                log.info("%s has stayed up; its earlier exits are forgiven", self.name)
            return
        self.last_code = self.process.returncode
        self.quick_exits = self.quick_exits + 1 if now - self.started_at < HEALTHY_PERIOD else 1
        delay = min(MAX_DELAY, FIRST_DELAY * 2 ** (self.quick_exits - 1))
        self.restart_at = now + delay
        level = logging.ERROR if self.failing else logging.WARNING
        log.log(
            level,
            "%s exited with %s%s; restarting in %.0fs",
            self.name,
            self.last_code,
            f" ({self.quick_exits} times in a row: failing)" if self.failing else "",
            delay,
        )


def stack_health(children: list[Supervised]) -> tuple[int, str]:
    """200 when every service runs, else 503; the body names each service's state."""
    states = {child.name: child.state() for child in children}
    healthy = all(state["status"] == "running" for state in states.values())
    return (200 if healthy else 503), json.dumps(states, sort_keys=True)


def serve_health(children: list[Supervised], host: str, port: int) -> ThreadingHTTPServer:
    """``GET /_health`` of the whole stack, in a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/_health":
                self.send_error(404)
                return
            status, body = stack_health(children)
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="stack-health", daemon=True).start()
    return server


def supervise(children: list[Supervised], stop: threading.Event, interval: float = 0.5) -> None:
    """Runs until ``stop`` is set (a signal handler may also raise out of the wait)."""
    while not stop.is_set():
        now = time.monotonic()
        for child in children:
            child.tick(now)
        stop.wait(interval)
