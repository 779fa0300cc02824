"""Deterministic test audio: a note melody with harmonics and a little noise, written as WAV,
FLAC, MP3 or Ogg. Shared by the live tests and the benchmark so both use realistic signals."""

from __future__ import annotations

import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np


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


def synthesize(case: Case) -> np.ndarray:
    """Interleaved int32 samples at full 24-bit scale (shifted down for 16-bit files)."""
    rng = np.random.default_rng(list(case.name.encode()))
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
    codec = {
        "flac": [],
        "mp3": ["-b:a", "128k"],
        "ogg": ["-c:a", "libvorbis", "-q:a", "4"],
        "opus": ["-c:a", "libopus"],
        "m4a": ["-c:a", "aac"],
    }
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "ffmpeg is missing: apt-get install ffmpeg (see .ci/)"
    subprocess.run(
        [ffmpeg, "-nostdin", "-loglevel", "error", "-i", wav, *codec[case.container], out],
        check=True,
    )
    wav.unlink()
    return out
