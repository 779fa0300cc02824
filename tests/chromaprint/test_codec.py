"""Codec round trips and robustness against arbitrary input (hypothesis)."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from libs.chromaprint_cy import codec

pytestmark = pytest.mark.quick
items = st.lists(st.integers(0, 2**32 - 1), max_size=400).map(
    lambda v: np.array(v, dtype=np.uint32)
)


@given(items, st.integers(0, 255))
@settings(max_examples=300, deadline=None)
def test_round_trip(raw: np.ndarray, algorithm: int) -> None:
    text = codec.encode_fingerprint(raw, algorithm)
    decoded, alg = codec.decode_fingerprint(text)
    assert np.array_equal(decoded, raw)
    assert alg == algorithm


@given(st.binary(max_size=300))
@settings(max_examples=1000, deadline=None)
def test_decompress_never_crashes(data: bytes) -> None:
    try:
        decoded, alg = codec.decompress(data)
    except codec.FingerprintError:
        return
    assert decoded.dtype == np.uint32 and 0 <= alg <= 255


@given(st.text(max_size=200) | st.text(alphabet="AQ_-abc019", max_size=200))
@settings(max_examples=1000, deadline=None)
def test_decode_text_never_crashes(text: str) -> None:
    with contextlib.suppress(codec.FingerprintError):
        codec.decode_fingerprint(text)


def test_prefix_of_valid_fingerprint_is_rejected_or_shorter() -> None:
    raw = np.arange(1, 200, dtype=np.uint32) * 2654435761
    data = codec.compress(raw)
    for cut in range(len(data)):
        try:
            decoded, _ = codec.decompress(data[:cut])
        except codec.FingerprintError:
            continue
        assert np.array_equal(decoded, raw[: len(decoded)])


def test_base64_has_no_padding() -> None:
    assert codec.b64encode(b"\x01") == "AQ"
    assert codec.b64encode(b"\x01\x00") == "AQA"
    assert codec.b64decode("AQA") == b"\x01\x00"
