"""`acoustid fpcalc`: a drop-in for Chromaprint's fpcalc 1.5.1.

Options, output formats and error messages are fpcalc's, so scripts and pyacoustid keep working.
Two deliberate differences from Debian's build: every file named is processed (Debian's stops
after the first because it treats end-of-file as a decoding error), and a clean run exits 0
(Debian's exits 3, which makes pyacoustid reject the result).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from . import constants as C
from .ffmpeg import pyav_version, swresample_version

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


def version_line() -> str:
    lavc, lavf = pyav_version("avcodec"), pyav_version("avformat")
    return f"fpcalc version {VERSION} (FFmpeg Lavc{lavc} Lavf{lavf} SwR{swresample_version()})"


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
    # Imported only now: numpy, PyAV and the kernels are most of the start-up time.
    from .fpcalc_files import run_files

    status = 0
    for stdout, error in run_files(opts):
        out.write(stdout)
        out.flush()
        if error is not None:
            err.write(f"ERROR: {error}\n")
            err.flush()
            status = status or error.code
    return status


def run() -> int:
    """The ``acoustid-fpcalc`` program, for clients that take one executable path (Picard)."""
    return main(sys.argv[1:])
