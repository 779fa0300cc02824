"""Backups that are files: index snapshots and segment copies, Redis's RDB and AOF, and
JetStream's store directory.

The index snapshot (``GET /<index>/_snapshot``) is consistent by construction: the index
pins one manifest and streams exactly its segments. A copy of the segment files is what
the seed also keeps; it is taken against the manifest so that every segment the copied
manifest lists is in the copy. Redis is asked for a fresh RDB (``BGSAVE``) and its
append-only files are copied with it; JetStream's store is copied after the index
snapshots, so it holds every FPINDEX message a restored index still has to replay.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import httpx
import redis

MANIFEST = "manifest.json"
COPY_ATTEMPTS = 10


def save_snapshot(index_url: str, name: str, dest: Path, timeout: float = 600.0) -> Path:
    """Streams ``/<name>/_snapshot`` of one index replica into ``dest``."""
    tmp = dest.with_suffix(".tmp")
    with (
        httpx.Client(base_url=index_url, timeout=timeout) as client,
        client.stream("GET", f"/{name}/_snapshot") as resp,
    ):
        resp.raise_for_status()
        with tmp.open("wb") as f:
            for chunk in resp.iter_bytes():
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
    tmp.rename(dest)
    return dest


def listed_segments(manifest_bytes: bytes) -> list[str]:
    """The segment files a manifest names (``{"body": {"segments": [...]}, ...}``)."""
    doc = json.loads(manifest_bytes)
    return [str(name) for name in doc["body"]["segments"]]


def copy_segments(data_dir: Path, dest: Path) -> list[str]:
    """Copies the manifest and every segment it lists; retries if a merge replaced one
    while it was being copied (segments are immutable, so a listed file is never half new).
    """
    dest.mkdir(parents=True, exist_ok=True)
    for _ in range(COPY_ATTEMPTS):
        manifest = (data_dir / MANIFEST).read_bytes()
        names = listed_segments(manifest)
        try:
            for name in names:
                source, target = data_dir / name, dest / name
                if not target.exists() or target.stat().st_size != source.stat().st_size:
                    shutil.copy2(source, target)
        except FileNotFoundError:
            continue
        if (data_dir / MANIFEST).read_bytes() == manifest:
            (dest / MANIFEST).write_bytes(manifest)
            for stale in set(p.name for p in dest.glob("*.seg")) - set(names):
                (dest / stale).unlink()
            return names
    raise RuntimeError(f"{data_dir} kept changing; {COPY_ATTEMPTS} copies were overtaken")


def redis_backup(url: str, data_dir: Path, dest: Path, timeout: float = 120.0) -> list[str]:
    """A fresh RDB (``BGSAVE``) plus the AOF files, copied from the server's ``data_dir``."""
    client = redis.Redis.from_url(url)
    try:
        before = client.lastsave()
        client.bgsave()
        deadline = time.monotonic() + timeout
        while client.lastsave() == before or client.info("persistence")["rdb_bgsave_in_progress"]:
            if time.monotonic() > deadline:
                raise RuntimeError("BGSAVE did not finish in time")
            time.sleep(0.1)
        dbfile = str(client.config_get("dbfilename")["dbfilename"])
        aofdir = str(client.config_get("appenddirname").get("appenddirname", "appendonlydir"))
    finally:
        client.close()
    dest.mkdir(parents=True, exist_ok=True)
    copied = [dbfile]
    shutil.copy2(data_dir / dbfile, dest / dbfile)
    if (data_dir / aofdir).is_dir():
        shutil.copytree(data_dir / aofdir, dest / aofdir, dirs_exist_ok=True)
        copied.append(aofdir)
    return copied


def copy_tree(source: Path, dest: Path) -> None:
    """A whole directory (JetStream's store), replacing what ``dest`` held."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(source, dest)


def restore_tree(backup: Path, data_dir: Path) -> None:
    """Puts a copied directory back where a server expects it (which must not exist yet or
    be empty: a restore never merges into live data)."""
    if data_dir.exists() and any(data_dir.iterdir()):
        raise RuntimeError(f"{data_dir} is not empty; a restore goes into an empty directory")
    shutil.copytree(backup, data_dir, dirs_exist_ok=True)
