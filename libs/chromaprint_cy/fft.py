"""Which FFT the fingerprinter uses, and FFmpeg's real FFT for the exact one.

Debian's libchromaprint (and upstream's release builds) compute the spectrum with FFmpeg's
float32 `av_rdft`. A float64 FFT gives the same fingerprint almost always, but a classifier
value lying within float32 noise of its threshold flips a bit (seen once in 47,400 items of
the benchmark files). Calling the same `av_rdft` from the system's libavcodec removes that
last difference; without it (FFmpeg 7+ dropped `av_rdft`) we fall back to numpy in float64.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from functools import lru_cache

import numpy as np

_DFT_R2C = 0
_ALIGN = 64


@lru_cache(maxsize=1)
def _avcodec() -> ctypes.CDLL | None:
    if os.environ.get("CHROMAPRINT_CY_FFT") == "numpy":
        return None
    name = ctypes.util.find_library("avcodec")
    if not name:
        return None
    try:
        lib = ctypes.CDLL(name)
        init, calc, end = lib.av_rdft_init, lib.av_rdft_calc, lib.av_rdft_end
    except (OSError, AttributeError):
        return None
    init.restype = ctypes.c_void_p
    init.argtypes = [ctypes.c_int, ctypes.c_int]
    end.argtypes = [ctypes.c_void_p]
    del calc
    return lib


def available() -> bool:
    return _avcodec() is not None


class FFmpegRDFT:
    """One `av_rdft` context for a frame size, plus its aligned work buffer."""

    def __init__(self, frame_size: int) -> None:
        lib = _avcodec()
        if lib is None:
            raise RuntimeError("FFmpeg's av_rdft is not available (install libavcodec59)")
        self._lib = lib
        self.ctx = lib.av_rdft_init(frame_size.bit_length() - 1, _DFT_R2C)
        if not self.ctx:
            raise RuntimeError(f"av_rdft_init failed for {frame_size}")
        self.calc = ctypes.cast(lib.av_rdft_calc, ctypes.c_void_p).value or 0
        raw = np.empty(frame_size + _ALIGN // 4, dtype=np.float32)
        skip = (-raw.ctypes.data % _ALIGN) // 4
        self.scratch = raw[skip : skip + frame_size]

    def __del__(self) -> None:
        if getattr(self, "ctx", None):
            self._lib.av_rdft_end(self.ctx)
            self.ctx = None
