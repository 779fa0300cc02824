"""`acoustid fpcalc` behaves like fpcalc: options, messages and exit codes (run as a subprocess)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from .conftest import CLIPS, REPO, run_cli, run_fpcalc

SWEEP = CLIPS / "sweep_11k_mono.flac"


def write_wav(path: Path, samples: np.ndarray, rate: int = 11025) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return path


@pytest.fixture(scope="module")
def odd_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("odd")
    (d / "empty.wav").write_bytes(b"")
    (d / "garbage.bin").write_bytes(b"this is not audio at all\n" * 40)
    t = np.arange(11025) / 11025
    return {
        "missing": d / "missing.wav",
        "empty": d / "empty.wav",
        "garbage": d / "garbage.bin",
        "short": write_wav(d / "short.wav", np.sin(2 * np.pi * 440 * t) * 8000),
        "nosamples": write_wav(d / "nosamples.wav", np.empty(0)),
    }


@pytest.mark.parametrize(
    "args",
    [
        ["-length", "3.9", "-raw", SWEEP],
        ["-chunk", "4", "-json", SWEEP],
        ["-chunk", "4", "-overlap", "-raw", "-signed", SWEEP],
        ["-chunk", "3", "-overlap", "-json", "-raw", CLIPS / "melody_48k_stereo.flac"],
        ["-plain", "-length", "0", SWEEP],
        ["-algorithm", "1", "-raw", SWEEP],
        ["-algorithm", "3", "-json", CLIPS / "speech_22k_mono.flac"],
        ["-algorithm", "4", "-raw", "-length", "5", CLIPS / "speech_22k_mono.flac"],
        ["-algorithm", "5", "-text", CLIPS / "chord_44k_stereo.flac"],
        ["-length", "x", "-json", SWEEP],
    ],
    ids=lambda a: " ".join(map(str, a))[:40],
)
def test_same_stdout_as_fpcalc(args: list) -> None:
    ours, theirs = run_cli(*args), run_fpcalc(*args)
    assert ours.stdout == theirs.stdout
    assert ours.returncode == 0, ours.stderr


@pytest.mark.parametrize(
    "kind,message",
    [
        ("missing", "Could not open the input file (No such file or directory)"),
        ("empty", "Could not open the input file (Invalid data found when processing input)"),
        ("garbage", "Could not open the input file (Invalid data found when processing input)"),
        ("short", "Empty fingerprint"),
        ("nosamples", "Not enough audio data"),
    ],
)
def test_error_messages(odd_files: dict[str, Path], kind: str, message: str) -> None:
    ours = run_cli(odd_files[kind])
    theirs = run_fpcalc(odd_files[kind])
    assert f"ERROR: {message}\n" in theirs.stderr
    assert ours.stderr == f"ERROR: {message}\n"
    assert ours.stdout == "" and ours.returncode == 2 == theirs.returncode


def test_bad_file_does_not_stop_the_others(odd_files: dict[str, Path]) -> None:
    proc = run_cli("-plain", odd_files["missing"], SWEEP, odd_files["short"], SWEEP)
    assert len(proc.stdout.splitlines()) == 2
    assert proc.returncode == 2


@pytest.mark.parametrize(
    "args,message",
    [
        (["-algorithm", "9", "x"], "The argument for -algorithm must be 1 - 5"),
        (["-length", "-5", "x"], "The argument for -length must be a positive number"),
        (["-chunk", "-1", "x"], "The argument for -chunk must be a positive number"),
        (["-rate", "-1", "x"], "The argument for -rate must be a positive number"),
        (["-channels", "0", "x"], "The argument for -channels must be a non-zero positive number"),
        (["-foo"], "Unknown option -foo"),
        (["-length"], "Unknown option -length"),
        ([], "No input files"),
    ],
)
def test_usage_errors(args: list[str], message: str) -> None:
    ours, theirs = run_cli(*args), run_fpcalc(*args)
    assert ours.stderr == theirs.stderr == f"ERROR: {message}\n"
    assert ours.returncode == theirs.returncode == 2


def test_help_and_version() -> None:
    ours, theirs = (
        run_cli("-h").stdout,
        run_fpcalc("-h").stdout.replace("/usr/bin/fpcalc", "fpcalc"),
    )
    assert ours == theirs
    version = run_cli("-version")
    assert version.returncode == 0
    assert version.stdout.startswith("fpcalc version 1.5.1 (FFmpeg Lavc")


def test_raw_pcm_input(tmp_path: Path) -> None:
    pcm = (np.sin(np.arange(11025 * 8) * 0.05) * 9000).astype("<i2")
    path = tmp_path / "audio.raw"
    path.write_bytes(pcm.tobytes())
    args = ["-format", "s16le", "-rate", "11025", "-channels", "1", "-raw", "-json", path]
    ours, theirs = run_cli(*args), run_fpcalc(*args)
    assert ours.stdout.split('"fingerprint"')[1] == theirs.stdout.split('"fingerprint"')[1]
    assert ours.returncode == 0, ours.stderr


def test_stdin_input() -> None:
    data = SWEEP.read_bytes()
    proc = subprocess.run(
        [sys.executable, "-m", "services.cli", "fpcalc", "-raw", "-plain", "-"],
        input=data,
        cwd=REPO,
        capture_output=True,
        timeout=60,
    )
    theirs = run_fpcalc("-raw", "-plain", SWEEP)
    assert proc.stdout.decode() == theirs.stdout


def test_test4_silence_state_carries_across_files(tmp_path: Path) -> None:
    """fpcalc keeps one context, so only the first file's leading silence is trimmed."""
    t = np.arange(11025 * 12) / 11025
    tone = np.sin(2 * np.pi * 330 * t * (1 + t / 8)) * 9000
    audio = np.concatenate([np.zeros(11025 * 2), tone])
    first = write_wav(tmp_path / "a.wav", audio)
    second = write_wav(tmp_path / "b.wav", audio)
    args = ["-algorithm", "4", "-raw", "-ignore-errors", first, second]
    ours, theirs = run_cli(*args), run_fpcalc(*args)
    assert ours.stdout == theirs.stdout
    lines = ours.stdout.splitlines()
    assert lines[1] != lines[3]


def test_timestamps() -> None:
    before = time.time()
    text = run_cli("-ts", "-length", "5", SWEEP).stdout
    stamp = re.fullmatch(r"TIMESTAMP=(\d+\.\d\d)\nDURATION=10\nFINGERPRINT=\S+\n", text)
    assert stamp and before - 1 <= float(stamp.group(1)) <= time.time() + 1
    chunks = run_cli("-chunk", "4", "-overlap", "-json", SWEEP).stdout.splitlines()
    assert [line[:45] for line in chunks] == [
        '{"timestamp": 0.00, "duration": 6.60, "finger',
        '{"timestamp": 4.00, "duration": 6.00, "finger',
    ]


def test_corrupt_packets_are_skipped_like_fpcalc(tmp_path: Path) -> None:
    """Both keep decoding past damaged MP3 frames. Items can differ near the damage: FFmpeg
    5.1 and the PyAV wheel's FFmpeg conceal errors differently (see docs-chromaprint.md)."""
    data = bytearray((CLIPS / "upstream" / "test.mp3").read_bytes())
    rng = np.random.default_rng(3)
    for pos in rng.integers(2000, len(data), 40):
        data[pos] = int(rng.integers(0, 256))
    path = tmp_path / "corrupt.mp3"
    path.write_bytes(bytes(data))
    ours, theirs = run_cli("-raw", "-plain", path), run_fpcalc("-raw", "-plain", path)
    assert ours.returncode == 0, ours.stderr
    assert len(ours.stdout.split(",")) == len(theirs.stdout.split(",")) == 59


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The damage users meet: a bad stretch mid-file, a cut-off download, a misnamed file."""
    d = tmp_path_factory.mktemp("damaged")
    data = (CLIPS / "upstream" / "test.mp3").read_bytes()
    middle = len(data) // 2
    garbage = np.random.default_rng(1).integers(0, 256, 20_000, dtype=np.uint8).tobytes()
    files = {
        "garbage": data[:middle] + garbage + data[middle:],
        "truncated": data[: len(data) * 2 // 3 + 137],
        "text": b"this is a text file, not audio\n" * 50,
    }
    for name, content in files.items():
        (d / f"{name}.mp3").write_bytes(content)
    return {name: d / f"{name}.mp3" for name in files}


def test_garbage_mid_file_stops_there_like_fpcalc(damaged: dict[str, Path]) -> None:
    """Both print the items up to the damage, then the decoder's error, and exit 3."""
    ours, theirs = (
        run_cli("-raw", "-plain", damaged["garbage"]),
        run_fpcalc("-raw", "-plain", damaged["garbage"]),
    )
    message = "ERROR: Error decoding audio frame (Invalid data found when processing input)\n"
    assert ours.stderr == theirs.stderr == message
    assert ours.stdout == theirs.stdout
    assert 0 < len(ours.stdout.split(",")) < 59  # the whole clip has 59
    assert ours.returncode == theirs.returncode == 3
    ignored = run_cli("-ignore-errors", "-raw", "-plain", damaged["garbage"])
    assert (ignored.stdout, ignored.stderr, ignored.returncode) == (ours.stdout, message, 0)
    assert run_fpcalc("-ignore-errors", "-raw", "-plain", damaged["garbage"]).returncode == 0


def test_truncated_file_ends_cleanly_with_fpcalcs_items(damaged: dict[str, Path]) -> None:
    """A cut-off file is a clean end of stream: the same items, exit 0 and no message; Debian's
    fpcalc says "End of file" and exits 3 here as on every complete file (its known bug)."""
    ours, theirs = (
        run_cli("-raw", "-plain", damaged["truncated"]),
        run_fpcalc("-raw", "-plain", damaged["truncated"]),
    )
    assert ours.stdout == theirs.stdout
    assert 20 < len(ours.stdout.split(",")) < 59
    assert (ours.stderr, ours.returncode) == ("", 0)
    assert theirs.stderr == "ERROR: Error decoding audio frame (End of file)\n"
    assert theirs.returncode == 3


def test_text_file_named_mp3_cannot_be_opened(damaged: dict[str, Path]) -> None:
    """Both refuse to open it (exit 2, no output); the reason in brackets is FFmpeg's own:
    Debian's FFmpeg 5.1 mp3 demuxer says "Invalid argument", the newer one "Invalid data"."""
    ours, theirs = run_cli(damaged["text"]), run_fpcalc(damaged["text"])
    assert theirs.stderr == "ERROR: Could not open the input file (Invalid argument)\n"
    expected = "ERROR: Could not open the input file (Invalid data found when processing input)\n"
    assert ours.stderr == expected
    assert ours.stdout == theirs.stdout == ""
    assert ours.returncode == theirs.returncode == 2


def test_text_file_without_audio_stream_says_so_like_fpcalc(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("a text file that FFmpeg opens as a text stream\n" * 20)
    ours, theirs = run_cli(path), run_fpcalc(path)
    message = "ERROR: Could not find any audio stream in the file (Stream not found)\n"
    assert ours.stderr == theirs.stderr == message
    assert ours.returncode == theirs.returncode == 2
