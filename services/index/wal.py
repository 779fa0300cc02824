"""The index's write-ahead log of its own acknowledged writes (``index_write_ack=fsync``).

FPINDEX is the replication log, but a NATS server syncs its files to disk on its own
interval (two minutes by default), so a power loss can take writes it had acknowledged. In
``fsync`` mode the index writes each message it published to this log and fsyncs it before
it answers, as fpindex fsyncs its oplog. On start the replicator looks up every logged
message the index has not checkpointed; any the stream no longer holds is published again.

A record is ``u32 length | u32 CRC-32 | u64 stream sequence | u16 shard | 32-byte message id``
then the FPINDEX payload. Files are ``<first sequence:016x>.wal`` and roll over at 16 MiB; a
torn record at the end of the last file (a crash mid-write) is cut off on open. Files whose
records are all checkpointed are deleted once older than ``keep_seconds``, so a NATS crash
shortly after a checkpoint still finds the messages here.
"""

from __future__ import annotations

import itertools
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

RECORD = struct.Struct("<IIQH32s")
SUFFIX = ".wal"
MAX_FILE = 16 * 1024 * 1024


@dataclass(frozen=True)
class Record:
    seq: int
    shard: int
    msg_id: str
    payload: bytes


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Wal:
    def __init__(self, directory: Path, keep_seconds: float = 180.0) -> None:
        self.directory = directory
        self.keep_seconds = keep_seconds
        self._lock = threading.Lock()
        directory.mkdir(parents=True, exist_ok=True)
        self._file: int | None = None
        self._size = 0
        files = self._files()
        if files:
            good = self._valid_length(files[-1])
            if good != files[-1].stat().st_size:
                os.truncate(files[-1], good)
            self._file = os.open(files[-1], os.O_WRONLY | os.O_APPEND)
            self._size = good

    def _files(self) -> list[Path]:
        return sorted(self.directory.glob("*" + SUFFIX))

    @staticmethod
    def _read(path: Path) -> Iterator[tuple[int, Record]]:
        """Records of one file with the offset after each; stops at a torn or corrupt one."""
        data = path.read_bytes()
        pos = 0
        while pos + RECORD.size <= len(data):
            length, crc, seq, shard, msg_id = RECORD.unpack_from(data, pos)
            end = pos + RECORD.size + length
            body = data[pos + 8 : end]
            if end > len(data) or zlib.crc32(body) != crc:
                return
            payload = data[pos + RECORD.size : end]
            yield end, Record(seq, shard, msg_id.rstrip(b" ").decode(), payload)
            pos = end

    def _valid_length(self, path: Path) -> int:
        return max((end for end, _ in self._read(path)), default=0)

    def append(self, seq: int, shard: int, msg_id: str, payload: bytes) -> None:
        """Writes one record and fsyncs it: returns once it would survive a power loss."""
        head = struct.pack("<QH32s", seq, shard, msg_id.encode().ljust(32)[:32])
        crc = zlib.crc32(payload, zlib.crc32(head))
        record = struct.pack("<II", len(payload), crc) + head + payload
        with self._lock:
            if self._file is None or self._size + len(record) > MAX_FILE:
                self._roll(seq)
            assert self._file is not None
            os.write(self._file, record)
            os.fsync(self._file)
            self._size += len(record)

    def _roll(self, seq: int) -> None:
        if self._file is not None:
            os.close(self._file)
        path = self.directory / f"{seq:016x}{SUFFIX}"
        self._file = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._size = 0
        _fsync_dir(self.directory)

    def records(self, after: int = 0) -> list[Record]:
        """Every logged record with a sequence above ``after``, oldest first."""
        with self._lock:
            files = self._files()
        return [r for path in files for _, r in self._read(path) if r.seq > after]

    def trim(self, durable: int) -> int:
        """Deletes closed files wholly at or below ``durable`` and older than the keep time."""
        removed = 0
        now = time.time()
        with self._lock:
            files = self._files()
            for path, following in itertools.pairwise(files):
                last = int(following.name.removesuffix(SUFFIX), 16) - 1
                if last <= durable and now - path.stat().st_mtime >= self.keep_seconds:
                    path.unlink()
                    removed += 1
        return removed

    @property
    def nbytes(self) -> int:
        return sum(p.stat().st_size for p in self._files())

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                os.close(self._file)
                self._file = None
