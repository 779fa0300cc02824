"""The ``acoustid`` command as an operator types it."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys

from libs.common.apikeys import generate_api_key
from libs.common.settings import Settings
from tests.conftest import REPO, settings_env


def acoustid(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
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
    assert lines == [
        "app: 0001_app",
        "fingerprint: 0003_fingerprint",
        "ingest: 0001_ingest",
        "musicbrainz: 0001_musicbrainz",
    ]


def test_musicbrainz_import_of_a_missing_file_says_so_and_changes_nothing() -> None:
    result = acoustid("musicbrainz", "import", "no/such/mbdump.tar.bz2")
    assert result.returncode == 1
    assert "no/such/mbdump.tar.bz2: no such file or directory" in result.stderr
    assert "nothing changed" in result.stderr


def test_unknown_service_is_a_usage_error() -> None:
    result = acoustid("run", "nosuch")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_extra_arguments_to_a_command_without_its_own_options_are_refused() -> None:
    result = acoustid("db", "current", "--bogus")
    assert result.returncode == 2
    assert "unrecognized arguments: --bogus" in result.stderr


def test_help_lists_every_command() -> None:
    result = acoustid("--help")
    assert result.returncode == 0
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("    ")}
    assert {"run", "db", "dev", "fpcalc", "index", "application", "musicbrainz"} <= listed


def test_fpcalc_loads_no_database_web_or_service_code() -> None:
    """Scripts run fpcalc once per file, so its start-up must not pay for the service stack."""
    probe = (
        "import sys; from services.cli.main import main; main(['fpcalc', '-version']); "
        "print(sorted({m.split('.')[0] for m in sys.modules}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    version, loaded = result.stdout.splitlines()
    assert version.startswith("fpcalc version 1.5.1 (FFmpeg Lavc")
    heavy = {"sqlalchemy", "asyncpg", "fastapi", "starlette", "pydantic", "redis", "nats", "httpx"}
    assert heavy.isdisjoint(eval(loaded)), loaded


def test_libs_never_name_services() -> None:
    """The CLI sits above the services: nothing under libs/ imports or spawns one by name."""
    offenders = []
    for path in sorted((REPO / "libs").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names = [node.value]
            offenders += [f"{path}: {n}" for n in names if n.startswith("services.")]
    assert offenders == []


def test_application_add_accepts_a_given_key_once(migrated: Settings) -> None:
    """As ``--name Picard --key v8pQ6oyB`` does; a key of its own so the test holds whatever
    other tests registered in the session's database."""
    env = {**os.environ, **settings_env(migrated)}
    key = generate_api_key()[:8]
    name = f"Tagger {key}"
    first = acoustid("application", "add", "--name", name, "--key", key, env=env)
    assert first.returncode == 0, first.stderr
    assert re.fullmatch(rf"added: application \d+ {name} key {key}\n", first.stdout)
    again = acoustid("application", "add", "--name", name, "--key", key, env=env)
    assert again.returncode == 0
    assert again.stdout == first.stdout.replace("added:", "exists:")
    taken = acoustid("application", "add", "--name", "Other", "--key", key, env=env)
    assert taken.returncode == 1
    assert f"key {key} already belongs to application" in taken.stderr
    bad = acoustid("application", "add", "--name", "X", "--key", "a b", env=env)
    assert bad.returncode == 1
    assert "use 4 to 64 letters" in bad.stderr


def test_known_clients_are_each_their_own_application(migrated: Settings) -> None:
    env = {**os.environ, **settings_env(migrated)}
    added = acoustid("application", "add", "--known-clients", env=env)
    assert added.returncode == 0, added.stderr
    listing = acoustid("application", "list", env=env)
    rows = {row.split("\t")[3]: row.split("\t") for row in listing.stdout.splitlines()}
    assert rows["Picard"][1:3] == ["v8pQ6oyB", "active"]
    assert rows["beets"][1:3] == ["1vOwZtEn", "active"]
    assert rows["Picard"][0] != rows["beets"][0]


def test_new_application_without_a_key_gets_a_generated_one(migrated: Settings) -> None:
    env = {**os.environ, **settings_env(migrated)}
    result = acoustid("application", "add", "--name", "My tagger", "--version", "0.1", env=env)
    assert result.returncode == 0, result.stderr
    key = result.stdout.split()[-1]
    assert len(key) == 10 and key.isalnum()
