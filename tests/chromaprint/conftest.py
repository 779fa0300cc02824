"""Shared fixtures: the reference data, the CLI as a user runs it, and the real libchromaprint."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("ACOUSTID_SHARED_DIR", REPO.parent / "shared"))
CLIPS = SHARED / "testdata" / "chromaprint"


def load_json(name: str) -> dict:
    return json.loads((CLIPS / name).read_text())


def run_cli(
    *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`acoustid fpcalc` exactly as a script would call it, in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "fpcalc", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def run_fpcalc(*args: str | Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("fpcalc")
    assert exe, "fpcalc is missing: apt-get install libchromaprint-tools (see .ci/)"
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, timeout=300)


class LibChromaprint:
    """The real libchromaprint.so.1 through ctypes, the way pyacoustid drives it."""

    def __init__(self) -> None:
        try:
            self.lib = ctypes.CDLL("libchromaprint.so.1")
        except OSError as exc:
            raise AssertionError(
                "libchromaprint.so.1 is missing: apt-get install libchromaprint1"
            ) from exc
        self.lib.chromaprint_new.restype = ctypes.c_void_p
        self.lib.chromaprint_new.argtypes = [ctypes.c_int]
        for name in ("start", "feed", "finish", "get_raw_fingerprint", "free"):
            getattr(self.lib, f"chromaprint_{name}").argtypes = None
        self.lib.chromaprint_free.argtypes = [ctypes.c_void_p]
        self.lib.chromaprint_dealloc.argtypes = [ctypes.c_void_p]

    def fingerprint(
        self, pcm: np.ndarray, rate: int, channels: int, algorithm: int = 1, chunk: int = 0
    ) -> np.ndarray:
        lib = self.lib
        ctx = ctypes.c_void_p(lib.chromaprint_new(algorithm))
        try:
            assert lib.chromaprint_start(ctx, rate, channels)
            data = np.ascontiguousarray(pcm, dtype=np.int16)
            step = chunk or max(len(data), 1)
            for i in range(0, len(data), step):
                part = data[i : i + step]
                ptr = part.ctypes.data_as(ctypes.POINTER(ctypes.c_int16))
                assert lib.chromaprint_feed(ctx, ptr, len(part))
            assert lib.chromaprint_finish(ctx)
            items = ctypes.POINTER(ctypes.c_uint32)()
            size = ctypes.c_int()
            assert lib.chromaprint_get_raw_fingerprint(ctx, ctypes.byref(items), ctypes.byref(size))
            out = np.ctypeslib.as_array(items, (size.value,)).copy() if size.value else np.empty(0)
            lib.chromaprint_dealloc(items)
            return out.astype(np.uint32)
        finally:
            lib.chromaprint_free(ctx)


@pytest.fixture(scope="session")
def libchromaprint() -> LibChromaprint:
    return LibChromaprint()
