"""With nothing answering, private PostgreSQL, Redis and NATS start from the installed
binaries under the data folder, answer, and are gone again after ``stop``."""

from __future__ import annotations

import shutil
from pathlib import Path

from libs.common import localservers
from libs.common.settings import Settings
from tests.conftest import free_port


def test_private_servers_start_answer_and_stop(tmp_path: Path) -> None:
    pg, redis, nats = free_port(), free_port(), free_port()
    settings = Settings(
        app_database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{pg}/acoustid_app",
        redis_url=f"redis://127.0.0.1:{redis}/0",
        nats_servers=[f"nats://127.0.0.1:{nats}"],
    )
    started = localservers.ensure(settings, tmp_path / "dev")
    pg_data = localservers.postgres_dir((tmp_path / "dev" / "postgresql").resolve())
    try:
        assert [s.started for s in started] == [True, True, True]
        assert all(s.answers() for s in started)
        assert (pg_data / "PG_VERSION").exists()
    finally:
        localservers.stop(started)
        shutil.rmtree(pg_data, ignore_errors=True)
    assert not any(s.answers() for s in started)
