"""PostgreSQL, Redis and NATS for a developer machine or CI: use them, or start private ones.

A server that answers at its configured address is used as it is. A local one that does not
answer is started from the installed binaries with its data under ``<dev_dir>/``; a missing
binary is installed from Debian when we are root, and otherwise named in the error so the
user knows exactly what to install. Only servers started here are stopped here.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from libs.common.settings import Settings

log = logging.getLogger(__name__)

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
START_TIMEOUT = 30.0


class ServerError(RuntimeError):
    """A required server neither answers nor can be started; the message says what to do."""


@dataclass
class Server:
    name: str
    host: str
    port: int
    binaries: list[str]
    debian_package: str
    started: bool = False
    process: subprocess.Popen[bytes] | None = None
    stop_command: list[str] = field(default_factory=list)

    def answers(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def wait(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.answers():
                return
            if self.process is not None and self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise ServerError(f"{self.name} did not start on {self.host}:{self.port}")

    def stop(self) -> None:
        if not self.started:
            return
        if self.stop_command:
            subprocess.run(self.stop_command, check=False, capture_output=True)
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.started = False


def find_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def _binaries(server: Server) -> dict[str, str]:
    paths = {name: find_binary(name) for name in server.binaries}
    missing = [name for name, path in paths.items() if path is None]
    if missing and os.geteuid() == 0 and shutil.which("apt-get"):
        log.info("installing %s for %s", server.debian_package, server.name)
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        apt = ["apt-get", "install", "-y", "-qq", server.debian_package]
        subprocess.run(apt, check=False, env=env)
        paths = {name: find_binary(name) for name in server.binaries}
        missing = [name for name, path in paths.items() if path is None]
    if missing:
        raise ServerError(
            f"{server.name} is not running on {server.host}:{server.port} and "
            f"{', '.join(missing)} is not installed: install the Debian package "
            f"{server.debian_package} (apt-get install {server.debian_package}) "
            f"or point the ACOUSTID_ settings at a running server"
        )
    return {name: path for name, path in paths.items() if path is not None}


def as_postgres_user(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root; run them as the ``postgres`` user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def postgres_dir(requested: Path) -> Path:
    """Where the private cluster lives: ``requested``, unless we are root and the
    ``postgres`` user cannot reach it (a checkout under /root, pytest's tmp), in which case a
    folder named after it in the postgres user's home."""
    if os.geteuid() != 0:
        return requested
    requested.mkdir(parents=True, exist_ok=True)
    reachable = subprocess.run(
        ["runuser", "-u", "postgres", "--", "test", "-x", str(requested.parent)],
        capture_output=True,
    )
    if reachable.returncode == 0:
        return requested
    digest = hashlib.sha1(str(requested).encode()).hexdigest()[:12]
    home = Path(os.path.expanduser("~postgres"))
    log.info("postgres cannot reach %s; keeping its data in %s", requested, home)
    return home / f"acoustid-dev-{digest}"


def _start_postgres(server: Server, data: Path) -> None:
    bins = _binaries(server)
    data = postgres_dir(data)
    data.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    if not (data / "PG_VERSION").exists():
        initdb = [bins["initdb"], "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        subprocess.run(as_postgres_user(initdb), check=True, capture_output=True)
    options = f"-p {server.port} -k {data} -c listen_addresses={server.host}"
    start = [bins["pg_ctl"], "-D", str(data), "-o", options, "-l", str(data / "server.log")]
    subprocess.run(as_postgres_user([*start, "-w", "start"]), check=True, capture_output=True)
    server.stop_command = as_postgres_user([bins["pg_ctl"], "-D", str(data), "-m", "fast", "stop"])


def _start_redis(server: Server, data: Path) -> None:
    bins = _binaries(server)
    data.mkdir(parents=True, exist_ok=True)
    cmd = [
        bins["redis-server"],
        "--bind", server.host,
        "--port", str(server.port),
        "--save", "",
        "--appendonly", "no",
        "--dir", str(data),
        "--logfile", str(data / "server.log"),
    ]  # fmt: skip
    server.process = subprocess.Popen(cmd, start_new_session=True)


def _start_nats(server: Server, data: Path) -> None:
    bins = _binaries(server)
    data.mkdir(parents=True, exist_ok=True)
    cmd = [
        bins["nats-server"],
        "-a", server.host,
        "-p", str(server.port),
        "-js",
        "-sd", str(data),
        "-l", str(data / "server.log"),
    ]  # fmt: skip
    server.process = subprocess.Popen(cmd, start_new_session=True)


def servers(settings: Settings) -> list[Server]:
    pg = make_url(settings.app_database_url)
    redis = urlsplit(settings.redis_url)
    nats = urlsplit(settings.nats_servers[0])
    return [
        Server("PostgreSQL", pg.host or "127.0.0.1", pg.port or 5432, ["initdb", "pg_ctl"],
               "postgresql"),
        Server("Redis", redis.hostname or "127.0.0.1", redis.port or 6379, ["redis-server"],
               "redis-server"),
        Server("NATS", nats.hostname or "127.0.0.1", nats.port or 4222, ["nats-server"],
               "nats-server"),
    ]  # fmt: skip


STARTERS = {"PostgreSQL": _start_postgres, "Redis": _start_redis, "NATS": _start_nats}


def ensure(settings: Settings, dev_dir: Path) -> list[Server]:
    """Makes every server answer; returns them, the ones started here marked ``started``."""
    result = servers(settings)
    try:
        for server in result:
            if server.answers():
                continue
            if server.host not in LOCAL_HOSTS:
                raise ServerError(f"{server.name} does not answer at {server.host}:{server.port}")
            log.info("starting a private %s on %s:%d", server.name, server.host, server.port)
            STARTERS[server.name](server, (dev_dir / server.name.lower()).resolve())
            server.started = True
            server.wait()
    except BaseException:
        stop(result)
        raise
    return result


def stop(started: list[Server]) -> None:
    for server in reversed(started):
        server.stop()
