"""The MusicBrainz data dump format: reading it as a stream, and writing one.

A full export is ``mbdump.tar.bz2`` (with ``mbdump-derived.tar.bz2`` and others beside it):
a tar of the files ``TIMESTAMP``, ``SCHEMA_SEQUENCE``, ``REPLICATION_SEQUENCE``, ``COPYING``,
``README`` and one ``mbdump/<table>`` per table, each in PostgreSQL's ``COPY`` text format
(tab-separated fields in the table's column order, ``\\N`` for null, backslash escapes), so a
table file goes to ``COPY ... FROM STDIN`` unchanged. An unpacked dump (a directory holding
those files) is read the same way.
"""

from __future__ import annotations

import bz2
import io
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

META_FILES = ("TIMESTAMP", "SCHEMA_SEQUENCE", "REPLICATION_SEQUENCE")
TABLE_DIR = "mbdump/"


class DumpError(Exception):
    """A dump that cannot be imported; the message names the file, table and line."""


@dataclass
class TableFile:
    """One ``mbdump/<table>`` member, read as it streams out of the archive."""

    source: str
    table: str
    size: int
    stream: IO[bytes]

    @property
    def name(self) -> str:
        return f"{self.source}: {TABLE_DIR}{self.table}"


@dataclass
class DumpMeta:
    """The dump's ``TIMESTAMP``, ``SCHEMA_SEQUENCE`` and ``REPLICATION_SEQUENCE`` as read."""

    values: dict[str, str] = field(default_factory=dict)
    source: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, text: str, source: str) -> None:
        self.values.setdefault(name, text.strip())
        self.source.setdefault(name, source)

    def schema_sequence(self) -> int | None:
        value = self.values.get("SCHEMA_SEQUENCE")
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise DumpError(
                f"{self.source['SCHEMA_SEQUENCE']}: SCHEMA_SEQUENCE is {value!r}, not a number"
            ) from None


def _member_name(name: str) -> str:
    return name[2:] if name.startswith("./") else name


def read(paths: Sequence[Path], tables: Iterable[str], meta: DumpMeta) -> Iterator[TableFile]:
    """The wanted table files of every dump in ``paths``, in archive order, each readable
    only until the next one is yielded; meta files are recorded in ``meta`` as they pass.

    A truncated or corrupt archive raises :class:`DumpError` naming the archive.
    """
    wanted = set(tables)
    for path in paths:
        if path.is_dir():
            yield from _read_directory(path, wanted, meta)
        else:
            yield from _read_archive(path, wanted, meta)


def _read_directory(path: Path, wanted: set[str], meta: DumpMeta) -> Iterator[TableFile]:
    for name in META_FILES:
        if (path / name).is_file():
            meta.add(name, (path / name).read_text(), str(path / name))
    for table in sorted(wanted):
        file = path / TABLE_DIR / table
        if file.is_file():
            with file.open("rb") as stream:
                yield TableFile(str(path), table, file.stat().st_size, stream)


def decompressor() -> str | None:
    """``lbzip2`` (every core) or ``bzip2``, if installed: a separate process decompresses
    while this one feeds COPY, and C reads the archive faster than Python's bz2 module."""
    return shutil.which("lbzip2") or shutil.which("bzip2")


@contextmanager
def _open_archive(path: Path) -> Iterator[tuple[tarfile.TarFile, Callable[[], str]]]:
    """The archive as a tar stream, and a function that tells, once the stream is read to its
    end, what went wrong in decompressing it (empty when nothing did)."""
    tool = decompressor() if path.suffix == ".bz2" else None
    if tool is None:
        try:
            archive = tarfile.open(path, mode="r|*")  # noqa: SIM115 (closed below)
        except (OSError, tarfile.TarError, EOFError) as exc:
            raise DumpError(f"{path}: not a readable dump archive ({exc})") from exc
        with archive:
            yield archive, str
        return
    proc = subprocess.Popen(
        [tool, "-dc", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=1 << 20
    )
    assert proc.stdout is not None and proc.stderr is not None

    def failure() -> str:
        assert proc.stdout is not None and proc.stderr is not None
        while proc.stdout.read(1 << 16):  # the tar padding after its end marker
            pass
        if proc.wait() == 0:
            return ""
        said = proc.stderr.read().decode(errors="replace").strip().splitlines()
        return said[-1] if said else f"{tool} exited with {proc.returncode}"

    try:
        try:
            archive = tarfile.open(fileobj=proc.stdout, mode="r|")  # noqa: SIM115 (closed below)
        except (OSError, tarfile.TarError, EOFError) as exc:
            raise DumpError(f"{path}: not a readable dump archive ({failure() or exc})") from exc
        with archive:
            yield archive, failure
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def _read_archive(path: Path, wanted: set[str], meta: DumpMeta) -> Iterator[TableFile]:
    with _open_archive(path) as (archive, failure):
        try:
            for member in archive:
                name = _member_name(member.name)
                if not member.isfile():
                    continue
                if name in META_FILES:
                    stream = archive.extractfile(member)
                    assert stream is not None
                    meta.add(name, stream.read().decode(), f"{path}: {name}")
                elif name.startswith(TABLE_DIR) and name[len(TABLE_DIR) :] in wanted:
                    stream = archive.extractfile(member)
                    assert stream is not None
                    yield TableFile(str(path), name[len(TABLE_DIR) :], member.size, stream)
        except (OSError, tarfile.TarError, EOFError) as exc:
            raise DumpError(f"{path}: truncated or corrupt archive ({exc})") from exc
        problem = failure()
        if problem:
            raise DumpError(f"{path}: truncated or corrupt archive ({problem})")


def copy_field(value: object) -> str:
    """One value in COPY text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime):
        return pg_timestamp(value)
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def pg_timestamp(value: datetime) -> str:
    """A UTC time as PostgreSQL prints a ``timestamptz`` (``2026-11-28 00:00:12.000000+00``),
    the form of the dumps' ``TIMESTAMP`` file and timestamp columns."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + "+00"


def copy_line(values: Sequence[object]) -> bytes:
    return ("\t".join(copy_field(v) for v in values) + "\n").encode()


def _add(archive: tarfile.TarFile, name: str, data: IO[bytes], size: int, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(mtime)
    info.mode = 0o644
    archive.addfile(info, data)


def write(
    path: Path,
    tables: Mapping[str, Iterable[bytes]],
    meta: dict[str, str],
    notes: dict[str, str] | None = None,
    spool: Path | None = None,
    compresslevel: int = 9,
) -> None:
    """An ``mbdump.tar.bz2`` at ``path``: the meta files first, then each table's lines.

    Lines are spooled to a file (in ``spool``, default beside ``path``) because a tar header
    carries the member's size before its data.
    """
    stamp = datetime.fromisoformat(meta["TIMESTAMP"].strip().replace("+00", "+00:00")).timestamp()
    spool_dir = spool or path.parent
    with (
        bz2.open(path, "wb", compresslevel=compresslevel) as raw,
        tarfile.open(fileobj=raw, mode="w|") as tar,
    ):
        for name, text in {**(notes or {}), **meta}.items():
            data = (text.rstrip("\n") + "\n").encode()
            _add(tar, name, io.BytesIO(data), len(data), stamp)
        tar.addfile(_directory(TABLE_DIR.rstrip("/"), stamp))
        for table, lines in tables.items():
            tmp = spool_dir / f".{path.name}.{table}.tmp"
            try:
                with tmp.open("wb") as out:
                    for line in lines:
                        out.write(line)
                with tmp.open("rb") as spooled:
                    _add(tar, TABLE_DIR + table, spooled, tmp.stat().st_size, stamp)
            finally:
                tmp.unlink(missing_ok=True)


def _directory(name: str, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    info.mtime = int(mtime)
    return info
