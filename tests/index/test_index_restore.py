"""``acoustid index restore``: a snapshot saved to a file becomes a served index again."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import httpx
import pytest

from libs.common.nats import delete_streams
from services.index.restore import restore
from tests.conftest import settings_env
from tests.index.conftest import index_settings, served
from tests.index.test_index_bootstrap import terms


async def test_saved_snapshot_restores_into_an_empty_directory(tmp_path):
    run = uuid.uuid4().hex[:8]
    first = index_settings(tmp_path / "a", run=run, index_checkpoint_age=0.2)
    saved = tmp_path / "main.snapshot"
    try:
        async with served(first) as (url_a,), httpx.AsyncClient(base_url=url_a) as a:
            changes = [{"insert": {"id": i, "hashes": terms(i)}} for i in range(1, 100)]
            assert (await a.post("/main/_update", json={"changes": changes})).status_code == 200
            for _ in range(100):
                status = (await a.get("/main/_status")).json()
                if status["file_version"] == status["version"]:
                    break
                await asyncio.sleep(0.05)
            async with a.stream("GET", "/main/_snapshot") as resp:
                assert resp.status_code == 200
                with saved.open("wb") as f:
                    async for chunk in resp.aiter_bytes():
                        f.write(chunk)
        restored = await restore(saved, tmp_path / "b")
        assert restored.applied_seq == status["file_version"]
        second = index_settings(tmp_path / "b", run=run)
        async with served(second) as (url_b,), httpx.AsyncClient(base_url=url_b) as b:
            for id_ in (1, 50, 99):
                resp = await b.post("/main/_search", json={"query": terms(id_)})
                assert resp.json() == {"results": [{"id": id_, "score": 120}]}
        with pytest.raises(FileExistsError, match="already holds an index"):
            await restore(saved, tmp_path / "b")
    finally:
        await delete_streams(first)


def test_cli_reports_a_truncated_snapshot(tmp_path):
    bad = tmp_path / "cut.snapshot"
    bad.write_bytes(b"\x85")
    env = settings_env(index_settings(tmp_path / "c"))
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "index", "restore", str(bad)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: ")
    assert not (tmp_path / "c" / "manifest.json").exists()
