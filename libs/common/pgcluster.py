"""Private PostgreSQL clusters from the installed binaries: a primary, its streaming
replicas, base backups and point-in-time restores.

The read-replica test and the disaster-recovery drill need what production has (a
primary with WAL archiving, a replica made by ``pg_basebackup``, a restore that replays the
archive) without touching the machine's shared server; each cluster lives in its own
directory on its own port and is removed by :meth:`Cluster.destroy`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from libs.common.localservers import as_postgres_user, find_binary, postgres_dir

START_TIMEOUT = 60.0


class ClusterError(RuntimeError):
    """A PostgreSQL tool failed; the message carries its output."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def tool(name: str) -> str:
    path = find_binary(name)
    if path is None:
        raise ClusterError(f"{name} is not installed (Debian package postgresql)")
    return path


def run(cmd: list[str]) -> str:
    """Runs a PostgreSQL tool as the ``postgres`` user when we are root; its stdout."""
    done = subprocess.run(as_postgres_user(cmd), capture_output=True, text=True)
    if done.returncode != 0:
        raise ClusterError(f"{Path(cmd[0]).name} failed: {(done.stderr or done.stdout).strip()}")
    return done.stdout


def owned_dir(path: Path) -> Path:
    """A directory the server user can write (and only it: initdb and postgres insist)."""
    path = postgres_dir(path)
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
    return path


@dataclass
class Cluster:
    """One PostgreSQL server: its data directory and port on 127.0.0.1."""

    data: Path
    port: int

    def url(self, dbname: str, driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{dbname}"

    @classmethod
    def create(cls, data: Path, port: int, settings: dict[str, str] | None = None) -> Cluster:
        """A fresh cluster (trust authentication, replication allowed from localhost)."""
        cluster = cls(owned_dir(data), port)
        run(
            [
                tool("initdb"),
                "-D",
                str(cluster.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ]
        )
        cluster.configure({"wal_level": "replica", "max_wal_senders": "10", **(settings or {})})
        return cluster

    @classmethod
    def replica_of(cls, primary: Cluster, data: Path, port: int) -> Cluster:
        """A hot standby streaming from ``primary``, made the documented way: pg_basebackup
        with ``-R`` writes ``standby.signal`` and ``primary_conninfo``."""
        cluster = cls(owned_dir(data), port)
        primary.base_backup(cluster.data, write_recovery=True)
        return cluster

    def base_backup(self, target: Path, write_recovery: bool = False) -> None:
        """A physical copy of the whole cluster with the WAL needed to make it consistent."""
        cmd = [
            tool("pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-D",
            str(target),
            "-X",
            "stream",
            "-c",
            "fast",
        ]
        run([*cmd, "-R"] if write_recovery else cmd)

    def configure(self, settings: dict[str, str]) -> None:
        """Appends settings to postgresql.conf (a later line wins over an earlier one)."""
        lines = "".join(f"{name} = '{value}'\n" for name, value in settings.items())
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(lines)

    def start(self) -> None:
        """Starts the server; a failure carries the end of the server's own log, which is
        where PostgreSQL says why (and which goes when the cluster is destroyed)."""
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1"
        log = self.data / "server.log"
        command = [tool("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(log)]
        try:
            run([*command, "-t", str(int(START_TIMEOUT)), "-w", "start"])
        except ClusterError as exc:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
            raise ClusterError(f"{exc}\n{tail}") from None

    def stop(self, mode: str = "fast") -> None:
        """``fast`` is an orderly shutdown, ``immediate`` is what a crash leaves behind."""
        if (self.data / "postmaster.pid").exists():
            run([tool("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def psql(self, dbname: str, sql: str) -> str:
        """One statement's rows, tab separated, through psql (no Python driver needed)."""
        return run(
            [
                tool("psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                dbname,
                "-XAtqF",
                "\t",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ]
        )

    def wait_writable(self, timeout: float = START_TIMEOUT) -> None:
        """Waits until recovery has finished and the server accepts writes."""
        deadline = time.monotonic() + timeout
        while self.psql("postgres", "SELECT pg_is_in_recovery()").strip() != "f":
            if time.monotonic() > deadline:
                raise ClusterError(f"still in recovery after {timeout:.0f} s; see server.log")
            time.sleep(0.2)

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.data, ignore_errors=True)
