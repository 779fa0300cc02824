"""`acoustid fpcalc`: a drop-in for Chromaprint's fpcalc 1.5.1.

Options, output formats and error messages are fpcalc's, so scripts and pyacoustid keep working.
Two deliberate differences from Debian's build: every file named is processed (Debian's stops
after the first because it treats end-of-file as a decoding error), and a clean run exits 0
(Debian's exits 3, which makes pyacoustid reject the result).
"""

from __future__ import annotations

import io
import os
import queue
import re
import sys
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TextIO

import av
import numpy as np

from . import audio, codec
from . import constants as C
from .fingerprinter import Fingerprinter

VERSION = "1.5.1"

_OPTIONS = (
    ("-format NAME", "Set the input format name"),
    ("-rate NUM", "Set the sample rate of the input audio"),
    ("-channels NUM", "Set the number of channels in the input audio"),
    ("-length SECS", "Restrict the duration of the processed input audio (default 120)"),
    ("-chunk SECS", "Split the input audio into chunks of this duration"),
    ("-algorithm NUM", "Set the algorithm method (default 2)"),
    ("-overlap", "Overlap the chunks slightly to make sure audio on the edges is fingerprinted"),
    (
        "-ts",
        "Output UNIX timestamps for chunked results, "
        "useful when fingerprinting real-time audio stream",
    ),
    ("-raw", "Output fingerprints in the uncompressed format"),
    (
        "-signed",
        "Change the uncompressed format from unsigned integers to signed "
        "(for pg_acoustid compatibility)",
    ),
    ("-json", "Print the output in JSON format"),
    ("-text", "Print the output in text format"),
    ("-plain", "Print the just the fingerprint in text format"),
    ("-version", "Print version information"),
)
USAGE = (
    "Usage: fpcalc [OPTIONS] FILE [FILE...]\n\n"
    "Generate fingerprints from audio files/streams.\n\nOptions:\n"
    + "".join(f"  {name:<14} {text}\n" for name, text in _OPTIONS)
)

EXIT_USAGE = 2
EXIT_DECODE = 3
_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


class UsageError(Exception):
    pass


def _atof(text: str) -> float:
    """C's atof: the longest numeric prefix, 0 when there is none (fpcalc accepts `-length x`)."""
    match = _NUMBER.match(text)
    return float(match.group(0)) if match else 0.0


@dataclass
class Options:
    files: list[str] = field(default_factory=list)
    format: str | None = None
    rate: int = 0
    channels: int = 0
    length: float = C.DEFAULT_LENGTH_SECONDS
    chunk: float = 0.0
    algorithm: int = C.DEFAULT_ALGORITHM + 1
    overlap: bool = False
    abs_ts: bool = False
    raw: bool = False
    signed: bool = False
    output: str = "text"
    ignore_errors: bool = False
    version: bool = False
    help: bool = False


def _positive(name: str, value: float, nonzero: bool = False) -> float:
    if value < 0 or (nonzero and value == 0):
        kind = "a non-zero positive number" if nonzero else "a positive number"
        raise UsageError(f"The argument for -{name} must be {kind}")
    return value


def _parse(argv: list[str]) -> Options:
    opts = Options()
    flags: dict[str, Callable[[], None]] = {
        "overlap": lambda: setattr(opts, "overlap", True),
        "ts": lambda: setattr(opts, "abs_ts", True),
        "raw": lambda: setattr(opts, "raw", True),
        "signed": lambda: setattr(opts, "signed", True),
        "json": lambda: setattr(opts, "output", "json"),
        "text": lambda: setattr(opts, "output", "text"),
        "plain": lambda: setattr(opts, "output", "plain"),
        "ignore-errors": lambda: setattr(opts, "ignore_errors", True),
        "version": lambda: setattr(opts, "version", True),
        "v": lambda: setattr(opts, "version", True),
        "h": lambda: setattr(opts, "help", True),
        "help": lambda: setattr(opts, "help", True),
        "-help": lambda: setattr(opts, "help", True),
    }

    def set_algorithm(v: str) -> None:
        opts.algorithm = int(_atof(v))
        if not 1 <= opts.algorithm <= len(C.ALGORITHMS):
            raise UsageError(f"The argument for -algorithm must be 1 - {len(C.ALGORITHMS)}")

    with_value: dict[str, Callable[[str], None]] = {
        "format": lambda v: setattr(opts, "format", v),
        "rate": lambda v: setattr(opts, "rate", int(_positive("rate", int(_atof(v))))),
        "channels": lambda v: setattr(
            opts, "channels", int(_positive("channels", int(_atof(v)), nonzero=True))
        ),
        "length": lambda v: setattr(opts, "length", _positive("length", _atof(v))),
        "chunk": lambda v: setattr(opts, "chunk", _positive("chunk", _atof(v))),
        "algorithm": set_algorithm,
    }
    for short, long in (("f", "format"), ("r", "rate"), ("c", "channels"), ("t", "length")):
        with_value[short] = with_value[long]
    with_value["a"] = with_value["algorithm"]

    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            opts.files.extend(argv[i:])
            break
        if not arg.startswith("-") or arg == "-":
            opts.files.append(arg)
        elif arg[1:] in flags:
            flags[arg[1:]]()
        elif arg[1:] in with_value and i < len(argv):
            with_value[arg[1:]](argv[i])
            i += 1
        else:
            raise UsageError(f"Unknown option {arg}")
    return opts


class _Failure(Exception):
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
            raise _Failure("Empty fingerprint", EXIT_USAGE)
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
            raise _Failure(str(exc), EXIT_USAGE) from None
        error = str(exc)
    finally:
        blocks.close()
    if chunk_size > 0:
        print_chunk(chunk_size)
    elif first:
        raise _Failure(error or "Not enough audio data", EXIT_USAGE)
    if error is not None:
        raise _Failure(error, 0 if opts.ignore_errors else EXIT_DECODE)


def version_line() -> str:
    libs = av.library_versions
    lavc = ".".join(map(str, libs["libavcodec"]))
    lavf = ".".join(map(str, libs["libavformat"]))
    return (
        f"fpcalc version {VERSION} (FFmpeg Lavc{lavc} Lavf{lavf} SwR{audio.swresample_version()})"
    )


def main(argv: list[str]) -> int:
    out, err = sys.stdout, sys.stderr
    try:
        opts = _parse(argv)
    except UsageError as exc:
        err.write(f"ERROR: {exc}\n")
        return EXIT_USAGE
    if opts.help:
        out.write(USAGE)
        return 0
    if opts.version:
        out.write(version_line() + "\n")
        return 0
    if not opts.files:
        err.write("ERROR: No input files\n")
        return EXIT_USAGE
    status = 0
    for stdout, error in _run_files(opts):
        out.write(stdout)
        out.flush()
        if error is not None:
            err.write(f"ERROR: {error}\n")
            err.flush()
            status = status or error.code
    return status


def _one_file(path: str, opts: Options, ctx: Fingerprinter) -> tuple[str, _Failure | None]:
    buffer = io.StringIO()
    try:
        _process(path, opts, ctx, _Printer(opts, buffer))
    except _Failure as exc:
        return buffer.getvalue(), exc
    return buffer.getvalue(), None


def _run_files(opts: Options) -> Iterator[tuple[str, _Failure | None]]:
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
                except _Failure as exc:
                    yield "", exc
                continue
            yield _one_file(path, opts, ctx)
        return
    workers = min(len(opts.files), os.cpu_count() or 1)
    # Contexts are built here, not in the workers: FFmpeg sets up its FFT tables on first use.
    contexts: queue.SimpleQueue[Fingerprinter] = queue.SimpleQueue()
    for _ in range(workers):
        contexts.put(Fingerprinter(opts.algorithm - 1))

    def work(path: str) -> tuple[str, _Failure | None]:
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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
