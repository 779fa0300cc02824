"""Chromaprint benchmark: ours against the real thing, side by side, best of 5.

(a) PCM only: the library API path on 44.1 kHz stereo PCM, ours vs libchromaprint.so.1 (ctypes);
(b) files: `acoustid fpcalc` on 50 files in one call vs `fpcalc` started once per file;
(c) compare2 pairs/s on 120 s fingerprints, Cython vs the numpy reference.
Run from the repository root: `python bench/chromaprint.py`. Writes bench/results/chromaprint.json.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from libs.chromaprint_cy import compare, library, reference  # noqa: E402
from tests.chromaprint.conftest import LibChromaprint  # noqa: E402
from tests.chromaprint.signals import Case, synthesize, write  # noqa: E402

REPEAT = 5
FILES = 50


def best_of(fn: Callable[[], object], repeat: int = REPEAT) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_pcm(lib: LibChromaprint) -> list[dict]:
    rows = []
    for seconds in (120, 600):
        pcm = (synthesize(Case(f"pcm{seconds}", 44100, 2, seconds)) >> 8).astype(np.int16)
        ours_items = library.fingerprint_pcm(pcm, 44100, 2)
        assert np.array_equal(ours_items, lib.fingerprint(pcm, 44100, 2)), "results differ"
        ours = best_of(lambda pcm=pcm: library.fingerprint_pcm(pcm, 44100, 2))
        theirs = best_of(lambda pcm=pcm: lib.fingerprint(pcm, 44100, 2))
        rows.append(
            {
                "what": f"(a) PCM {seconds} s 44.1 kHz stereo -> fingerprint",
                "ours_s": ours,
                "reference_s": theirs,
                "ratio": ours / theirs,
            }
        )
    return rows


def bench_files(directory: Path) -> dict:
    files = [
        write(Case(f"song{i:02d}", 44100, 2, 150 + i, container="flac"), directory)
        for i in range(FILES)
    ]
    fpcalc = shutil.which("fpcalc")
    assert fpcalc, "fpcalc is missing (apt-get install libchromaprint-tools)"
    cmd = [sys.executable, "-m", "services.cli", "fpcalc", *map(str, files)]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=True).stdout
    expected = "".join(
        subprocess.run([fpcalc, str(f)], capture_output=True, text=True).stdout for f in files
    )
    assert out == expected, "acoustid fpcalc output differs from fpcalc"

    def ours() -> None:
        subprocess.run(cmd, cwd=REPO, capture_output=True, check=True)

    def theirs() -> None:
        for f in files:
            subprocess.run([fpcalc, str(f)], capture_output=True)

    ours_s, theirs_s = best_of(ours), best_of(theirs)
    return {
        "what": f"(b) {FILES} FLAC files (150-199 s, 44.1 kHz stereo; first 120 s used)",
        "ours_s": ours_s,
        "reference_s": theirs_s,
        "ratio": ours_s / theirs_s,
    }


def bench_compare(directory: Path) -> dict:
    fps = []
    for i in range(8):
        pcm = (synthesize(Case(f"cmp{i}", 11025, 1, 120)) >> 8).astype(np.int16)
        fps.append(library.fingerprint_pcm(pcm, 11025, 1))
    rng = np.random.default_rng(0)
    pairs = []
    for i in range(400):
        a = fps[i % len(fps)]
        if i % 2:
            b = a[rng.integers(0, 40) :].copy()
            b[rng.random(len(b)) < 0.1] ^= np.uint32(1 << 7)
        else:
            b = fps[(i + 1) % len(fps)]
        pairs.append((a, b))
    for a, b in pairs[:20]:
        assert compare.compare2(a, b, 80) == reference.compare2(a, b, 80)
    ours = best_of(lambda: [compare.compare2(a, b, 80) for a, b in pairs])
    ref_pairs = pairs[:40]
    theirs = best_of(lambda: [reference.compare2(a, b, 80) for a, b in ref_pairs])
    ours_rate = len(pairs) / ours
    ref_rate = len(ref_pairs) / theirs
    return {
        "what": f"(c) compare2, {len(fps[0])}-item (120 s) fingerprints, maxoffset 80",
        "ours_pairs_per_s": ours_rate,
        "reference_pairs_per_s": ref_rate,
        "speedup": ours_rate / ref_rate,
    }


def main() -> int:
    lib = LibChromaprint()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [*bench_pcm(lib), bench_files(Path(tmp)), bench_compare(Path(tmp))]
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "best_of": REPEAT,
        "rows": rows,
    }
    print(f"{'benchmark':<72} {'ours':>10} {'reference':>10} {'ratio':>7}")
    for row in rows:
        if "ratio" in row:
            print(
                f"{row['what']:<72} {row['ours_s']:>9.3f}s {row['reference_s']:>9.3f}s "
                f"{row['ratio']:>7.2f}"
            )
        else:
            print(
                f"{row['what']:<72} {row['ours_pairs_per_s']:>8.0f}/s "
                f"{row['reference_pairs_per_s']:>8.0f}/s {row['speedup']:>6.0f}x"
            )
    out = REPO / "bench" / "results" / "chromaprint.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
