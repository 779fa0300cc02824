"""What `acoustid fpcalc` does with each file, apart from its option parsing and usage text.

A module of its own so that ``fpcalc -version`` and usage errors answer without importing numpy,
PyAV and the kernels.
"""

from __future__ import annotations

import io
import os
import queue
import sys
import time
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TextIO

import numpy as np

from . import audio, codec
from . import constants as C
from .fingerprinter import Fingerprinter
from .fpcalc import EXIT_DECODE, EXIT_USAGE, Options


class Failure(Exception):
    """One file failed; `code` is the exit status fpcalc would give for it."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class _Printer:
    opts: Options
    out: TextIO

    def __call__(self, items: np.ndarray, first: bool, timestamp: float, duration: float) -> None:
        opts = self.opts
        if opts.raw:
            values = items.view(np.int32) if opts.signed else items
            fp = ",".join(map(str, values.tolist()))
        else:
            fp = codec.encode_fingerprint(items, opts.algorithm - 1)
        if opts.output == "text":
            head = "" if first else "\n"
            ts = f"TIMESTAMP={timestamp:.2f}\n" if opts.abs_ts else ""
            self.out.write(f"{head}{ts}DURATION={int(duration)}\nFINGERPRINT={fp}\n")
        elif opts.output == "json":
            value = f"[{fp}]" if opts.raw else f'"{fp}"'
            ts = f'"timestamp": {timestamp:.2f}, ' if opts.chunk else ""
            self.out.write(f'{{{ts}"duration": {duration:.2f}, "fingerprint": {value}}}\n')
        else:
            self.out.write(f"{fp}\n")
        self.out.flush()


def _blocks(path: str, opts: Options, duration: list[float]) -> Generator[np.ndarray, None, None]:
    with audio.AudioFile(path, opts.format, opts.rate or None, opts.channels or None) as src:
        duration.append(src.duration_ms / 1000.0)
        yield from audio.fpcalc_samples(src)


def _process(path: str, opts: Options, ctx: Fingerprinter, emit: _Printer) -> None:
    """One file, following fpcalc's read loop: stream limit, then chunk boundaries."""
    rate = C.SAMPLE_RATE
    stream_limit = int(opts.length * rate)
    chunk_limit = int(opts.chunk * rate)
    extra = ctx.algorithm.delay if chunk_limit and opts.overlap else 0
    overlap = (ctx.algorithm.delay * 1000 // rate) / 1000.0 if extra else 0.0
    ts = 0.0  # chunk start within the stream; -ts prints wall-clock time instead
    first = True
    stream_size = chunk_size = 0
    duration: list[float] = []
    error: str | None = None

    def print_chunk(size: int) -> None:
        nonlocal first, ts, extra
        items = ctx.finish()
        chunk_duration = (size - extra) / rate + overlap
        if len(items):
            stamp = ts if not opts.abs_ts else time.time() - (0.0 if first else overlap)
            emit(items, first, stamp, chunk_duration if opts.chunk else duration[0])
        elif first:
            raise Failure("Empty fingerprint", EXIT_USAGE)
        if opts.overlap:
            ctx.clear()
            ts += chunk_duration - overlap
        else:
            ctx.start()
            ts += chunk_duration
        if first:
            extra = 0
            first = False

    ctx.start()
    blocks = _blocks(path, opts, duration)
    try:
        for block in blocks:
            done = bool(stream_limit) and len(block) >= stream_limit - stream_size
            if stream_limit:
                block = block[: stream_limit - stream_size]
            stream_size += len(block)
            while len(block):
                part = block
                if chunk_limit:
                    part = block[: chunk_limit + extra - chunk_size]
                ctx.feed(part)
                chunk_size += len(part)
                block = block[len(part) :]
                if chunk_limit and chunk_size == chunk_limit + extra:
                    print_chunk(chunk_size)
                    chunk_size = 0
            if done:
                break
    except audio.AudioError as exc:
        if not duration:
            raise Failure(str(exc), EXIT_USAGE) from None
        error = str(exc)
    finally:
        blocks.close()
    if chunk_size > 0:
        print_chunk(chunk_size)
    elif first:
        raise Failure(error or "Not enough audio data", EXIT_USAGE)
    if error is not None:
        raise Failure(error, 0 if opts.ignore_errors else EXIT_DECODE)


def _one_file(path: str, opts: Options, ctx: Fingerprinter) -> tuple[str, Failure | None]:
    buffer = io.StringIO()
    try:
        _process(path, opts, ctx, _Printer(opts, buffer))
    except Failure as exc:
        return buffer.getvalue(), exc
    return buffer.getvalue(), None


def run_files(opts: Options) -> Iterator[tuple[str, Failure | None]]:
    """Each file's output in command-line order.

    Independent files are fingerprinted on all cores (decoding and the kernels release the
    GIL). Chunked output streams as it is produced, and TEST4 shares its silence remover
    across files like fpcalc's single context, so those run one file at a time.
    """
    sequential = (
        len(opts.files) == 1
        or opts.chunk
        or _shares_context(opts.algorithm - 1)
        or "-" in opts.files
    )
    if sequential:
        ctx = Fingerprinter(opts.algorithm - 1)
        for path in opts.files:
            if opts.chunk:
                try:
                    _process(path, opts, ctx, _Printer(opts, sys.stdout))
                except Failure as exc:
                    yield "", exc
                continue
            yield _one_file(path, opts, ctx)
        return
    workers = min(len(opts.files), os.cpu_count() or 1)
    # Contexts are built here, not in the workers: FFmpeg sets up its FFT tables on first use.
    contexts: queue.SimpleQueue[Fingerprinter] = queue.SimpleQueue()
    for _ in range(workers):
        contexts.put(Fingerprinter(opts.algorithm - 1))

    def work(path: str) -> tuple[str, Failure | None]:
        ctx = contexts.get()
        try:
            return _one_file(path, opts, ctx)
        finally:
            contexts.put(ctx)

    with ThreadPoolExecutor(workers) as pool:
        yield from pool.map(work, opts.files)


def _shares_context(algorithm: int) -> bool:
    """TEST4 keeps leading-silence state across streams in one fpcalc context."""
    return C.algorithm(algorithm).remove_silence
