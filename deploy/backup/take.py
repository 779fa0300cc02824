"""The daily backup: every store of a running stack into one dated directory.

Order matters: the base backup and dumps first, then Redis, then each index shard's
snapshot, and JetStream's store last, so the copied FPINDEX stream holds every message a
restored snapshot still has to replay. The WAL archive is continuous and separate
(``archive_command``); this backup only has to be recent enough that replaying the archive
since its base backup fits the recovery time objective.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from deploy.backup import files, postgres
from libs.common.db import Database, database_url
from libs.common.settings import Settings


@dataclass
class Sources:
    """Where the file-based stores live on this host (the databases come from settings)."""

    redis_dir: Path | None = None
    nats_store: Path | None = None
    index_dirs: dict[int, Path] = field(default_factory=dict)


def take(settings: Settings, dest: Path, sources: Sources) -> dict[str, object]:
    """Takes every backup into ``dest``; returns (and writes as backup.json) what it took."""
    dest.mkdir(parents=True, exist_ok=True)
    record: dict[str, object] = {"started": time.time()}
    steps: dict[str, float] = {}

    def step(name: str, started: float) -> None:
        steps[name] = round(time.monotonic() - started, 3)

    t = time.monotonic()
    for server in {postgres.server_url(database_url(settings, db)) for db in Database}:
        postgres.base_backup(server, dest / "base" / postgres.server_label(server))
    step("base_backup", t)
    t = time.monotonic()
    (dest / "dumps").mkdir(exist_ok=True)
    for db in Database:
        postgres.dump(database_url(settings, db), dest / "dumps" / f"{db.value}.dump")
    step("pg_dump", t)
    record["dumped"] = time.time()
    if sources.redis_dir is not None:
        t = time.monotonic()
        record["redis"] = files.redis_backup(settings.redis_url, sources.redis_dir, dest / "redis")
        step("redis", t)
    t = time.monotonic()
    (dest / "index").mkdir(exist_ok=True)
    for shard, url in enumerate(settings.index_urls):
        files.save_snapshot(url, settings.index_name, dest / "index" / f"shard-{shard}.snapshot")
        if shard in sources.index_dirs:
            files.copy_segments(sources.index_dirs[shard], dest / "index" / f"shard-{shard}")
    step("index", t)
    if sources.nats_store is not None:
        t = time.monotonic()
        files.copy_tree(sources.nats_store, dest / "nats")
        step("nats", t)
    record["finished"] = time.time()
    record["steps"] = steps
    (dest / "backup.json").write_text(json.dumps(record, indent=2) + "\n")
    return record
