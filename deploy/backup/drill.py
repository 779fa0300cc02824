"""``make dr-drill``: back up a running stack, destroy every data directory, restore, and
measure the recovery time (RTO) and the writes lost (RPO) against the seed's 1 h / 5 min.

The stack is ``make dev``'s, with private PostgreSQL (WAL archiving on), Redis (AOF and RDB
as the seed sets them) and NATS started from the installed binaries under a temporary
directory, two index shards, the API, the worker and the cron. The drill:

1. submits fingerprints through the API and waits until they are imported;
2. takes the daily backup (``deploy.backup.take``);
3. submits more after it, and keeps one submission every half second going until the crash,
   long enough (more than ``archive_timeout``) that the ones after the dump must come back
   through WAL replay; records every lookup's answer;
4. kills every process with SIGKILL and deletes every data directory (the backups and the
   WAL archive are the off-host copies and survive);
5. restores PostgreSQL (base backup + archive replay), Redis, JetStream and each index
   shard (snapshot, then a catch-up rebuild from the database), starts the services and
   checks every lookup answers exactly as before; the RTO is the time from the crash to
   that check passing;
6. counts the acknowledged submissions that did not survive: the RPO is the span of
   acknowledged writes lost; also restores the dumps into scratch databases and
   bootstraps a new index replica from a peer's snapshot plus FPINDEX.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import redis

from deploy.backup import files, postgres
from deploy.backup.take import Sources, take
from libs.chromaprint_cy.codec import encode_fingerprint
from libs.chromaprint_cy.query import extract_query
from libs.common.apikeys import DemoKeys
from libs.common.localservers import find_binary
from libs.common.pgcluster import Cluster, free_port, owned_dir
from libs.common.settings import Settings
from services.cli.devstack import Child, prepare, wait_healthy

RTO_TARGET = 3600.0
RPO_TARGET = 300.0
LOOKUP_BATCH = 20
SUBMIT_BATCH = 20
TRICKLE_INTERVAL = 0.5
DATABASES = ("app", "fingerprint", "ingest")
MARKER = "acoustid:drill:marker"
RESULT = Path(__file__).resolve().parents[2] / "bench" / "results" / "dr-drill.json"


# Pure parts (unit-tested in tests/deploy/test_dr_drill.py).


def items(seed: int) -> np.ndarray:
    """600 random items: a fingerprint no other seed's resembles."""
    return np.random.default_rng(seed).integers(0, 2**32, 600, dtype=np.uint32)


def fingerprint(seed: int) -> str:
    return encode_fingerprint(items(seed))


def submit_params(keys: DemoKeys, seeds: list[int]) -> dict[str, str]:
    params = {"client": keys.client, "user": keys.user}
    for i, seed in enumerate(seeds):
        params[f"fingerprint.{i}"] = fingerprint(seed)
        params[f"duration.{i}"] = str(120 + seed % 300)
        params[f"mbid.{i}"] = str(uuid.UUID(int=seed + 1, version=4))
    return params


def lookup_params(keys: DemoKeys, seeds: list[int]) -> dict[str, str]:
    params = {"client": keys.client, "batch": "1", "meta": "recordingids"}
    for i, seed in enumerate(seeds):
        params[f"fingerprint.{i}"] = fingerprint(seed)
        params[f"duration.{i}"] = str(120 + seed % 300)
    return params


def rpo_seconds(acked: list[tuple[float, int]], surviving: set[int]) -> tuple[float, int]:
    """(seconds of acknowledged writes lost, how many): from the first lost write to the
    last acknowledged one; (0, 0) when every acknowledged write survived."""
    lost = [(t, sid) for t, sid in acked if sid not in surviving]
    if not lost:
        return 0.0, 0
    last = max(t for t, _ in acked)
    return last - min(t for t, _ in lost), len(lost)


def differences(before: dict[int, Any], after: dict[int, Any]) -> list[str]:
    """Lookups whose answer changed (or disappeared), as one line each."""
    lines = []
    for seed, answer in before.items():
        if after.get(seed) != answer:
            lines.append(f"seed {seed}: before {answer!r}, after {after.get(seed)!r}")
    return lines


def report(rto: float, rpo: float, lost: int, steps: dict[str, float]) -> str:
    ok_rto = "met" if rto <= RTO_TARGET else "MISSED"
    ok_rpo = "met" if rpo <= RPO_TARGET else "MISSED"
    lines = [
        "",
        "DR drill result",
        f"  RTO {rto / 60:.2f} min (target {RTO_TARGET / 60:.0f} min): {ok_rto}",
        f"  RPO {rpo:.1f} s of acknowledged writes lost, {lost} submissions "
        f"(target {RPO_TARGET:.0f} s): {ok_rpo}",
        "  steps (s): " + ", ".join(f"{k} {v:.1f}" for k, v in steps.items()),
    ]
    return "\n".join(lines)


# The stack.


def child(name: str, port: int, env: dict[str, str], logs: Path, *command: str) -> Child:
    """A service process of the drill's stack, run as ``make dev`` runs one."""
    return Child(
        name,
        [sys.executable, "-m", "services.cli", *command],
        logs / f"{name}.log",
        port=port,
        env=env,
    )


@dataclass
class Stack:
    root: Path
    ports: dict[str, int] = field(default_factory=dict)
    cluster: Cluster | None = None
    servers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    children: list[Child] = field(default_factory=list)
    secret: str = field(default_factory=lambda: secrets.token_hex(16))

    def __post_init__(self) -> None:
        for name in ("pg", "redis", "nats", "api", "worker", "cron"):
            self.ports[name] = free_port()
        for shard in (0, 1, 2):
            self.ports[f"index-{shard}"] = free_port()
            self.ports[f"legacy-{shard}"] = free_port()
        (self.root / "logs").mkdir(parents=True, exist_ok=True)
        (self.root / "backup" / "wal").mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root / "backup" / "wal", "postgres", "postgres")

    def data(self, name: str) -> Path:
        return self.root / "data" / name

    @property
    def backup(self) -> Path:
        return self.root / "backup"

    def index_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{self.ports[f'index-{s}']}" for s in (0, 1)]

    def env(self) -> dict[str, str]:
        pg = f"postgresql+asyncpg://postgres@127.0.0.1:{self.ports['pg']}"
        return {
            "ACOUSTID_APP_DATABASE_URL": f"{pg}/acoustid_app",
            "ACOUSTID_FINGERPRINT_DATABASE_URL": f"{pg}/acoustid_fingerprint",
            "ACOUSTID_INGEST_DATABASE_URL": f"{pg}/acoustid_ingest",
            "ACOUSTID_REDIS_URL": f"redis://127.0.0.1:{self.ports['redis']}/0",
            "ACOUSTID_NATS_SERVERS": f"nats://127.0.0.1:{self.ports['nats']}",
            "ACOUSTID_INDEX_URLS": ",".join(self.index_urls()),
            "ACOUSTID_API_PORT": str(self.ports["api"]),
            "ACOUSTID_WORKER_METRICS_PORT": str(self.ports["worker"]),
            "ACOUSTID_CRON_METRICS_PORT": str(self.ports["cron"]),
            "ACOUSTID_RATE_LIMIT_IP": "100000",
            "ACOUSTID_RATE_LIMIT_APPLICATION": "100000",
            "ACOUSTID_RATE_LIMIT_GLOBAL": "100000",
            "ACOUSTID_OUTBOX_DELAY": "5",
            "ACOUSTID_INDEX_CHECKPOINT_AGE": "10",
            "ACOUSTID_LOG_LEVEL": "WARNING",
            "ACOUSTID_WEBSITE_SECRET": self.secret,
        }

    def settings(self) -> Settings:
        """The same values as the children's environment, for the drill's own calls."""
        values = {k.removeprefix("ACOUSTID_").lower(): v for k, v in self.env().items()}
        return Settings(**values)  # type: ignore[arg-type]

    def index_env(self, shard: int, directory: str, peers: str = "") -> dict[str, str]:
        return {
            **self.env(),
            "ACOUSTID_INDEX_SHARD": str(shard % 2),
            "ACOUSTID_INDEX_PORT": str(self.ports[f"index-{shard}"]),
            "ACOUSTID_INDEX_LEGACY_PORT": str(self.ports[f"legacy-{shard}"]),
            "ACOUSTID_INDEX_DATA_DIR": str(self.data(directory)),
            "ACOUSTID_INDEX_PEERS": peers,
        }

    # Servers.

    def start_postgres(self) -> None:
        settings = postgres.archive_settings(self.backup / "wal")
        self.cluster = Cluster.create(self.data("pg"), self.ports["pg"], settings)
        self.cluster.start()

    def start_redis(self) -> None:
        directory = self.data("redis")
        directory.mkdir(parents=True, exist_ok=True)
        self.servers["redis"] = subprocess.Popen(
            [
                binary("redis-server"),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.ports["redis"]),
                "--dir",
                str(directory),
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "900 1 300 10 60 10000",
                "--logfile",
                str(self.root / "logs/redis.log"),
            ],
        )

    def start_nats(self) -> None:
        self.servers["nats"] = subprocess.Popen(
            [
                binary("nats-server"),
                "-a",
                "127.0.0.1",
                "-p",
                str(self.ports["nats"]),
                "-js",
                "-sd",
                str(self.data("nats")),
                "-l",
                str(self.root / "logs/nats.log"),
            ],
        )

    def wait_port(self, name: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.ports[name]), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{name} did not listen in {timeout:.0f} s")

    # Services.

    def start_services(self) -> None:
        logs = self.root / "logs"
        self.children = [
            child(
                f"index-{n}",
                self.ports[f"index-{n}"],
                self.index_env(n, f"index-{n}"),
                logs,
                "run",
                "index",
            )
            for n in (0, 1)
        ]
        for name in ("api", "worker", "cron"):
            self.children.append(child(name, self.ports[name], self.env(), logs, "run", name))
        for kid in self.children:
            kid.launch()
        wait_healthy(self.children)

    def crash(self) -> None:
        """SIGKILL every process, the database server's backends included, then delete
        every data directory."""
        for kid in self.children:
            kill(kid.process)
        for process in self.servers.values():
            kill(process)
        if self.cluster is not None:
            pid = int((self.cluster.data / "postmaster.pid").read_text().split()[0])
            children = subprocess.run(
                ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True
            ).stdout.split()
            for target in [pid, *map(int, children)]:
                with suppress(ProcessLookupError):
                    os.kill(target, signal.SIGKILL)
            time.sleep(0.5)
            shutil.rmtree(self.cluster.data)
        for name in ("redis", "nats", "index-0", "index-1"):
            shutil.rmtree(self.data(name), ignore_errors=True)

    def stop(self) -> None:
        for kid in self.children:
            kid.stop()
        deadline = time.monotonic() + 15
        for kid in self.children:
            kid.reap(deadline)
        for process in self.servers.values():
            process.terminate()
            process.wait(10)
        if self.cluster is not None:
            self.cluster.stop()


def binary(name: str) -> str:
    path = find_binary(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed")
    return path


def kill(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.kill()
        process.wait()


# Load and checks.


def submit(api: httpx.Client, keys: DemoKeys, seeds: list[int]) -> list[int]:
    ids: list[int] = []
    for i in range(0, len(seeds), SUBMIT_BATCH):
        resp = api.post("/v2/submit", data=submit_params(keys, seeds[i : i + SUBMIT_BATCH]))
        resp.raise_for_status()
        ids += [s["id"] for s in resp.json()["submissions"]]
    return ids


def wait_imported(cluster: Cluster, ids: list[int], timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    wanted = ",".join(map(str, ids))
    while True:
        pending = cluster.psql(
            "acoustid_ingest",
            f"SELECT count(*) FROM submission WHERE id IN ({wanted}) AND handled IS NOT TRUE",
        )
        if int(pending) == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{pending.strip()} submissions not imported in {timeout:.0f} s")
        time.sleep(0.5)


def lookups(api: httpx.Client, keys: DemoKeys, seeds: list[int]) -> dict[int, Any]:
    answers: dict[int, Any] = {}
    for i in range(0, len(seeds), LOOKUP_BATCH):
        batch = seeds[i : i + LOOKUP_BATCH]
        resp = api.post("/v2/lookup", data=lookup_params(keys, batch))
        resp.raise_for_status()
        for entry in resp.json()["fingerprints"]:
            answers[batch[entry["index"]]] = entry["results"]
    return answers


class Trickle(threading.Thread):
    """One submission every half second until stopped; remembers when each was accepted."""

    def __init__(self, api_url: str, keys: DemoKeys, first_seed: int) -> None:
        super().__init__(daemon=True)
        self.api_url, self.keys, self.seed = api_url, keys, first_seed
        self.acked: list[tuple[float, int]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.api_url, timeout=5) as api:
            while not self.halt.is_set():
                try:
                    [sid] = submit(api, self.keys, [self.seed])
                    self.acked.append((time.time(), sid))
                except httpx.HTTPError:
                    pass
                self.seed += 1
                self.halt.wait(TRICKLE_INTERVAL)


@contextmanager
def timed(steps: dict[str, float], name: str) -> Iterator[None]:
    started = time.monotonic()
    yield
    steps[name] = time.monotonic() - started
    print(f"  {name}: {steps[name]:.1f} s", flush=True)


def surviving_ids(cluster: Cluster, ids: list[int]) -> set[int]:
    wanted = ",".join(map(str, ids)) or "0"
    rows = cluster.psql("acoustid_ingest", f"SELECT id FROM submission WHERE id IN ({wanted})")
    return {int(line) for line in rows.split()}


def restore(stack: Stack, steps: dict[str, float]) -> None:
    assert stack.cluster is not None
    backup = stack.backup
    with timed(steps, "restore postgres (base backup + WAL replay)"):
        [base] = list((backup / "base").iterdir())
        stack.cluster = Cluster(owned_dir(stack.data("pg")), stack.ports["pg"])
        postgres.unpack_base_backup(base, stack.cluster.data)
        postgres.prepare_recovery(stack.cluster.data, backup / "wal")
        stack.cluster.start()
        stack.cluster.wait_writable(600)
    with timed(steps, "restore redis"):
        files.restore_tree(backup / "redis", stack.data("redis"))
        stack.start_redis()
        stack.wait_port("redis")
    with timed(steps, "restore nats"):
        files.restore_tree(backup / "nats", stack.data("nats"))
        stack.start_nats()
        stack.wait_port("nats")
    for shard in (0, 1):
        env = {**os.environ, **stack.index_env(shard, f"index-{shard}")}
        snapshot = backup / "index" / f"shard-{shard}.snapshot"
        with timed(steps, f"restore index shard {shard} (snapshot + catch-up rebuild)"):
            for command in (["restore", str(snapshot)], ["rebuild", "--quiet"]):
                done = subprocess.run(
                    [sys.executable, "-m", "services.cli", "index", *command],
                    env=env,
                    capture_output=True,
                    text=True,
                )
                if done.returncode != 0:
                    raise RuntimeError(f"index {command[0]} failed: {done.stderr}")
                print(f"    {done.stdout.strip()}", flush=True)
    with timed(steps, "start services"):
        stack.start_services()


def check_dumps(stack: Stack, counts: dict[str, int]) -> None:
    """Each dump restores into a scratch database with the row counts it was taken with."""
    assert stack.cluster is not None
    for db in DATABASES:
        scratch = f"drill_dump_{db}"
        stack.cluster.psql("postgres", f"CREATE DATABASE {scratch}")
        postgres.restore_dump(stack.backup / "dumps" / f"{db}.dump", stack.cluster.url(scratch))
    found = dump_counts(stack.cluster, prefix="drill_dump_")
    if found != counts:
        raise RuntimeError(f"dumps restored {found}, taken with {counts}")
    print(f"  dumps restore with the counts they were taken with: {found}", flush=True)


def dump_counts(cluster: Cluster, prefix: str = "acoustid_") -> dict[str, int]:
    return {
        "fingerprint": int(
            cluster.psql(f"{prefix}fingerprint", "SELECT count(*) FROM fingerprint")
        ),
        "track": int(cluster.psql(f"{prefix}fingerprint", "SELECT count(*) FROM track")),
        "submission": int(cluster.psql(f"{prefix}ingest", "SELECT count(*) FROM submission")),
        "account": int(cluster.psql(f"{prefix}app", "SELECT count(*) FROM account")),
    }


def new_replica(stack: Stack, seeds: list[int]) -> None:
    """A third index process for shard 0 with an empty directory and the shard's running
    replica as its peer: it copies the snapshot, replays FPINDEX, and answers the same."""
    peer = stack.index_urls()[0]
    replica = child(
        "index-2",
        stack.ports["index-2"],
        stack.index_env(2, "index-2", peer),
        stack.root / "logs",
        "run",
        "index",
    )
    replica.launch()
    stack.children.append(replica)
    wait_healthy([replica])
    with httpx.Client(timeout=5) as http:
        for seed in seeds:
            query = {"query": extract_query(items(seed)).tolist(), "limit": 5}
            answers = [
                http.post(f"{url}/main/_search", json=query).json() for url in (peer, replica.url)
            ]
            if answers[0] != answers[1]:
                raise RuntimeError(f"new replica answers {answers[1]}, its peer {answers[0]}")
        docs = http.get(f"{replica.url}/main").json()["stats"]["num_docs"]
    print(
        f"  new shard-0 replica bootstrapped from its peer: {docs} documents,"
        f" the same answers to {len(seeds)} searches",
        flush=True,
    )


def drill(root: Path, loaded: int, after: int, trickle_seconds: float) -> int:
    stack = Stack(root)
    steps: dict[str, float] = {}
    print(f"DR drill in {root}", flush=True)
    try:
        stack.start_postgres()
        stack.start_redis()
        stack.start_nats()
        stack.wait_port("redis")
        stack.wait_port("nats")
        assert stack.cluster is not None
        keys = asyncio.run(prepare(stack.settings()))
        stack.start_services()
        api = httpx.Client(base_url=f"http://127.0.0.1:{stack.ports['api']}", timeout=30)
        first = list(range(1, loaded + 1))
        with timed(steps, f"load {loaded} submissions"):
            wait_imported(stack.cluster, submit(api, keys, first))
        redis.Redis.from_url(stack.settings().redis_url).set(MARKER, str(time.time()))
        counts = dump_counts(stack.cluster)
        with timed(steps, "daily backup"):
            take(
                stack.settings(),
                stack.backup,
                Sources(
                    redis_dir=stack.data("redis"),
                    nats_store=stack.data("nats"),
                    index_dirs={0: stack.data("index-0"), 1: stack.data("index-1")},
                ),
            )
        later = list(range(loaded + 1, loaded + after + 1))
        trickle = Trickle(str(api.base_url), keys, loaded + after + 1)
        trickle.start()
        with timed(steps, f"{after} submissions after the backup"):
            later_ids = submit(api, keys, later)
            wait_imported(stack.cluster, later_ids)
        before = lookups(api, keys, first + later)
        unmatched = [seed for seed, answer in before.items() if not answer]
        if unmatched:
            raise RuntimeError(f"{len(unmatched)} imported fingerprints are not found by lookup")
        print(f"  recorded {len(before)} lookups; writing until the crash", flush=True)
        time.sleep(max(0.0, trickle_seconds - steps[f"{after} submissions after the backup"]))
        trickle.halt.set()
        trickle.join()
        stack.crash()
        crashed = time.monotonic()
        print("CRASH: every process killed, every data directory deleted", flush=True)
        restore(stack, steps)
        after_answers = lookups(api, keys, first + later)
        changed = differences(before, after_answers)
        if changed:
            print("\n".join(changed[:10]), file=sys.stderr)
            raise RuntimeError(f"{len(changed)} of {len(before)} lookups answer differently")
        rto = time.monotonic() - crashed
        print(f"  all {len(before)} lookups answer exactly as before the crash", flush=True)
        survivors = surviving_ids(stack.cluster, later_ids + [sid for _, sid in trickle.acked])
        missing_later = set(later_ids) - survivors
        if missing_later:
            raise RuntimeError(f"{len(missing_later)} submissions made after the dump were lost")
        print(
            f"  all {len(later_ids)} submissions made after the dump survived (WAL replay)",
            flush=True,
        )
        rpo, lost = rpo_seconds(trickle.acked, survivors)
        marker = redis.Redis.from_url(stack.settings().redis_url).get(MARKER)
        if marker is None:
            raise RuntimeError("Redis lost the key written before its backup")
        print("  Redis holds the key written before its backup", flush=True)
        check_dumps(stack, counts)
        new_replica(stack, first[:50] + later[:50])
        print(report(rto, rpo, lost, steps), flush=True)
        record = {
            "rto_s": rto,
            "rpo_s": rpo,
            "lost": lost,
            "acked": len(trickle.acked),
            "lookups": len(before),
            "steps": steps,
        }
        RESULT.parent.mkdir(parents=True, exist_ok=True)
        RESULT.write_text(json.dumps(record, indent=2) + "\n")
        print(f"written to {RESULT}", flush=True)
        return 0 if rto <= RTO_TARGET and rpo <= RPO_TARGET else 1
    finally:
        stack.stop()


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m deploy.backup.drill", description=__doc__)
    p.add_argument("--loaded", type=int, default=1000, help="submissions before the backup")
    p.add_argument("--after", type=int, default=200, help="submissions after the backup")
    p.add_argument(
        "--trickle-seconds",
        type=float,
        default=75.0,
        help="seconds of writes after the backup (more than archive_timeout)",
    )
    p.add_argument("--keep", action="store_true", help="keep the drill's directory")
    args = p.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="acoustid-dr-"))
    root.chmod(0o755)
    try:
        return drill(root, args.loaded, args.after, args.trickle_seconds)
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
