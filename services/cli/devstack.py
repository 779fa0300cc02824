"""``make dev``: the whole stack on this machine, supervised in the foreground.

It makes sure PostgreSQL, Redis and NATS answer (starting private ones if needed), creates
and migrates the databases, loads the sample MusicBrainz dump into empty MusicBrainz
tables, creates the demo account, starts api, web, worker, index and
cron as child processes, waits until each is healthy, then writes ``<dev_dir>/stack.json``
for scripts and tests. Ctrl-C or SIGTERM stops the children and any server started here; a
child that dies is restarted with a backoff (libs.common.supervisor), and the state of every
child is served at the stack's own ``/_health``.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from libs.common import localservers, migrations
from libs.common.apikeys import DemoKeys, ensure_demo_account
from libs.common.applications import ensure_known_clients
from libs.common.db import Database, Databases, database_url
from libs.common.logging import configure_logging
from libs.common.musicbrainz import importer, sample
from libs.common.musicbrainz import schema as mb_schema
from libs.common.nats import connect, ensure_streams
from libs.common.settings import Settings, get_settings
from libs.common.supervisor import Supervised, serve_health, supervise

log = logging.getLogger("devstack")

HEALTH_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0


@dataclass
class Child(Supervised):
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def children(settings: Settings, logs: Path) -> list[Child]:
    ports = {
        "api": settings.api_port,
        "web": settings.web_port,
        "index": settings.index_port,
        "worker": settings.worker_metrics_port,
        "cron": settings.cron_metrics_port,
    }
    return [
        Child(
            name,
            [sys.executable, "-m", "services.cli", "run", name],
            logs / f"{name}.log",
            port=port,
        )
        for name, port in ports.items()
    ]


async def prepare(settings: Settings) -> DemoKeys:
    """Databases, migrations, streams, the demo account and the known clients: idempotent."""
    for db in Database:
        if await migrations.create_database(database_url(settings, db)):
            log.info("created database %s", db.value)
        await asyncio.to_thread(migrations.upgrade, settings, db)
    await load_sample_musicbrainz(settings)
    nc = await connect(settings, "devstack")
    try:
        await ensure_streams(nc.jetstream(), settings)
    finally:
        await nc.close()
    databases = Databases(settings)
    try:
        async with databases.session(Database.APP) as session:
            keys = await ensure_demo_account(session)
            if settings.dev_known_clients:
                await ensure_known_clients(session)
            return keys
    finally:
        await databases.dispose()


async def load_sample_musicbrainz(settings: Settings) -> None:
    """The sample MusicBrainz dump, so the demo tracks' MBIDs show titles and artists; MusicBrainz
    tables that already hold data (a real dump an operator imported) are left alone."""
    url = database_url(settings, Database.MUSICBRAINZ)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            loaded = await conn.scalar(
                text(f'SELECT count(*) FROM "{mb_schema.SCHEMA}".replication_control')
            )
    finally:
        await engine.dispose()
    if loaded:
        return
    path = await asyncio.to_thread(sample.write_sample, settings.dev_dir / "mbdump-sample")
    await importer.import_dumps(url, [path], io.StringIO())
    log.info("imported the sample MusicBrainz dump %s", path)


def wait_healthy(kids: list[Child]) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT
    pending = list(kids)
    with httpx.Client(timeout=3.0) as client:
        while pending:
            for child in list(pending):
                if child.process is not None and child.process.poll() is not None:
                    raise RuntimeError(f"{child.name} exited; see {child.log_path}")
                try:
                    if client.get(f"{child.url}/_health").status_code == 200:
                        log.info("%s is healthy at %s", child.name, child.url)
                        pending.remove(child)
                except httpx.HTTPError:
                    pass
            if pending and time.monotonic() > deadline:
                names = ", ".join(c.name for c in pending)
                raise RuntimeError(f"not healthy after {HEALTH_TIMEOUT:.0f}s: {names}")
            if pending:
                time.sleep(0.3)


class Stop(Exception):
    """Raised from the signal handler to leave the supervision loop."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


DEMO_TRACKS = Path(__file__).with_name("demo_tracks.json")


def seed_demo_tracks(api: str, keys: DemoKeys, fingerprints: int) -> dict[str, object]:
    """Submits the demo tracks through the API on a fresh stack and waits for the import.

    Returns one demo track so the banner can print a lookup that finds something; a stack
    that already has fingerprints is left as it is.
    """
    tracks = json.loads(DEMO_TRACKS.read_text())["tracks"]
    if fingerprints == 0:
        with httpx.Client(base_url=api, timeout=10) as client:
            ids = []
            for track in tracks:
                params = {"client": keys.client, "user": keys.user, "mbid": track["mbid"]}
                params |= {"duration": track["duration"], "fingerprint": track["fingerprint"]}
                body = client.post("/v2/submit", data=params).json()
                ids += [sub["id"] for sub in body["submissions"]]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                status = client.post(
                    "/v2/submission_status", data={"client": keys.client, "id": ids}
                ).json()
                if all(sub["status"] == "imported" for sub in status["submissions"]):
                    break
                time.sleep(0.3)
            log.info("imported %d demo tracks", len(ids))
    first: dict[str, object] = tracks[0]
    return first


async def count_fingerprints(settings: Settings) -> int:
    databases = Databases(settings)
    try:
        async with databases.engine(Database.FINGERPRINT).connect() as conn:
            return int(await conn.scalar(text("SELECT count(*) FROM fingerprint")) or 0)
    finally:
        await databases.dispose()


def write_stack(settings: Settings, kids: list[Child], keys: DemoKeys) -> Path:
    urls = {child.name: child.url for child in kids}
    stack = {
        "api": urls["api"],
        "web": urls["web"],
        "index": urls["index"],
        "supervisor": f"http://127.0.0.1:{settings.dev_supervisor_port}",
        "client": keys.client,
        "user": keys.user,
    }
    path = settings.dev_dir / "stack.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(stack, indent=2) + "\n")
    os.replace(tmp, path)
    return path


def banner(kids: list[Child], keys: DemoKeys, stack: Path, demo: dict[str, object]) -> str:
    lines = ["", "AcoustID stack is up:"]
    lines += [f"  {child.name:<7} {child.url}" for child in kids]
    lines += [
        "",
        f"  client (application) key: {keys.client}",
        f"  user key:                 {keys.user}",
        "",
        "Point a client at the api; a demo track to look up:",
        f"  curl -d client={keys.client} -d meta=recordings -d duration={demo['duration']} \\",
        f"       -d fingerprint={str(demo['fingerprint'])[:24]}... {kids[0].url}/v2/lookup",
        f"  (the whole fingerprint is in {DEMO_TRACKS})",
        f"Written to {stack}. Logs in {stack.parent / 'logs'}. Ctrl-C stops everything.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    # What this command starts is a development stack: its default website secret is fine.
    os.environ.setdefault("ACOUSTID_ENV", "development")
    get_settings.cache_clear()
    settings = get_settings()
    configure_logging("devstack", settings.log_level)
    settings.dev_dir.mkdir(parents=True, exist_ok=True)
    logs = settings.dev_dir / "logs"
    logs.mkdir(exist_ok=True)
    (settings.dev_dir / "stack.json").unlink(missing_ok=True)
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    servers: list[localservers.Server] = []
    kids = children(settings, logs)
    try:
        servers = localservers.ensure(settings, settings.dev_dir)
        keys = asyncio.run(prepare(settings))
        for child in kids:
            child.launch()
        wait_healthy(kids)
        fingerprints = asyncio.run(count_fingerprints(settings))
        demo = seed_demo_tracks(kids[0].url, keys, fingerprints)
        stack = write_stack(settings, kids, keys)
        health = serve_health(list(kids), "127.0.0.1", settings.dev_supervisor_port)
        print(banner(kids, keys, stack, demo), flush=True)
        try:
            supervise(list(kids), threading.Event())
        finally:
            health.shutdown()
    except Stop as stop:
        log.info("stopping on %s", stop)
        return 0
    except (RuntimeError, localservers.ServerError, OSError) as exc:
        log.error("make dev failed: %s", exc)
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for child in kids:
            child.stop()
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in kids:
            child.reap(deadline)
        localservers.stop(servers)
        (settings.dev_dir / "stack.json").unlink(missing_ok=True)
        log.info("stopped")
    return 0
