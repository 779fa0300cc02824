"""The backup and DR drill's parts: the figures it reports, the files it copies, and a
point-in-time restore of a private PostgreSQL from a base backup plus its WAL archive."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from deploy.backup import drill, files, postgres
from libs.common.apikeys import DemoKeys
from libs.common.pgcluster import Cluster, free_port, owned_dir

KEYS = DemoKeys(client="c", user="u")


def test_rpo_is_the_span_of_acknowledged_writes_lost() -> None:
    acked = [(100.0, 1), (100.5, 2), (101.0, 3), (101.5, 4)]
    assert drill.rpo_seconds(acked, {1, 2, 3, 4}) == (0.0, 0)
    assert drill.rpo_seconds(acked, {1, 2}) == (0.5, 2)
    assert drill.rpo_seconds(acked, set()) == (1.5, 4)
    assert drill.rpo_seconds([], set()) == (0.0, 0)


def test_differences_name_each_changed_or_missing_answer() -> None:
    before = {1: [{"id": "a", "score": 1.0}], 2: [{"id": "b", "score": 1.0}], 3: []}
    after = {1: [{"id": "a", "score": 1.0}], 2: [{"id": "b", "score": 0.9}]}
    lines = drill.differences(before, after)
    assert len(lines) == 2
    assert lines[0].startswith("seed 2: before [{'id': 'b', 'score': 1.0}], after")
    assert lines[1] == "seed 3: before [], after None"
    assert drill.differences(before, dict(before)) == []


def test_report_compares_with_the_seeds_objectives() -> None:
    text = drill.report(600.0, 42.0, 7, {"restore postgres": 12.34})
    assert "RTO 10.00 min (target 60 min): met" in text
    assert "RPO 42.0 s of acknowledged writes lost, 7 submissions (target 300 s): met" in text
    assert "restore postgres 12.3" in text
    missed = drill.report(3700.0, 301.0, 1, {})
    assert "RTO 61.67 min (target 60 min): MISSED" in missed
    assert "(target 300 s): MISSED" in missed


def test_submissions_and_lookups_carry_the_same_fingerprints() -> None:
    submit = drill.submit_params(KEYS, [5, 6])
    lookup = drill.lookup_params(KEYS, [5, 6])
    assert submit["fingerprint.1"] == lookup["fingerprint.1"] == drill.fingerprint(6)
    assert submit["duration.0"] == lookup["duration.0"] == "125"
    assert uuid.UUID(submit["mbid.0"]).version == 4
    assert submit["fingerprint.0"] != submit["fingerprint.1"]
    assert (lookup["batch"], lookup["client"], submit["user"]) == ("1", "c", "u")


def manifest(segments: list[str]) -> bytes:
    return json.dumps({"format": 1, "crc32": 0, "body": {"segments": segments}}).encode()


def test_segment_copy_takes_exactly_what_the_manifest_lists(tmp_path: Path) -> None:
    data, dest = tmp_path / "data", tmp_path / "copy"
    data.mkdir()
    for name in ("a.seg", "b.seg", "orphan.seg"):
        (data / name).write_bytes(name.encode() * 10)
    (data / "manifest.json").write_bytes(manifest(["a.seg", "b.seg"]))
    dest.mkdir()
    (dest / "old.seg").write_bytes(b"from an earlier copy")
    assert files.copy_segments(data, dest) == ["a.seg", "b.seg"]
    assert sorted(p.name for p in dest.iterdir()) == ["a.seg", "b.seg", "manifest.json"]
    assert (dest / "b.seg").read_bytes() == (data / "b.seg").read_bytes()
    (data / "manifest.json").write_bytes(manifest(["gone.seg"]))
    with pytest.raises(RuntimeError, match="kept changing"):
        files.copy_segments(data, dest)


def test_restores_go_into_empty_directories_only(tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "dump.rdb").write_bytes(b"REDIS")
    files.restore_tree(backup, tmp_path / "fresh")
    assert (tmp_path / "fresh" / "dump.rdb").read_bytes() == b"REDIS"
    with pytest.raises(RuntimeError, match="not empty"):
        files.restore_tree(backup, tmp_path / "fresh")


def test_urls_and_settings_for_the_postgres_tools(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://u:p%40ss@db.example:5433/acoustid_app"
    assert postgres.libpq_url(url) == "postgresql://u:p%40ss@db.example:5433/acoustid_app"
    assert postgres.server_url(url) == "postgresql://u:p%40ss@db.example:5433/postgres"
    assert postgres.server_label(url) == "db.example_5433"
    archive = postgres.archive_settings(Path("/b/wal"))
    assert archive["archive_command"] == "test ! -f /b/wal/%f && cp %p /b/wal/%f"
    assert archive["archive_timeout"] == "60"
    recovery = postgres.recovery_settings(Path("/b/wal"), "2026-01-01 00:00:00+00")
    assert recovery["restore_command"] == "cp /b/wal/%f %p"
    assert recovery["recovery_target_action"] == "promote"


def test_base_backup_and_wal_archive_restore_writes_after_the_backup(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A crash after the base backup loses nothing that reached the archive."""
    root = tmp_path_factory.mktemp("pitr")
    root.chmod(0o755)
    wal = owned_dir(root / "wal")
    primary = Cluster.create(root / "pg", free_port(), postgres.archive_settings(wal))
    try:
        primary.start()
        primary.psql("postgres", "CREATE TABLE t (n int)")
        primary.psql("postgres", "INSERT INTO t SELECT generate_series(1, 10)")
        postgres.base_backup(primary.url("postgres"), root / "base")
        postgres.dump(primary.url("postgres"), root / "postgres.dump")
        primary.psql("postgres", "INSERT INTO t SELECT generate_series(11, 15)")
        segment = primary.psql("postgres", "SELECT pg_walfile_name(pg_switch_wal())").strip()
        deadline = time.monotonic() + 30
        while not (wal / segment).exists():
            assert time.monotonic() < deadline, "the WAL segment was never archived"
            time.sleep(0.1)
        primary.stop("immediate")
        data = primary.data
        for path in sorted(data.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        postgres.unpack_base_backup(root / "base", data)
        postgres.prepare_recovery(data, wal)
        primary.start()
        primary.wait_writable()
        assert primary.psql("postgres", "SELECT count(*), max(n) FROM t").strip() == "15\t15"
        primary.psql("postgres", "CREATE DATABASE scratch")
        postgres.restore_dump(root / "postgres.dump", primary.url("scratch"))
        assert primary.psql("scratch", "SELECT count(*) FROM t").strip() == "10"
    finally:
        primary.destroy()
