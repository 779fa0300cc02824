"""The FFmpeg shared libraries behind decoding and fpcalc's conversion, bound through ctypes.

Kept apart from ``audio`` (which needs PyAV's extension modules and numpy) so that
``fpcalc -version`` can name the library versions without importing either: PyAV's own copies
of the libraries sit in ``av.libs`` next to its package and are found without importing it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import importlib.util
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


class AudioError(Exception):
    """A file could not be opened or decoded; `str()` is FFmpeg's reason, as fpcalc shows it."""


@dataclass(frozen=True)
class _FFmpeg:
    swr: ctypes.CDLL
    avutil: ctypes.CDLL
    origin: str


def _bind(swr_path: str, avutil_path: str, origin: str) -> _FFmpeg:
    swr = ctypes.CDLL(swr_path)
    avutil = ctypes.CDLL(avutil_path)
    swr.swr_alloc.restype = ctypes.c_void_p
    swr.swr_init.argtypes = [ctypes.c_void_p]
    swr.swr_free.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
    swr.swr_get_out_samples.argtypes = [ctypes.c_void_p, ctypes.c_int]
    swr.swr_convert.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.c_int,
    ]
    swr.swresample_version.restype = ctypes.c_uint
    avutil.av_opt_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
    avutil.av_opt_set_int.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_int64,
        ctypes.c_int,
    ]
    avutil.av_opt_set_double.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_double,
        ctypes.c_int,
    ]
    avutil.av_get_sample_fmt.argtypes = [ctypes.c_char_p]
    return _FFmpeg(swr, avutil, origin)


@lru_cache(maxsize=1)
def ffmpeg() -> _FFmpeg:
    """The libswresample to convert with: the system's (fpcalc's own) first, else PyAV's."""
    swr_name = ctypes.util.find_library("swresample")
    avutil_name = ctypes.util.find_library("avutil")
    if swr_name and avutil_name and "CHROMAPRINT_CY_BUNDLED_SWR" not in os.environ:
        try:
            return _bind(swr_name, avutil_name, "system")
        except OSError:
            pass
    swr_path, avutil_path = _pyav_library("swresample"), _pyav_library("avutil")
    if swr_path is None or avutil_path is None:
        raise AudioError("no libswresample found (install libswresample4)")
    return _bind(swr_path, avutil_path, "PyAV")


def _pyav_library(name: str) -> str | None:
    spec = importlib.util.find_spec("av")
    if spec is None or spec.origin is None:
        return None
    found = glob.glob(str(Path(spec.origin).parent.parent / "av.libs" / f"lib{name}-*.so*"))
    return found[0] if found else None


def _version(number: int) -> str:
    return f"{number >> 16}.{(number >> 8) & 0xFF}.{number & 0xFF}"


def swresample_version() -> str:
    """The version of the libswresample that converts (the system's, as fpcalc's)."""
    return _version(ffmpeg().swr.swresample_version())


def pyav_version(name: str) -> str:
    """The version of PyAV's own ``lib<name>`` (avcodec, avformat), which decodes and demuxes."""
    path = _pyav_library(name)
    if path is None:
        raise AudioError(f"PyAV's lib{name} not found")
    function = getattr(ctypes.CDLL(path), f"{name}_version")
    function.restype = ctypes.c_uint
    return _version(function())
