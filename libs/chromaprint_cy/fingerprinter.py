"""Streaming Chromaprint core: 11025 Hz mono int16 in, raw uint32 items out.

Audio can arrive in chunks of any size; frames that straddle chunk boundaries, the chroma
filter's history and the integral image's look-back are carried between calls, so the items are
the same however the stream is cut, exactly as in libchromaprint.
"""

from __future__ import annotations

import numpy as np

from . import _core
from . import constants as C
from . import fft as fft_backend
from .reference import band_of_bin, hamming_window

# Frames per FFT batch: large enough to amortise numpy call overhead, small enough for L2 cache.
_BATCH = 64
_TAPS = len(C.CHROMA_FILTER_TAPS)
_TAP_ARRAY = np.array(C.CHROMA_FILTER_TAPS)
_GRAY = np.array(C.GRAY_CODE, dtype=np.uint32)


class Fingerprinter:
    """One algorithm's fingerprinting state for a single stream (see `start`)."""

    def __init__(self, algorithm: int = C.DEFAULT_ALGORITHM, fft: str = "auto") -> None:
        """`fft`: "avfft" (FFmpeg's float32 FFT, as Debian's libchromaprint), "numpy" (float64),
        or "auto" (avfft when the system's libavcodec still has it)."""
        self.algorithm = C.algorithm(algorithm)
        algo = self.algorithm
        if fft not in ("auto", "avfft", "numpy"):
            raise ValueError(f"unknown FFT back end {fft!r}")
        use_avfft = fft == "avfft" or (fft == "auto" and fft_backend.available())
        self._rdft = fft_backend.FFmpegRDFT(algo.frame_size) if use_avfft else None
        self._window = hamming_window(algo.frame_size)
        self._window32 = self._window.astype(np.float32)
        self._bands = band_of_bin(algo.frame_size)
        self._filters = algo.filter_table()
        self._thresholds = algo.threshold_table()
        self._silence = (
            _core.SilenceRemover(C.SILENCE_THRESHOLD, C.SILENCE_WINDOW)
            if algo.remove_silence
            else None
        )
        self.start()

    def start(self) -> None:
        """Forget the stream but keep the silence remover's state, as `chromaprint_start` does."""
        self._pending = np.empty(0, dtype=np.int16)
        self._queue: list[np.ndarray] = []
        self._queued = 0
        self._chroma = np.empty((0, C.NUM_BANDS))
        # Integral image tail, padded: column 0 is zero; row 0 is the row before the first kept row.
        self._image = np.zeros((1, C.NUM_BANDS + 1))
        self._items: list[np.ndarray] = []

    def clear(self) -> None:
        """Drop the items computed so far but keep all signal state (fpcalc's -overlap)."""
        self._process()
        self._items = []

    def feed(self, samples: np.ndarray) -> None:
        """Queue samples; they are processed in batches so small decoder frames stay cheap."""
        samples = np.array(samples, dtype=np.int16)
        if self._silence is not None:
            samples = self._silence.feed(samples)
        if len(samples) == 0:
            return
        self._queue.append(samples)
        self._queued += len(samples)
        if self._queued >= _BATCH * self.algorithm.hop:
            self._process()

    def finish(self) -> np.ndarray:
        """The items so far; no padding or flushing, so trailing partial frames never count."""
        return self.items

    @property
    def items(self) -> np.ndarray:
        self._process()
        if not self._items:
            return np.empty(0, dtype=np.uint32)
        return np.concatenate(self._items)

    def _process(self) -> None:
        if not self._queue:
            return
        algo = self.algorithm
        buf = np.concatenate([self._pending, *self._queue])
        self._queue, self._queued = [], 0
        count = 0 if len(buf) < algo.frame_size else (len(buf) - algo.frame_size) // algo.hop + 1
        for first in range(0, count, _BATCH):
            self._frames(buf, first, min(_BATCH, count - first))
        self._pending = buf[count * algo.hop :].copy()

    def _frames(self, buf: np.ndarray, first: int, count: int) -> None:
        algo = self.algorithm
        power = np.empty((count, algo.frame_size // 2 + 1))
        if self._rdft is not None:
            rdft = self._rdft
            _core.rdft_power(
                buf,
                first,
                count,
                algo.hop,
                self._window32,
                rdft.ctx,
                rdft.calc,
                rdft.scratch,
                power,
            )
        else:
            frames = np.empty((count, algo.frame_size))
            _core.window_frames(buf, first, count, algo.hop, self._window, frames)
            _core.power_spectrum(np.fft.rfft(frames, axis=1), power)
        chroma = np.empty((count, C.NUM_BANDS))
        _core.chroma(power, self._bands, algo.min_bin, algo.max_bin, chroma)
        history = np.concatenate([self._chroma, chroma])
        rows = np.empty((max(len(history) - _TAPS + 1, 0), C.NUM_BANDS))
        _core.chroma_filter(history, _TAP_ARRAY, rows)
        self._chroma = history[len(rows) :]
        if not len(rows):
            return
        _core.normalize(rows, C.NORMALIZER_THRESHOLD)
        image = np.empty((len(rows) + 1, C.NUM_BANDS + 1))
        image[0] = self._image[-1]
        _core.integral_image(rows, image)
        image = np.concatenate([self._image, image[1:]])
        count_items = len(image) - algo.max_width
        if count_items > 0:
            out = np.empty(count_items, dtype=np.uint32)
            _core.classify(image, count_items, self._filters, self._thresholds, _GRAY, out)
            self._items.append(out)
            image = image[count_items:]
        self._image = np.ascontiguousarray(image)


def fingerprint(
    samples: np.ndarray, algorithm: int = C.DEFAULT_ALGORITHM, fft: str = "auto"
) -> np.ndarray:
    """Raw fingerprint of a whole 11025 Hz mono int16 signal."""
    fp = Fingerprinter(algorithm, fft)
    fp.feed(samples)
    return fp.finish()
