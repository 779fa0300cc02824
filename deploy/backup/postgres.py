"""PostgreSQL backups: logical dumps, a physical base backup, the WAL archive, and restores.

``pg_dump -Fc`` of each database is what restores one database (or one table) on any
server and version; it cannot take WAL replay. Replaying the archive needs the physical
base backup (``pg_basebackup``) of the whole cluster, so the daily backup takes both and
the archive holds every WAL segment written since: a crash then loses only the WAL not yet
archived (at most ``archive_timeout`` seconds of commits).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

from sqlalchemy.engine import make_url

from libs.common.pgcluster import ClusterError, tool

ARCHIVE_TIMEOUT = 60


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (``postgresql+asyncpg://``) as libpq's tools take it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def server_url(url: str) -> str:
    """The URL of a database's server, for tools that take the whole cluster."""
    return libpq_url(make_url(url).set(database="postgres").render_as_string(hide_password=False))


def server_label(url: str) -> str:
    """A directory name for one server's base backup: ``host_port``."""
    parsed = make_url(url)
    return f"{parsed.host or 'localhost'}_{parsed.port or 5432}"


def database_name(url: str) -> str:
    return make_url(url).database or ""


def archive_settings(wal_dir: Path) -> dict[str, str]:
    """postgresql.conf lines for continuous archiving into ``wal_dir`` (never overwritten)."""
    return {
        "wal_level": "replica",
        "archive_mode": "on",
        "archive_command": f"test ! -f {wal_dir}/%f && cp %p {wal_dir}/%f",
        "archive_timeout": str(ARCHIVE_TIMEOUT),
    }


def recovery_settings(wal_dir: Path, target_time: str | None = None) -> dict[str, str]:
    """Settings for replaying the archive: to its end, or to ``target_time`` and promote."""
    values = {"restore_command": f"cp {wal_dir}/%f %p", "recovery_target_timeline": "latest"}
    if target_time:
        values |= {"recovery_target_time": target_time, "recovery_target_action": "promote"}
    return values


def _client(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise ClusterError(f"{Path(cmd[0]).name} failed: {done.stderr.strip()}")


def dump(url: str, dest: Path) -> Path:
    """``pg_dump -Fc`` of one database into ``dest`` (written under a temporary name)."""
    tmp = dest.with_suffix(".tmp")
    _client([tool("pg_dump"), "-Fc", "-f", str(tmp), "-d", libpq_url(url)])
    tmp.rename(dest)
    return dest


def restore_dump(dump_file: Path, url: str) -> None:
    """Restores a dump into the (existing, preferably empty) database at ``url``."""
    _client(
        [tool("pg_restore"), "--no-owner", "--exit-on-error", "-d", libpq_url(url), str(dump_file)]
    )


def base_backup(url: str, dest: Path) -> Path:
    """A compressed physical backup of the cluster holding ``url``'s database."""
    if dest.exists():
        shutil.rmtree(dest)
    _client(
        [
            tool("pg_basebackup"),
            "-d",
            server_url(url),
            "-D",
            str(dest),
            "-Ft",
            "-z",
            "-X",
            "fetch",
            "-c",
            "fast",
        ]
    )
    return dest


def unpack_base_backup(backup: Path, data_dir: Path) -> None:
    """Extracts ``base.tar.gz`` into an empty data directory (which its server then owns)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if any(data_dir.iterdir()):
        raise ClusterError(f"{data_dir} is not empty; a restore goes into an empty directory")
    with tarfile.open(backup / "base.tar.gz") as tar:
        tar.extractall(data_dir, filter="fully_trusted")
    wal = backup / "pg_wal.tar.gz"
    if wal.exists():
        with tarfile.open(wal) as tar:
            tar.extractall(data_dir / "pg_wal", filter="fully_trusted")
    # A server whose sockets live in its data directory leaves their lock files in the
    # backup; restored, they name the dead server's PID, which may now be another process
    # (or an unreaped zombie), and the restored server then refuses to start.
    for lock in data_dir.glob(".s.PGSQL.*.lock"):
        lock.unlink()
    owner = data_dir.stat()
    if os.geteuid() == 0:
        for path in [data_dir, *data_dir.rglob("*")]:
            os.lchown(path, owner.st_uid, owner.st_gid)


def prepare_recovery(data_dir: Path, wal_dir: Path, target_time: str | None = None) -> None:
    """Makes the next start replay ``wal_dir`` (``recovery.signal`` plus its settings)."""
    lines = "".join(f"{k} = '{v}'\n" for k, v in recovery_settings(wal_dir, target_time).items())
    with (data_dir / "postgresql.auto.conf").open("a") as conf:
        conf.write(lines)
    (data_dir / "recovery.signal").touch()
