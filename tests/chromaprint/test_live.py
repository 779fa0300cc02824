"""Generated audio against the installed fpcalc and libchromaprint, item for item.

Covers the input space clients send: 8-96 kHz, mono/stereo/5.1, 16/24-bit, up to 10 min,
silence, clipping, DC offset, and lossy codecs (MP3, Vorbis, Opus, AAC) as well as FLAC/WAV.
(Files too short for a fingerprint are covered by test_cli's error tests.)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from libs.chromaprint_cy import library

from .conftest import LibChromaprint, run_cli, run_fpcalc
from .signals import Case, synthesize, write

CASES = [
    Case("m8k_16", 8000, 1, 20),
    Case("s8k_24", 8000, 2, 12, 24, "flac"),
    Case("m11k_16", 11025, 1, 15),
    Case("s11k_16", 11025, 2, 9),
    Case("m12k_24", 12000, 1, 8, 24),
    Case("s16k_16", 16000, 2, 14, 16, "flac"),
    Case("m22k_24", 22050, 1, 30, 24, "flac"),
    Case("s22k_16", 22050, 2, 11),
    Case("m32k_16", 32000, 1, 13),
    Case("s32k_24", 32000, 2, 10, 24),
    Case("s44k_16", 44100, 2, 45),
    Case("m44k_24", 44100, 1, 16, 24, "flac"),
    Case("s48k_16", 48000, 2, 17),
    Case("m48k_24", 48000, 1, 19, 24, "flac"),
    Case("s96k_16", 96000, 2, 8),
    Case("m96k_24", 96000, 1, 7, 24, "flac"),
    Case("s44k_150s", 44100, 2, 150, 16, "flac"),
    Case("silence", 44100, 2, 10, kind="silence"),
    Case("clipping", 44100, 1, 12, kind="clipping"),
    Case("dc_offset", 22050, 2, 12, kind="dc"),
    Case("quiet", 48000, 1, 10, kind="quiet"),
    Case("mp3_s44k", 44100, 2, 20, container="mp3"),
    Case("mp3_m22k", 22050, 1, 15, container="mp3"),
    Case("ogg_s44k", 44100, 2, 20, container="ogg"),
    Case("ogg_m48k", 48000, 1, 12, container="ogg"),
    Case("opus_s48k", 48000, 2, 12, container="opus"),
    Case("aac_s44k", 44100, 2, 12, container="m4a"),
    Case("wav_6ch_48k", 48000, 6, 12),
    Case("flac_6ch_24", 44100, 6, 12, 24, "flac"),
    Case("s44k_10min", 44100, 2, 600, 16, "flac"),
    # One classifier value of this file lies within float32 noise of its threshold: only
    # FFmpeg's own float32 FFT (not a float64 one) gives fpcalc's item 447.
    Case("song27", 44100, 2, 177, 16, "flac"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("live")
    return {case.name: write(case, d) for case in CASES}


def fpcalc_json(*args: str | Path) -> dict:
    proc = run_fpcalc("-json", *args)
    assert proc.stdout, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def ours(files: dict[str, Path]) -> dict[str, dict]:
    """Our CLI once over every file (raw and compressed), keyed by case name."""
    results: dict[str, dict] = {}
    for mode in (["-raw"], []):
        proc = run_cli("-json", *mode, *files.values())
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        assert len(lines) == len(files), proc.stderr
        for name, line in zip(files, lines, strict=True):
            results.setdefault(name, {})["raw" if mode else "compressed"] = json.loads(line)
    return results


def describe(ours: list[int], theirs: list[int]) -> str:
    equal = sum(a == b for a, b in zip(ours, theirs, strict=False))
    first = next((i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b), None)
    return f"{equal}/{len(theirs)} items equal, ours has {len(ours)}, first difference at {first}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_cli_matches_fpcalc(case: Case, files: dict[str, Path], ours: dict[str, dict]) -> None:
    raw = fpcalc_json("-raw", files[case.name])
    compressed = fpcalc_json(files[case.name])
    mine = ours[case.name]
    assert mine["raw"]["fingerprint"] == raw["fingerprint"], describe(
        mine["raw"]["fingerprint"], raw["fingerprint"]
    )
    assert mine["compressed"]["fingerprint"] == compressed["fingerprint"]
    assert mine["raw"]["duration"] == raw["duration"]


def test_cli_whole_ten_minutes(files: dict[str, Path]) -> None:
    path = files["s44k_10min"]
    mine = run_cli("-json", "-raw", "-length", "0", path)
    theirs = fpcalc_json("-raw", "-length", "0", path)
    assert mine.returncode == 0, mine.stderr
    got = json.loads(mine.stdout)["fingerprint"]
    assert got == theirs["fingerprint"], describe(got, theirs["fingerprint"])
    assert len(got) > 4800


@pytest.mark.parametrize(
    "rate,channels",
    [
        (8000, 1),
        (11025, 2),
        (16000, 1),
        (22050, 2),
        (32000, 1),
        (44100, 2),
        (48000, 1),
        (96000, 2),
        (44100, 6),
    ],
)
@pytest.mark.parametrize("algorithm", [1, 0, 3])
def test_library_path_matches_libchromaprint(
    libchromaprint: LibChromaprint, rate: int, channels: int, algorithm: int
) -> None:
    case = Case(f"api{rate}x{channels}", rate, channels, 13)
    pcm = (synthesize(case) >> 8).astype(np.int16)
    theirs = libchromaprint.fingerprint(pcm, rate, channels, algorithm, chunk=4097 * channels)
    ctx = library.Chromaprint(algorithm)
    ctx.start(rate, channels)
    for i in range(0, len(pcm), 1000 * channels):
        ctx.feed(pcm[i : i + 1000 * channels])
    ctx.finish()
    assert ctx.raw_fingerprint.tolist() == theirs.tolist(), describe(
        ctx.raw_fingerprint.tolist(), theirs.tolist()
    )


@pytest.mark.parametrize("algorithm", range(5))
def test_all_algorithms_match_libchromaprint(
    libchromaprint: LibChromaprint, algorithm: int
) -> None:
    case = Case("algos", 11025, 1, 32)
    pcm = (synthesize(case) >> 8).astype(np.int16)
    pcm[: 11025 * 2] //= 400  # near-silence in front, for TEST4's silence remover
    theirs = libchromaprint.fingerprint(pcm, 11025, 1, algorithm)
    assert library.fingerprint_pcm(pcm, 11025, 1, algorithm).tolist() == theirs.tolist()
