"""Chromaprint's own test vectors (upstream/vectors.json) through our public API."""

from __future__ import annotations

import numpy as np
import pytest

from libs.chromaprint_cy import codec, compare, constants, library, reference
from libs.chromaprint_cy._core import SilenceRemover
from libs.chromaprint_cy.fingerprinter import Fingerprinter

from .conftest import CLIPS, load_json

pytestmark = pytest.mark.quick

VECTORS = load_json("upstream/vectors.json")
UP = CLIPS / "upstream"


def raw_file(name: str) -> np.ndarray:
    return np.fromfile(UP / name, dtype="<i2")


def test_api_stereo_file_fed_as_mono() -> None:
    vec = VECTORS["api"][0]
    ctx = library.Chromaprint()
    ctx.start(44100, 1)
    ctx.feed(raw_file("test_stereo_44100.raw"))
    ctx.finish()
    assert ctx.fingerprint == vec["fingerprint"]
    assert len(ctx.raw_fingerprint) == vec["raw_length"]
    assert ctx.hash == vec["hash"]


def test_api_silence() -> None:
    vec = VECTORS["api"][1]
    ctx = library.Chromaprint()
    ctx.start(44100, 1)
    for _ in range(130):
        ctx.feed(np.zeros(1024, dtype=np.int16))
    ctx.finish()
    assert ctx.fingerprint == vec["fingerprint"]
    assert ctx.raw_fingerprint.tolist() == vec["raw"]
    assert ctx.hash == vec["hash"] == constants.SILENCE_ITEM


def test_test1_without_resampling() -> None:
    raw = library.fingerprint_pcm(raw_file("test_stereo_44100.raw"), 11025, 2, algorithm=0)
    assert raw.tolist() == VECTORS["api"][2]["raw"]


def test_resampler_matches_upstream_output() -> None:
    rs = library._resample.Resampler(44100, 11025, library.filter_bank(44100), 32768)
    mono = np.concatenate([rs.feed(raw_file("test_mono_44100.raw")), rs.finish()])
    assert np.array_equal(mono, raw_file("test_mono_11025.raw"))


def test_resampler_to_8000_within_upstream_tolerance() -> None:
    bank = library._resample.filter_bank(44100, 8000, 16, 8, 0.8, 9.0)
    rs = library._resample.Resampler(44100, 8000, bank, 32768)
    out = np.concatenate([rs.feed(raw_file("test_mono_44100.raw")), rs.finish()])
    expected = raw_file("test_mono_8000.raw")
    n = min(len(out), len(expected))
    assert n >= len(expected) - 1
    assert np.abs(out[:n].astype(int) - expected[:n]).max() <= 3


def test_stereo_downmix_matches_mono_file() -> None:
    mono = library._resample.downmix(raw_file("test_stereo_44100.raw"), 2)
    assert np.array_equal(mono, raw_file("test_mono_44100.raw"))


@pytest.mark.parametrize("vec", VECTORS["encode"], ids=lambda v: str(v["raw"]))
def test_encode(vec: dict) -> None:
    data = codec.compress(np.array(vec["raw"], dtype=np.uint32), vec["algorithm"])
    assert list(data) == vec["bytes"]
    if "base64" in vec:
        assert codec.b64encode(data) == vec["base64"]
    items, algorithm = codec.decompress(data)
    assert items.tolist() == vec["raw"]
    assert algorithm == vec["algorithm"]


@pytest.mark.parametrize("vec", VECTORS["decode"], ids=lambda v: v.get("note", "")[:30])
def test_decode(vec: dict) -> None:
    def decode() -> tuple[np.ndarray, int]:
        if "base64" in vec:
            return codec.decode_fingerprint(vec["base64"])
        return codec.decompress(bytes(vec["bytes"]))

    if not vec["ok"]:
        with pytest.raises(codec.FingerprintError):
            decode()
        return
    items, algorithm = decode()
    assert algorithm == vec["algorithm"]
    if "raw_int32" in vec:
        assert items.view(np.int32).tolist() == vec["raw_int32"]
    else:
        assert items.tolist() == vec["raw"]


def test_decode_empty_fingerprint() -> None:
    items, algorithm = codec.decode_fingerprint("AQAAAA")
    assert len(items) == 0 and algorithm == 1


@pytest.mark.parametrize("vec", VECTORS["simhash"], ids=str)
def test_simhash(vec: dict) -> None:
    items = np.array(vec["raw"], dtype=np.uint32)
    assert compare.simhash(items) == vec["hash"] == reference.simhash(items)


def test_silence_remover() -> None:
    vec = VECTORS["silence_remover"]
    remover = SilenceRemover(vec["threshold"], vec["window"])
    out = remover.feed(np.array(vec["input"], dtype=np.int16))
    assert out.tolist() == vec["output"]
    assert (
        reference.remove_silence(np.array(vec["input"]), vec["threshold"]).tolist() == vec["output"]
    )


def test_chromagram() -> None:
    vec = VECTORS["chromagram"]
    mono = reference.resample(reference.downmix(raw_file("test_stereo_44100.raw"), 2), 44100)
    algo = constants.algorithm(1)
    power = reference.power_spectrum(
        reference.frames(mono, algo.frame_size, algo.hop), reference.hamming_window(4096)
    )
    rows = reference.normalize(reference.chroma(power, reference.band_of_bin(4096)))
    expected = np.array(vec["rows"])
    assert np.allclose(rows[: len(expected)], expected, atol=1e-5)


def test_silence_item_constant() -> None:
    fp = Fingerprinter()
    fp.feed(np.zeros(11025 * 5, dtype=np.int16))
    assert set(fp.finish().tolist()) == {constants.SILENCE_ITEM}
