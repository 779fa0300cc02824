"""Generated audio against the installed fpcalc and libchromaprint, item for item.

Covers the input space clients send: 8-96 kHz, mono/stereo, 16/24-bit, 1 s to 10 min,
silence, clipping, DC offset, and lossy codecs (MP3, Ogg Vorbis) as well as FLAC/WAV.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from libs.chromaprint_cy import library

from .conftest import LibChromaprint, run_cli, run_fpcalc


@dataclass(frozen=True)
class Case:
    name: str
    rate: int
    channels: int
    seconds: float
    bits: int = 16
    container: str = "wav"
    kind: str = "music"

    @property
    def filename(self) -> str:
        return f"{self.name}.{self.container}"


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
    Case("s44k_10min", 44100, 2, 600, 16, "flac"),
]


def synthesize(case: Case) -> np.ndarray:
    """Interleaved int32 samples at full 24-bit scale (shifted down for 16-bit files)."""
    rng = np.random.default_rng(abs(hash(case.name)) % 2**32)
    n = int(case.seconds * case.rate)
    if case.kind == "silence":
        return np.zeros(n * case.channels, dtype=np.int32)
    t = np.arange(n) / case.rate
    notes = 220 * 2 ** (rng.integers(0, 24, int(case.seconds * 4) + 1) / 12)
    freq = notes[(t * 4).astype(int)]
    phase = 2 * np.pi * np.cumsum(freq) / case.rate
    x = 0.3 * np.sin(phase) + 0.15 * np.sin(2 * phase) + 0.08 * np.sin(3.01 * phase)
    x += 0.02 * rng.standard_normal(n)
    if case.kind == "clipping":
        x = np.clip(x * 6, -1.0, 1.0)
    elif case.kind == "dc":
        x = x * 0.5 + 0.4
    elif case.kind == "quiet":
        x = x * 0.002
    chans = [x] + [np.roll(x, 37 * c) * 0.8 for c in range(1, case.channels)]
    full = np.clip(np.stack(chans, axis=1).ravel() * 8388607, -8388608, 8388607)
    return full.astype(np.int32)


def write(case: Case, directory: Path) -> Path:
    samples = synthesize(case)
    wav = directory / f"{case.name}.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(case.channels)
        w.setframerate(case.rate)
        if case.bits == 24:
            w.setsampwidth(3)
            w.writeframes(samples.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3].tobytes())
        else:
            w.setsampwidth(2)
            w.writeframes((samples >> 8).astype("<i2").tobytes())
    if case.container == "wav":
        return wav
    out = directory / case.filename
    codec = {"flac": [], "mp3": ["-b:a", "128k"], "ogg": ["-c:a", "libvorbis", "-q:a", "4"]}
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "ffmpeg is missing: apt-get install ffmpeg (see .ci/)"
    subprocess.run(
        [ffmpeg, "-nostdin", "-loglevel", "error", "-i", wav, *codec[case.container], out],
        check=True,
    )
    wav.unlink()
    return out


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
