"""The ``acoustid`` command as an operator types it."""

from __future__ import annotations

import os
import subprocess
import sys

from libs.common.settings import Settings
from tests.conftest import REPO, settings_env


def acoustid(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "libs.common.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_db_current_names_each_database_at_head(migrated: Settings) -> None:
    result = acoustid("db", "current", env={**os.environ, **settings_env(migrated)})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines == ["app: 0002_app", "fingerprint: 0003_fingerprint", "ingest: 0001_ingest"]


def test_capability_of_a_later_issue_says_what_it_waits_for() -> None:
    result = acoustid("musicbrainz", "import", "mbdump.tar.bz2")
    assert result.returncode == 2
    assert "MusicBrainz data issue" in result.stderr


def test_unknown_service_is_a_usage_error() -> None:
    result = acoustid("run", "nosuch")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
