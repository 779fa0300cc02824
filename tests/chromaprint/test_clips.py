"""The shared reference clips: the CLI against fpcalc's recorded output, the API path against
the library's."""

from __future__ import annotations

import json

import numpy as np
import pytest

from libs.chromaprint_cy import audio, fingerprint_file, library

from .conftest import CLIPS, load_json, run_cli

EXPECTED = load_json("expected.json")["clips"]
EXPECTED_API = load_json("expected_api.json")["clips"]
FILES = [CLIPS / c["file"] for c in EXPECTED]


@pytest.fixture(scope="module")
def cli_raw() -> list[dict]:
    proc = run_cli("-raw", "-json", *FILES)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


@pytest.fixture(scope="module")
def cli_compressed() -> list[dict]:
    proc = run_cli("-json", *FILES)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_every_file_of_one_call_is_processed(cli_raw: list[dict]) -> None:
    assert len(cli_raw) == len(EXPECTED)


@pytest.mark.parametrize("index", range(len(EXPECTED)), ids=[c["file"] for c in EXPECTED])
def test_clip_matches_fpcalc(index: int, cli_raw: list[dict], cli_compressed: list[dict]) -> None:
    clip = EXPECTED[index]
    raw = cli_raw[index]["fingerprint"]
    same = sum(a == b for a, b in zip(raw, clip["raw"], strict=False))
    assert raw == clip["raw"], f"{same}/{len(clip['raw'])} items equal, {len(raw)} produced"
    assert cli_compressed[index]["fingerprint"] == clip["fingerprint"]
    assert round(cli_raw[index]["duration"], 2) == clip["duration"]


@pytest.mark.parametrize("clip", EXPECTED_API, ids=[c["file"] for c in EXPECTED_API])
def test_clip_matches_library_api(clip: dict) -> None:
    pcm, rate, channels = audio.decode_pcm(str(CLIPS / clip["file"]))
    assert (rate, channels) == (clip["sample_rate"], clip["channels"])
    ctx = library.Chromaprint()
    ctx.start(rate, channels)
    ctx.feed(pcm[: rate * channels * 120])
    ctx.finish()
    assert ctx.raw_fingerprint.tolist() == clip["raw"]
    assert ctx.fingerprint == clip["fingerprint"]


def test_upstream_mp3_matches_recorded_fpcalc_output() -> None:
    recorded = (CLIPS / "upstream" / "test.mp3.fpcalc.out").read_text()
    proc = run_cli("-raw", CLIPS / "upstream" / "test.mp3")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == recorded.split()


def test_text_and_plain_output() -> None:
    clip = EXPECTED[0]
    proc = run_cli(CLIPS / clip["file"])
    assert proc.stdout == f"DURATION={int(clip['duration'])}\nFINGERPRINT={clip['fingerprint']}\n"
    proc = run_cli("-plain", CLIPS / clip["file"])
    assert proc.stdout == clip["fingerprint"] + "\n"
    proc = run_cli("-raw", "-signed", "-plain", CLIPS / clip["file"])
    signed = np.array(clip["raw"], dtype=np.uint32).view(np.int32).tolist()
    assert proc.stdout == ",".join(map(str, signed)) + "\n"


@pytest.mark.parametrize("clip", EXPECTED[:3], ids=[c["file"] for c in EXPECTED[:3]])
def test_fingerprint_file_api(clip: dict) -> None:
    duration, items = fingerprint_file(str(CLIPS / clip["file"]))
    assert items.tolist() == clip["raw"]
    assert round(duration, 2) == clip["duration"]


def test_fallbacks_without_system_ffmpeg_5() -> None:
    """PyAV's bundled libswresample and the float64 FFT (used where FFmpeg 5.1 is absent):
    exact on float-path (24-bit) sources, as the reference notes."""
    clip = next(c for c in EXPECTED if c["file"] == "melody_48k_stereo.flac")
    env = {"CHROMAPRINT_CY_BUNDLED_SWR": "1", "CHROMAPRINT_CY_FFT": "numpy"}
    proc = run_cli("-raw", "-json", CLIPS / clip["file"], env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["fingerprint"] == clip["raw"]
