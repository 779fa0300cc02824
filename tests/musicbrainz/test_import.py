"""``acoustid musicbrainz import`` as an operator runs it, against the real database.

Each failing import is followed by a check that the previously imported sample still
answers, which is what lookups would see.
"""

from __future__ import annotations

import asyncio
import bz2
import io
import os
import re
import subprocess
import sys
import tarfile
from collections import Counter
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from libs.common.db import Database, Databases, database_url
from libs.common.musicbrainz import dump, sample, schema, synthetic
from libs.common.musicbrainz.lookup import recording_names
from libs.common.settings import Settings
from tests.conftest import REPO, settings_env

MELODY = sample.DEMO_MBIDS["melody"]


def acoustid(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "musicbrainz", *args],
        cwd=REPO,
        env={**os.environ, **settings_env(settings)},
        capture_output=True,
        text=True,
        timeout=300,
    )


async def _snapshot(settings: Settings) -> dict[str, list[tuple[object, ...]]]:
    engine = create_async_engine(database_url(settings, Database.MUSICBRAINZ))
    try:
        async with engine.connect() as conn:
            return {
                table: [
                    tuple(row)
                    for row in await conn.execute(
                        text(f"SELECT * FROM musicbrainz.{table} t ORDER BY t::text")
                    )
                ]
                for table in schema.TABLES
            }
    finally:
        await engine.dispose()


async def _schemas(settings: Settings) -> set[str]:
    engine = create_async_engine(database_url(settings, Database.MUSICBRAINZ))
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT nspname FROM pg_namespace"))
            return {name for (name,) in rows if name.startswith("musicbrainz")}
    finally:
        await engine.dispose()


async def _still_answers(settings: Settings) -> None:
    """The sample's data is still what lookups read, and no staging schema is left."""
    databases = Databases(settings)
    try:
        names = await recording_names(databases, [MELODY])
    finally:
        await databases.dispose()
    assert names[MELODY].title == "Melody for Two Hands"
    assert names[MELODY].artist == "Aurora Vale & The Tidewater"
    assert await _schemas(settings) == {"musicbrainz"}


def test_sample_lines_have_every_column_of_the_schema(sample_dump: Path) -> None:
    """The sample is shaped as the dumps are: meta files first, then one COPY file per
    table whose lines carry exactly the table's columns, in schema order."""
    with tarfile.open(sample_dump, "r:bz2") as tar:
        names = tar.getnames()
        meta = ["COPYING", "README", "TIMESTAMP", "SCHEMA_SEQUENCE", "REPLICATION_SEQUENCE"]
        assert names[:6] == [*meta, "mbdump"]
        assert names[6:] == [f"mbdump/{t}" for t in schema.TABLES]
        seq = tar.extractfile("SCHEMA_SEQUENCE")
        assert seq is not None and seq.read() == f"{schema.SCHEMA_SEQUENCE}\n".encode()
        stamp = tar.extractfile("TIMESTAMP")
        assert stamp is not None
        assert re.fullmatch(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\+00\n", stamp.read())
        for table in schema.TABLES:
            member = tar.extractfile(f"mbdump/{table}")
            assert member is not None
            for line in member.read().decode().splitlines():
                assert len(line.split("\t")) == len(schema.columns()[table]), (table, line)


def test_generated_dump_lines_have_every_column() -> None:
    for table, lines in synthetic.tables(100).items():
        for line in lines:
            assert line.count(b"\t") == len(schema.columns()[table]) - 1, (table, line)


async def test_import_of_the_sample_gives_its_rows(musicbrainz: Settings) -> None:
    rows = await _snapshot(musicbrainz)
    built = sample.build()
    assert {t: len(r) for t, r in rows.items()} == {t: len(built.rows[t]) for t in schema.TABLES}
    recordings = {str(r[1]): r for r in rows["recording"]}
    melody = recordings[MELODY]
    assert (melody[2], melody[4]) == ("Melody for Two Hands", 60000)
    assert Counter(r[2] for r in rows["track"])[melody[0]] == 4  # on three releases, 4 tracks
    assert sorted(r[2] for r in rows["isrc"]) == ["GBAYE1900001", "GBAYE1900002", "JPXX02100017"]
    redirects = {str(r[0]): r[1] for r in rows["recording_gid_redirect"]}
    static = next(r for r in rows["recording"] if r[2] == "Melody Under Static")
    assert redirects[sample.DEMO_MBIDS["noise"]] == static[0]
    control = rows["replication_control"][0]
    assert control[1:3] == (schema.SCHEMA_SEQUENCE, sample.REPLICATION_SEQUENCE)


async def test_second_import_changes_nothing_and_shows_progress(
    musicbrainz: Settings, sample_dump: Path
) -> None:
    before = await _snapshot(musicbrainz)
    result = await asyncio.to_thread(acoustid, musicbrainz, "import", str(sample_dump))
    assert result.returncode == 0, result.stderr
    assert re.search(
        r"^track +44 rows in +[\d.]+ s \([\d,]+ rows/s, [\d.]+ MB/s\)$", result.stderr, re.M
    ), result.stderr
    assert "imported 266 rows of 20 tables" in result.stderr
    assert await _snapshot(musicbrainz) == before
    await _still_answers(musicbrainz)


def _rewrite(source: Path, target: Path, table: str, change: dict[int, bytes]) -> Path:
    """A copy of a dump whose ``table`` has lines replaced (1-based line numbers)."""
    contents = {}
    with tarfile.open(source, "r:bz2") as tar:
        for member in tar:
            stream = tar.extractfile(member)
            if stream is not None:
                contents[member.name] = stream.read()
    tables = {t: contents[f"mbdump/{t}"].splitlines(keepends=True) for t in schema.TABLES}
    for number, line in change.items():
        tables[table][number - 1] = line
    meta = {name: contents[name].decode() for name in dump.META_FILES}
    dump.write(target, {t: iter(lines) for t, lines in tables.items()}, meta)
    return target


async def test_wrong_column_count_names_file_table_and_line(
    musicbrainz: Settings, sample_dump: Path, tmp_path: Path
) -> None:
    bad = _rewrite(sample_dump, tmp_path / "mbdump.tar.bz2", "track", {3: b"3\tonly-two\n"})
    result = await asyncio.to_thread(acoustid, musicbrainz, "import", str(bad))
    assert result.returncode == 1
    assert f"{bad}: mbdump/track (table track), line 3:" in result.stderr, result.stderr
    assert "nothing changed" in result.stderr
    await _still_answers(musicbrainz)


async def test_truncated_archive_names_file_table_and_line(
    musicbrainz: Settings, tmp_path: Path
) -> None:
    """Longer than one bz2 block, so the archive breaks in the middle of a table."""
    whole = synthetic.write(tmp_path / "whole", 20000)
    cut = tmp_path / "mbdump.tar.bz2"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 6 // 10])
    result = await asyncio.to_thread(acoustid, musicbrainz, "import", str(cut))
    assert result.returncode == 1
    found = re.search(
        rf"{re.escape(str(cut))}: mbdump/(\w+) \(table \1\), line \d+: truncated or corrupt",
        result.stderr,
    )
    assert found, result.stderr
    await _still_answers(musicbrainz)


async def test_corrupt_bz2_is_refused(musicbrainz: Settings, tmp_path: Path) -> None:
    junk = tmp_path / "mbdump.tar.bz2"
    junk.write_bytes(bz2.compress(b"not a tar archive" * 100)[:-10] + b"garbage!!!")
    result = await asyncio.to_thread(acoustid, musicbrainz, "import", str(junk))
    assert result.returncode == 1
    assert f"{junk}: " in result.stderr and "nothing changed" in result.stderr
    await _still_answers(musicbrainz)


async def test_unsupported_schema_sequence_names_both_numbers(
    musicbrainz: Settings, tmp_path: Path
) -> None:
    old = sample.write_sample(tmp_path, schema_sequence=schema.SCHEMA_SEQUENCE - 2)
    result = await asyncio.to_thread(acoustid, musicbrainz, "import", str(old))
    assert result.returncode == 1
    assert (
        f"{old}: SCHEMA_SEQUENCE: the dump has SCHEMA_SEQUENCE {schema.SCHEMA_SEQUENCE - 2}; "
        f"this version imports MusicBrainz schema {schema.SCHEMA_SEQUENCE} only"
    ) in result.stderr, result.stderr
    await _still_answers(musicbrainz)


async def test_unpacked_directory_imports_like_the_archive(
    musicbrainz: Settings, sample_dump: Path, tmp_path: Path
) -> None:
    before = await _snapshot(musicbrainz)
    with tarfile.open(sample_dump, "r:bz2") as tar:
        tar.extractall(tmp_path, filter="data")
    result = await asyncio.to_thread(acoustid, musicbrainz, "import", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert await _snapshot(musicbrainz) == before


def test_progress_line_has_rows_rate_and_eta() -> None:
    from libs.common.musicbrainz.importer import Progress

    out = io.StringIO()
    file = dump.TableFile("mbdump.tar.bz2", "track", 4_000_000, io.BytesIO())
    line = Progress(out, file).line(12_345, 1_000_000)
    assert re.match(r"track +\[##### +\]  25% +12,345 rows +[\d.]+ MB/s  ETA \d+:\d\d$", line), line
