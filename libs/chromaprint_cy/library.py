"""libchromaprint's API path: native-rate PCM in, the library's own downmix and resampler.

pyacoustid's `fingerprint()` and the website's upload search hand PCM to libchromaprint directly
instead of going through fpcalc; their fingerprints come from this front end, which can differ
from fpcalc's (see `fpcalc.py`) by an item at the end of a stream, so both are kept.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from . import _resample, codec
from . import constants as C
from .compare import simhash
from .fingerprinter import Fingerprinter


@lru_cache(maxsize=16)
def filter_bank(in_rate: int) -> np.ndarray:
    """The resampler's coefficients for one input rate (costly to build, so cached)."""
    bank: np.ndarray = _resample.filter_bank(
        in_rate,
        C.SAMPLE_RATE,
        C.RESAMPLE_FILTER_SIZE,
        C.RESAMPLE_PHASE_SHIFT,
        C.RESAMPLE_CUTOFF,
        C.RESAMPLE_KAISER_BETA,
    )
    bank.setflags(write=False)
    return bank


class Chromaprint:
    """Mirror of a `ChromaprintContext`: start, feed interleaved int16, finish, read results."""

    def __init__(self, algorithm: int = C.DEFAULT_ALGORITHM) -> None:
        self._fingerprinter = Fingerprinter(algorithm)
        self._channels = 0
        self._resampler: _resample.Resampler | None = None

    @property
    def algorithm(self) -> int:
        return self._fingerprinter.algorithm.id

    def start(self, sample_rate: int, channels: int) -> None:
        if channels <= 0 or sample_rate <= C.MIN_SAMPLE_RATE:
            raise ValueError(f"unsupported stream: {sample_rate} Hz, {channels} channel(s)")
        self._channels = channels
        self._resampler = (
            None
            if sample_rate == C.SAMPLE_RATE
            else _resample.Resampler(
                sample_rate, C.SAMPLE_RATE, filter_bank(sample_rate), C.RESAMPLE_BUFFER
            )
        )
        self._fingerprinter.start()

    def feed(self, data: np.ndarray) -> None:
        """Interleaved int16; like libchromaprint 1.5.1, a trailing partial frame is dropped."""
        if not self._channels:
            raise RuntimeError("feed() before start()")
        data = np.ascontiguousarray(data, dtype=np.int16)
        mono = _resample.downmix(data, self._channels)
        if self._resampler is not None:
            mono = self._resampler.feed(mono)
        self._fingerprinter.feed(mono)

    def finish(self) -> None:
        if self._resampler is not None:
            self._fingerprinter.feed(self._resampler.finish())

    def clear_fingerprint(self) -> None:
        self._fingerprinter.clear()

    @property
    def raw_fingerprint(self) -> np.ndarray:
        return self._fingerprinter.items

    @property
    def fingerprint(self) -> str:
        return codec.encode_fingerprint(self.raw_fingerprint, self.algorithm)

    @property
    def hash(self) -> int:
        return simhash(self.raw_fingerprint)


def fingerprint_pcm(
    data: np.ndarray, sample_rate: int, channels: int, algorithm: int = C.DEFAULT_ALGORITHM
) -> np.ndarray:
    """One-shot `start`/`feed`/`finish` over a whole buffer; returns the raw items."""
    ctx = Chromaprint(algorithm)
    ctx.start(sample_rate, channels)
    ctx.feed(data)
    ctx.finish()
    return ctx.raw_fingerprint
