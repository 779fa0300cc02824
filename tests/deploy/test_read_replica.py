"""Lookups served by a real streaming replica (``ACOUSTID_*_DATABASE_URL_RO``).

A private primary and a hot standby made from it with ``pg_basebackup -R`` run on free
ports; the API reads the standby, writes and ``/_health`` use the primary. Pausing the
standby's WAL replay shows which server a lookup reads: a track stored on the primary is
not found until replay resumes.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from libs.common import localservers, migrations
from libs.common.db import Database, Databases
from libs.common.models.fingerprint import Track
from libs.common.pgcluster import Cluster, free_port
from libs.common.settings import Settings
from tests.api.conftest import Keys, create_keys
from tests.api.world import World, fp, world
from tests.conftest import settings_for_run

# The MusicBrainz tables stay in the app database (the default), read from its replica.
DB_NAMES = {
    db: f"acoustid_{db.value}" for db in (Database.APP, Database.FINGERPRINT, Database.INGEST)
}


@pytest.fixture(scope="module")
def clusters(
    tmp_path_factory: pytest.TempPathFactory, local_servers: list[localservers.Server]
) -> Iterator[tuple[Cluster, Cluster]]:
    base = tmp_path_factory.mktemp("replica")
    primary = Cluster.create(base / "primary", free_port())
    replica: Cluster | None = None
    try:
        primary.start()
        for name in DB_NAMES.values():
            primary.psql("postgres", f"CREATE DATABASE {name}")
        replica = Cluster.replica_of(primary, base / "standby", free_port())
        replica.start()
        yield primary, replica
    finally:
        if replica is not None:
            replica.destroy()
        primary.destroy()


@pytest.fixture(scope="module")
def replica_settings(clusters: tuple[Cluster, Cluster], run_id: str) -> Settings:
    primary, replica = clusters
    urls: dict[str, object] = {}
    for db, name in DB_NAMES.items():
        urls[f"{db.value}_database_url"] = primary.url(name)
        urls[f"{db.value}_database_url_ro"] = replica.url(name)
    settings = settings_for_run(f"{run_id}ro", **urls)
    for db in Database:
        migrations.upgrade(settings, db)
    return settings


@pytest.fixture(scope="module")
async def replica_world(
    replica_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    async with world(replica_settings, tmp_path_factory.mktemp("index") / "data") as w:
        yield w


@pytest.fixture(scope="module")
async def replica_keys(replica_world: World) -> Keys:
    return await create_keys(replica_world.settings)


def replay(replica: Cluster, action: str) -> None:
    replica.psql("postgres", f"SELECT pg_wal_replay_{action}()")


def wait_replayed(primary: Cluster, replica: Cluster) -> None:
    """Until the standby has replayed everything the primary has written so far."""
    target = primary.psql("postgres", "SELECT pg_current_wal_lsn()").strip()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        behind = replica.psql("postgres", f"SELECT pg_last_wal_replay_lsn() < '{target}'")
        if behind.strip() == "f":
            return
        time.sleep(0.1)
    raise AssertionError("the standby did not catch up in 20 s")


async def lookup(w: World, keys: Keys, **params: str) -> httpx.Response:
    return await w.client.post("/v2/lookup", data={"client": keys.client, **params})


async def store_track(settings: Settings) -> str:
    databases = Databases(settings)
    try:
        async with databases.session(Database.FINGERPRINT) as session:
            track = Track(gid=uuid.uuid4())
            session.add(track)
            await session.commit()
            return str(track.gid)
    finally:
        await databases.dispose()


async def test_lookup_reads_the_standby_not_the_primary(
    clusters: tuple[Cluster, Cluster], replica_world: World, replica_keys: Keys
) -> None:
    primary, replica = clusters
    wait_replayed(primary, replica)
    replay(replica, "pause")
    try:
        gid = await store_track(replica_world.settings)
        paused = await lookup(replica_world, replica_keys, trackid=gid)
        assert paused.status_code == 200, paused.text
        assert paused.json()["results"] == []
    finally:
        replay(replica, "resume")
    wait_replayed(primary, replica)
    resumed = await lookup(replica_world, replica_keys, trackid=gid)
    assert resumed.json()["results"] == [{"id": gid, "score": 1.0}]
    clients = replica.psql(
        "postgres",
        "SELECT count(*) FROM pg_stat_activity WHERE datname = 'acoustid_fingerprint'"
        " AND client_addr IS NOT NULL",
    )
    assert int(clients) > 0, "no API connection on the standby"


async def test_lookups_go_on_while_the_primary_is_down(
    clusters: tuple[Cluster, Cluster], replica_world: World, replica_keys: Keys
) -> None:
    primary, replica = clusters
    wait_replayed(primary, replica)
    track_gid = replica_world.tracks["b"][1]
    before = await lookup(
        replica_world, replica_keys, fingerprint=fp(replica_world.prints["b"]), duration="200"
    )
    assert [r["id"] for r in before.json()["results"]] == [track_gid]
    primary.stop()
    try:
        during = await lookup(
            replica_world, replica_keys, fingerprint=fp(replica_world.prints["b"]), duration="200"
        )
        assert during.status_code == 200, during.text
        assert during.json() == before.json()
        ro = await replica_world.client.get("/_health_ro")
        assert (ro.status_code, ro.text) == (200, "ok")
        rw = await replica_world.client.get("/_health")
        assert rw.status_code == 503
        assert "postgres-fingerprint" in rw.text
    finally:
        primary.start()


async def test_health_ro_fails_while_the_standby_is_down(
    clusters: tuple[Cluster, Cluster], replica_world: World, replica_keys: Keys
) -> None:
    _, replica = clusters
    replica.stop()
    try:
        ro = await replica_world.client.get("/_health_ro")
        assert ro.status_code == 503
        lines = ro.text.splitlines()
        assert lines[0] == "unhealthy"
        assert {line.split(":")[0] for line in lines[1:]} == {
            "postgres-app",
            "postgres-fingerprint",
            "postgres-ingest",
        }
        rw = await replica_world.client.get("/_health")
        assert (rw.status_code, rw.text) == (200, "ok")
    finally:
        replica.start()
    for _ in range(50):
        if (await replica_world.client.get("/_health_ro")).status_code == 200:
            break
        await asyncio.sleep(0.1)
    again = await lookup(replica_world, replica_keys, trackid=replica_world.tracks["a"][1])
    assert again.status_code == 200
    assert [r["id"] for r in again.json()["results"]] == [replica_world.tracks["a"][1]]
