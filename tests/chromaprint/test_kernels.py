"""Every Cython kernel against its numpy reference, bit for bit, on varied signals."""

from __future__ import annotations

import numpy as np
import pytest

from libs.chromaprint_cy import (
    _compare,
    _core,
    _resample,
    compare,
    constants,
    fft,
    library,
    query,
    reference,
)
from libs.chromaprint_cy.fingerprinter import Fingerprinter, fingerprint

from .conftest import load_json

pytestmark = pytest.mark.quick

RNG = np.random.default_rng(20261125)


def signal(seconds: float, rate: int = 11025, channels: int = 1, scale: float = 4000.0):
    n = int(seconds * rate) * channels
    t = np.arange(n) / rate / channels
    tone = np.sin(2 * np.pi * 440 * t * (1 + t / 10)) * scale
    return np.clip(tone + RNG.normal(0, scale / 4, n), -32768, 32767).astype(np.int16)


@pytest.mark.parametrize("channels", [1, 2, 3, 6])
def test_downmix(channels: int) -> None:
    x = RNG.integers(-32768, 32768, 999 * channels + 1).astype(np.int16)
    assert np.array_equal(_resample.downmix(x, channels), reference.downmix(x, channels))


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 32000, 44100, 48000, 96000])
def test_filter_bank(rate: int) -> None:
    assert np.array_equal(library.filter_bank(rate), reference.resample_filter_bank(rate))


@pytest.mark.parametrize("rate", [8000, 22050, 48000])
def test_resampler_streaming(rate: int) -> None:
    x = signal(7, rate)
    rs = _resample.Resampler(
        rate, constants.SAMPLE_RATE, library.filter_bank(rate), constants.RESAMPLE_BUFFER
    )
    parts = [rs.feed(p) for p in np.array_split(x, 11)] + [rs.finish()]
    assert np.array_equal(np.concatenate(parts), reference.resample(x, rate))


def test_silence_remover_across_chunks() -> None:
    x = np.concatenate([np.zeros(500, np.int16), RNG.integers(-40, 40, 3000).astype(np.int16)])
    x = np.concatenate([x, signal(0.3)])
    remover = _core.SilenceRemover(constants.SILENCE_THRESHOLD, constants.SILENCE_WINDOW)
    out = np.concatenate([remover.feed(p) for p in np.array_split(x, 13)])
    assert np.array_equal(out, reference.remove_silence(x))


def test_silence_remover_wraps_int16_min() -> None:
    x = np.full(100, -32768, dtype=np.int16)
    out = _core.SilenceRemover(constants.SILENCE_THRESHOLD, constants.SILENCE_WINDOW).feed(x)
    assert np.array_equal(out, reference.remove_silence(x))


@pytest.mark.parametrize("algorithm_id", range(5))
def test_stages(algorithm_id: int) -> None:
    algo = constants.algorithm(algorithm_id)
    x = signal(30 * algo.hop / constants.SAMPLE_RATE)
    window = reference.hamming_window(algo.frame_size)
    ref_frames = reference.frames(x, algo.frame_size, algo.hop)
    frames = np.empty(ref_frames.shape)
    _core.window_frames(x, 0, len(frames), algo.hop, window, frames)
    assert np.array_equal(frames, ref_frames * window)

    power = np.empty((len(frames), algo.frame_size // 2 + 1))
    _core.power_spectrum(np.fft.rfft(frames, axis=1), power)
    ref_power = reference.power_spectrum(ref_frames, window)
    assert np.array_equal(power, ref_power)

    rdft = fft.FFmpegRDFT(algo.frame_size)
    power32 = np.empty_like(power)
    w32 = window.astype(np.float32)
    _core.rdft_power(x, 0, len(frames), algo.hop, w32, rdft.ctx, rdft.calc, rdft.scratch, power32)
    assert np.array_equal(power32, reference.power_spectrum_avfft(ref_frames, window, rdft))
    assert np.allclose(power32, power, rtol=1e-4, atol=1e-6)

    bands = reference.band_of_bin(algo.frame_size)
    chroma = np.empty((len(frames), constants.NUM_BANDS))
    _core.chroma(power, bands, algo.min_bin, algo.max_bin, chroma)
    assert np.array_equal(chroma, reference.chroma(ref_power, bands))

    rows = np.empty((len(chroma) - 4, constants.NUM_BANDS))
    _core.chroma_filter(chroma, np.array(constants.CHROMA_FILTER_TAPS), rows)
    assert np.array_equal(rows, reference.chroma_filter(chroma))

    ref_rows = reference.normalize(rows)
    rows[3] = 1e-4  # below the normaliser's threshold: must become zeros
    ref_rows[3] = 0.0
    _core.normalize(rows, constants.NORMALIZER_THRESHOLD)
    assert np.array_equal(rows, ref_rows)

    image = np.zeros((len(rows) + 1, constants.NUM_BANDS + 1))
    _core.integral_image(rows, image)
    assert np.array_equal(image[1:, 1:], reference.integral_image(rows))

    count = len(image) - algo.max_width
    items = np.empty(count, dtype=np.uint32)
    gray = np.array(constants.GRAY_CODE, dtype=np.uint32)
    _core.classify(image, count, algo.filter_table(), algo.threshold_table(), gray, items)
    assert np.array_equal(items, reference.classify(reference.integral_image(rows), algo))


def test_avfft_is_available() -> None:
    assert fft.available(), "libavcodec's av_rdft is missing: apt-get install libavcodec59"


@pytest.mark.parametrize("backend", ["avfft", "numpy"])
@pytest.mark.parametrize("algorithm_id", range(5))
def test_fingerprinter_is_chunking_independent(algorithm_id: int, backend: str) -> None:
    x = np.concatenate([np.zeros(5000, np.int16), signal(12)])
    whole = fingerprint(x, algorithm_id, backend)
    algo = constants.algorithm(algorithm_id)
    rdft = fft.FFmpegRDFT(algo.frame_size) if backend == "avfft" else None
    assert np.array_equal(whole, reference.fingerprint(x, algorithm_id, rdft))
    fp = Fingerprinter(algorithm_id, backend)
    for part in np.array_split(x, 53):
        fp.feed(part)
    assert np.array_equal(fp.finish(), whole)


def test_library_path_matches_reference() -> None:
    x = signal(9, 44100, 2)
    expected = reference.fingerprint_pcm(x, 44100, 2, rdft=fft.FFmpegRDFT(4096))
    ctx = library.Chromaprint()
    ctx.start(44100, 2)
    for part in np.array_split(x, 7):
        ctx.feed(part[: len(part) - len(part) % 2])
    ctx.finish()
    whole = library.fingerprint_pcm(x, 44100, 2)
    assert np.array_equal(whole, expected)
    assert len(ctx.raw_fingerprint) == len(expected)


def _fingerprints() -> list[np.ndarray]:
    return [np.array(c["raw"], dtype=np.uint32) for c in load_json("expected.json")["clips"]]


def _pairs() -> list[tuple[np.ndarray, np.ndarray, int]]:
    fps = _fingerprints()
    rng = np.random.default_rng(7)
    pairs = []
    for k in range(150):
        a = fps[k % len(fps)][rng.integers(0, 40) :]
        b = fps[rng.integers(len(fps))][rng.integers(0, 40) :]
        if k % 3 == 0:
            b = a[rng.integers(0, 20) :].copy()
            flips = rng.random(len(b)) < 0.05
            b[flips] ^= np.uint32(1) << rng.integers(0, 32, flips.sum()).astype(np.uint32)
        if k % 10 == 1:
            # Keys 16383 and 0 exercise pg_acoustid's overlapping tables.
            a = a.copy()
            a[rng.random(len(a)) < 0.2] = 0xFFFFFFFF
            b = b.copy()
            b[rng.random(len(b)) < 0.2] = 0x0000FFFF
        if k % 10 == 2:
            a = np.tile(a[:5], 30)
        if k % 10 == 3:
            # Key 8191 late in `a` leaves a non-zero byte where C's `seen` flag for 16383 lives.
            a = a.copy()
            a[min(300, len(a) - 1)] = 0x7FFC0000 | k
            a[rng.random(len(a)) < 0.1] = 0xFFFC0000 | k
            b = b.copy()
            b[rng.random(len(b)) < 0.1] = 0xFFFFFFF0
        pairs.append((a, b, int(rng.choice([0, 80, 10]))))
    return pairs


@pytest.mark.parametrize("a,b,maxoffset", _pairs())
def test_compare2(a: np.ndarray, b: np.ndarray, maxoffset: int) -> None:
    assert compare.compare2(a, b, maxoffset) == reference.compare2(a, b, maxoffset)


@pytest.mark.parametrize("shift", [0, 7, -9])
def test_compare2_longer_than_uint16_positions(shift: int) -> None:
    rng = np.random.default_rng(shift + 100)
    a = rng.integers(0, 2**32, 70_000, dtype=np.uint64).astype(np.uint32)
    b = a[shift:] if shift >= 0 else np.concatenate([a[:-shift], a])
    b = b ^ (rng.random(len(b)) < 0.01).astype(np.uint32)
    assert compare.compare2(a, b, 0) == reference.compare2(a, b, 0)
    assert compare.compare2(b, a, 80) == reference.compare2(b, a, 80)


def test_compare2_key_width_matches_constants() -> None:
    assert _compare.KEY_SHIFT == constants.MATCH_SHIFT


def test_compare2_known_values() -> None:
    fp = _fingerprints()[2]
    assert compare.compare2(fp, fp, 80) == 1.0
    assert compare.compare2(fp, np.empty(0, np.uint32)) == 0.0
    assert compare.compare2(fp.view(np.int32), fp, 80) == 1.0


@pytest.mark.parametrize("shift", [0, 12, -30])
def test_compare2_offset_is_the_alignment_scored(shift: int) -> None:
    fp = _fingerprints()[2]
    noise = np.random.default_rng(3).integers(0, 2**32, max(-shift, 0), dtype=np.uint64)
    other = fp[shift:] if shift >= 0 else np.concatenate([noise.astype(np.uint32), fp])
    score, offset = compare.compare2_offset(fp, other, 80)
    assert offset == shift
    assert score == compare.compare2(fp, other, 80) > 0.9
    assert compare.compare2_offset(fp, np.empty(0, np.uint32), 80) == (0.0, 0)


def test_extract_query() -> None:
    for fp in _fingerprints():
        assert np.array_equal(query.extract_query(fp), reference.extract_query(fp))
        assert len(query.extract_query(fp)) <= constants.QUERY_LENGTH
    silent = np.full(300, constants.SILENCE_ITEM, dtype=np.uint32)
    assert len(query.extract_query(silent)) == 0
    mixed = np.concatenate([silent[:100], _fingerprints()[0][:50]])
    assert np.array_equal(query.extract_query(mixed), reference.extract_query(mixed))


def test_simhash_reference() -> None:
    for fp in _fingerprints():
        assert compare.simhash(fp) == reference.simhash(fp)
