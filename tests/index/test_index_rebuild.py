"""``python -m services.index rebuild`` against a real PostgreSQL table: resumable, complete."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import uuid

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from libs.chromaprint_cy.query import extract_query
from libs.common.migrations import create_database, drop_database
from libs.common.settings import DEFAULT_PG
from services.index.store import Store, lock_directory
from tests.conftest import REPO, closed_port_url, settings_env
from tests.index.conftest import index_settings

ROWS = 3000


@pytest.fixture
async def fingerprint_db():
    url = f"{DEFAULT_PG}/test_{uuid.uuid4().hex[:8]}_rebuild"
    await create_database(url)
    engine = create_async_engine(url)
    rng = np.random.default_rng(5)
    fps = rng.integers(-(2**31), 2**31, (ROWS, 300), dtype=np.int64)
    async with engine.begin() as conn:
        await conn.execute(
            text("CREATE TABLE fingerprint (id serial PRIMARY KEY, fingerprint int4[] NOT NULL)")
        )
        await conn.execute(
            text("INSERT INTO fingerprint (fingerprint) VALUES (:fp)"),
            [{"fp": row.tolist()} for row in fps],
        )
    await engine.dispose()
    yield url, fps
    await drop_database(url)


def rebuild(settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.index", "rebuild", "--quiet", *args],
        cwd=REPO,
        env={**os.environ, **settings_env(settings)},
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_rebuild_resumes_and_finds_every_fingerprint(tmp_path, fingerprint_db):
    url, fps = fingerprint_db
    settings = index_settings(tmp_path / "data", fingerprint_database_url=url)
    first = rebuild(settings, "--batch-size", "500", "--max-rows", "1200")
    assert first.returncode == 0, first.stderr
    assert "rebuilt 1200 fingerprints up to id 1200" in first.stdout
    second = rebuild(settings, "--batch-size", "500")
    assert second.returncode == 0, second.stderr
    assert "resuming after id 1200" in second.stdout
    assert f"rebuilt {ROWS - 1200} fingerprints up to id {ROWS}" in second.stdout

    store = Store.open(tmp_path / "data")
    assert store.snapshot.attributes["rebuild_last_id"] == str(ROWS)
    assert store.stats().num_docs == ROWS
    for i in range(0, ROWS, 97):
        query = extract_query(fps[i])
        results, _ = store.search(query, limit=10, min_score=6, score_pct=10)
        assert results[0] == (i + 1, len(query))


async def test_rebuild_refuses_a_directory_in_use(tmp_path, fingerprint_db):
    settings = index_settings(tmp_path / "data", fingerprint_database_url=fingerprint_db[0])
    fd = lock_directory(tmp_path / "data")
    try:
        result = rebuild(settings)
    finally:
        os.close(fd)
    assert result.returncode != 0
    assert result.stderr.startswith("error: ") and "in use by another" in result.stderr


async def test_rebuild_killed_midway_resumes_to_the_same_index(tmp_path, fingerprint_db):
    url, fps = fingerprint_db
    settings = index_settings(
        tmp_path / "data", fingerprint_database_url=url, index_checkpoint_postings=20_000
    )
    env = {**os.environ, **settings_env(settings)}
    cmd = [sys.executable, "-m", "services.index", "rebuild", "--batch-size", "10"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = 0
    while seen < ROWS // 3 and proc.poll() is None:
        chunk = proc.stderr.read1(4096).decode()  # type: ignore[union-attr]
        seen = max([seen, *(int(n) for n in re.findall(r"id (\d+)", chunk))])
    proc.kill()
    assert proc.wait() == -signal.SIGKILL, "the rebuild finished before it could be killed"
    again = rebuild(settings, "--batch-size", "500")
    assert again.returncode == 0, again.stderr
    resumed = int(re.search(r"resuming after id (\d+)", again.stdout).group(1))  # type: ignore[union-attr]
    assert 0 < resumed < ROWS
    assert f"rebuilt {ROWS - resumed} fingerprints up to id {ROWS}" in again.stdout
    store = Store.open(tmp_path / "data")
    assert store.stats().num_docs == ROWS
    for i in range(0, ROWS, 131):
        query = extract_query(fps[i])
        assert store.search(query, limit=1, min_score=6, score_pct=10)[0] == [(i + 1, len(query))]


def test_rebuild_without_database_says_so(tmp_path):
    url = closed_port_url("postgresql+asyncpg") + "/nothing"
    result = rebuild(index_settings(tmp_path / "data", fingerprint_database_url=url))
    assert result.returncode == 1
    assert "error: fingerprint database" in result.stderr
    assert "Traceback" not in result.stderr
