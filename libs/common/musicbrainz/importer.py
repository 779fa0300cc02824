"""``acoustid musicbrainz import``: official dumps into fresh tables, swapped in at the end.

Each wanted ``mbdump/<table>`` streams from the archive straight into ``COPY ... FROM
STDIN`` of a table in the staging schema ``musicbrainz_import`` (the bz2 decompression of the
next chunk runs in a thread while the previous one is sent). Indexes are built after the
load, then one transaction renames the staging schema to ``musicbrainz`` and drops the old
one, so lookups answer from the previous data until that instant and a failed import
(truncated archive, corrupt line, unsupported schema) leaves it untouched. Running it again
rebuilds everything from the dump, so a second import of the same dump changes nothing.
"""

from __future__ import annotations

import asyncio
import re
import sys
import tarfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TextIO

import asyncpg
from sqlalchemy.engine import make_url

from libs.common.musicbrainz import dump, schema
from libs.common.musicbrainz.dump import DumpError, DumpMeta, TableFile

STAGING = f"{schema.SCHEMA}_import"
PREVIOUS = f"{schema.SCHEMA}_previous"
CHUNK = 1 << 18
LOCK_KEY = "acoustid musicbrainz import"


@dataclass
class Loaded:
    table: str
    rows: int
    size: int
    seconds: float


def asyncpg_dsn(url: str) -> str:
    """The plain ``postgresql://`` form of a SQLAlchemy ``postgresql+asyncpg://`` URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Progress:
    """One status line per table: rows, MB/s and ETA while it loads (redrawn on a terminal,
    every ten seconds otherwise), and a summary line when it is done."""

    def __init__(self, out: TextIO, file: TableFile) -> None:
        self.out = out
        self.file = file
        self.start = time.monotonic()
        self.tty = out.isatty()
        self.shown = 0.0 if self.tty else self.start

    def line(self, rows: int, done: int) -> str:
        elapsed = max(time.monotonic() - self.start, 1e-6)
        rate = done / elapsed
        left = (self.file.size - done) / rate if rate else 0.0
        share = done / self.file.size if self.file.size else 1.0
        bar = "#" * int(share * 20)
        return (
            f"{self.file.table:<34} [{bar:<20}] {share:4.0%} {rows:>12,} rows "
            f"{rate / 1e6:7.1f} MB/s  ETA {int(left) // 60}:{int(left) % 60:02d}"
        )

    def update(self, rows: int, done: int) -> None:
        now = time.monotonic()
        if now - self.shown < (0.5 if self.tty else 10.0):
            return
        self.shown = now
        end = "\r" if self.tty else "\n"
        print(self.line(rows, done), end=end, file=self.out, flush=True)

    def finish(self, rows: int) -> Loaded:
        seconds = time.monotonic() - self.start
        rate = rows / seconds if seconds else 0.0
        mbs = self.file.size / seconds / 1e6 if seconds else 0.0
        text = (
            f"{self.file.table:<34} {rows:>12,} rows in {seconds:6.1f} s "
            f"({rate:,.0f} rows/s, {mbs:.1f} MB/s)"
        )
        print(text.ljust(100 if self.tty else 0), file=self.out, flush=True)
        return Loaded(self.file.table, rows, self.file.size, seconds)


async def _chunks(file: TableFile, counter: list[int], progress: Progress) -> AsyncIterator[bytes]:
    """The member's bytes, reading the next chunk in a thread while this one is sent."""
    loop = asyncio.get_running_loop()

    def read(stream: IO[bytes]) -> bytes:
        try:
            return stream.read(CHUNK)
        except (OSError, EOFError, ValueError, tarfile.TarError) as exc:
            raise DumpError(
                f"{file.name} (table {file.table}), line {counter[0] + 1}: "
                f"truncated or corrupt archive ({exc})"
            ) from exc

    pending = loop.run_in_executor(None, read, file.stream)
    done = 0
    while True:
        data = await pending
        if not data:
            break
        pending = loop.run_in_executor(None, read, file.stream)
        counter[0] += data.count(b"\n")
        done += len(data)
        progress.update(counter[0], done)
        yield data
    if done != file.size:
        raise DumpError(
            f"{file.name} (table {file.table}), line {counter[0] + 1}: "
            f"truncated: {done} of {file.size} bytes"
        )


_LINE = re.compile(r"line (\d+)")


def _copy_error(file: TableFile, exc: asyncpg.PostgresError) -> DumpError:
    """PostgreSQL names the line of a bad row in the error's context (``COPY t, line 3``)."""
    context = getattr(exc, "context", None) or ""
    match = _LINE.search(context)
    where = f", line {match.group(1)}" if match else ""
    return DumpError(f"{file.name} (table {file.table}){where}: {exc}")


async def _load(conn: asyncpg.Connection, file: TableFile, out: TextIO) -> Loaded:
    progress = Progress(out, file)
    counter = [0]
    try:
        await conn.copy_to_table(
            file.table,
            source=_chunks(file, counter, progress),
            schema_name=STAGING,
            columns=list(schema.columns()[file.table]),
        )
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        if isinstance(exc.__cause__, DumpError):
            raise exc.__cause__ from None
        if isinstance(exc, asyncpg.PostgresError):
            raise _copy_error(file, exc) from None
        raise
    return progress.finish(counter[0])


def check_schema_sequence(meta: DumpMeta) -> None:
    found = meta.schema_sequence()
    if found is not None and found != schema.SCHEMA_SEQUENCE:
        raise DumpError(
            f"{meta.source['SCHEMA_SEQUENCE']}: the dump has SCHEMA_SEQUENCE {found}; this "
            f"version imports MusicBrainz schema {schema.SCHEMA_SEQUENCE} only "
            f"(mbdata {schema.mbdata.__version__})"
        )


async def _prepare(conn: asyncpg.Connection) -> None:
    await conn.execute(f'DROP SCHEMA IF EXISTS "{STAGING}" CASCADE')
    await conn.execute(f'CREATE SCHEMA "{STAGING}"')
    await conn.execute(f'SET search_path = "{STAGING}"')
    for stmt in schema.create_tables().values():
        await conn.execute(stmt)


async def _finish(conn: asyncpg.Connection, out: TextIO) -> None:
    start = time.monotonic()
    for stmt in [*schema.create_indexes(), *schema.create_views()]:
        await conn.execute(stmt)
    await conn.execute("ANALYZE " + ", ".join(f'"{STAGING}".{t}' for t in schema.TABLES))
    print(f"indexes and statistics built in {time.monotonic() - start:.1f} s", file=out)
    async with conn.transaction():
        await conn.execute(f'DROP SCHEMA IF EXISTS "{PREVIOUS}" CASCADE')
        exists = await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema.SCHEMA)
        if exists:
            await conn.execute(f'ALTER SCHEMA "{schema.SCHEMA}" RENAME TO "{PREVIOUS}"')
        await conn.execute(f'ALTER SCHEMA "{STAGING}" RENAME TO "{schema.SCHEMA}"')
        await conn.execute(f'DROP SCHEMA IF EXISTS "{PREVIOUS}" CASCADE')


async def import_dumps(url: str, paths: Sequence[Path], out: TextIO = sys.stderr) -> list[Loaded]:
    """Loads every table of :data:`schema.TABLES` found in ``paths``; raises
    :class:`DumpError` (nothing changed) when the dumps are unusable."""
    for path in paths:
        if not path.exists():
            raise DumpError(f"{path}: no such file or directory")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        if not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", LOCK_KEY):
            raise DumpError("another musicbrainz import is running on this database")
        loaded: dict[str, Loaded] = {}
        try:
            await _prepare(conn)
            meta = DumpMeta()
            for file in dump.read(paths, schema.TABLES, meta):
                check_schema_sequence(meta)
                if file.table in loaded:
                    raise DumpError(f"{file.name}: table {file.table} appears twice")
                loaded[file.table] = await _load(conn, file, out)
            check_schema_sequence(meta)
            if meta.schema_sequence() is None:
                names = ", ".join(str(p) for p in paths)
                raise DumpError(f"{names}: no SCHEMA_SEQUENCE file; not a MusicBrainz dump")
            missing = [t for t in schema.TABLES if t not in loaded]
            if missing:
                names = ", ".join(str(p) for p in paths)
                raise DumpError(f"{names}: no mbdump/{', mbdump/'.join(missing)} in the dump")
            await _finish(conn, out)
        except BaseException:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{STAGING}" CASCADE')
            raise
        return [loaded[t] for t in schema.TABLES]
    finally:
        await conn.close()
