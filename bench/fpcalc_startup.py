"""`acoustid fpcalc` start-up, side by side with Debian's fpcalc, as scripts call it: once per file.

Runs, interleaved so the neighbours' load falls on both alike, `-version` and one 45 s MP3
(`-json -length 120`, what Picard runs) through `acoustid fpcalc`, `acoustid-fpcalc` and
`/usr/bin/fpcalc`. Reports the median and best wall time and the median CPU time (user + sys of
the child, which other processes on the machine do not inflate), plus two floors: the bare
interpreter and the imports fingerprinting needs. Run from the repository root:
`python bench/fpcalc_startup.py`. Writes bench/results/fpcalc_startup.json.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ACOUSTID_SHARED_DIR", REPO.parent / "shared"))
SOURCE = SHARED / "testdata" / "chromaprint" / "melody_noise_22k_mono_125s.flac"
RUNS = 15
BIN = Path(sys.executable).parent


def make_mp3(directory: Path) -> Path:
    """45 s of the shared reference clip as a 128 kbit/s stereo 44.1 kHz MP3, a typical file."""
    path = directory / "song45.mp3"
    encode = ["-t", "45", "-ac", "2", "-ar", "44100", "-b:a", "128k"]
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-i", str(SOURCE), *encode, str(path)], check=True
    )
    return path


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """(wall s, child CPU s, stdout) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out


def main() -> int:
    fpcalc = shutil.which("fpcalc")
    if fpcalc is None or shutil.which("ffmpeg") is None:
        print("needs fpcalc and ffmpeg (sh .ci/apt-install)", file=sys.stderr)
        return 1
    programs = {
        "acoustid fpcalc": [str(BIN / "acoustid"), "fpcalc"],
        "acoustid-fpcalc": [str(BIN / "acoustid-fpcalc")],
        "Debian fpcalc": [fpcalc],
    }
    # Where our time goes: the interpreter alone, and the imports fingerprinting needs.
    floors = {
        "python, nothing": [sys.executable, "-c", "pass"],
        "python, imports": [sys.executable, "-c", "import libs.chromaprint_cy.fpcalc_files"],
    }
    with tempfile.TemporaryDirectory() as tmp:
        song = make_mp3(Path(tmp))
        tasks = {"-version": ["-version"], "one 45 s MP3": ["-json", "-length", "120", str(song)]}
        samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
        outputs: dict[tuple[str, str], str] = {}
        for cmd in programs.values():  # warm the page cache and the dynamic loader once
            subprocess.run([*cmd, "-version"], capture_output=True, check=False)
        for _ in range(RUNS):
            for task, args in tasks.items():
                for name, cmd in programs.items():
                    wall, cpu, out = timed([*cmd, *args])
                    samples.setdefault((task, name), []).append((wall, cpu))
                    outputs[(task, name)] = out
            for name, cmd in floors.items():
                wall, cpu, _ = timed(cmd)
                samples.setdefault(("floor", name), []).append((wall, cpu))
    song_prints = {json.loads(outputs[("one 45 s MP3", name)])["fingerprint"] for name in programs}
    assert len(song_prints) == 1, "the programs disagree on the fingerprint"
    rows = []
    for (task, name), runs in samples.items():
        walls, cpus = [w for w, _ in runs], [c for _, c in runs]
        rows.append(
            {
                "task": task,
                "program": name,
                "wall_median_s": statistics.median(walls),
                "wall_best_s": min(walls),
                "cpu_median_s": statistics.median(cpus),
            }
        )
    for row in rows:
        task = "one 45 s MP3" if row["task"] == "floor" else row["task"]
        ref = next(r for r in rows if r["task"] == task and r["program"] == "Debian fpcalc")
        row["cpu_ratio"] = row["cpu_median_s"] / max(ref["cpu_median_s"], 1e-9)
        row["wall_best_ratio"] = row["wall_best_s"] / ref["wall_best_s"]
    print(
        f"{'task':<14} {'program':<16} {'wall med':>9} {'wall best':>9} {'cpu med':>8} "
        f"{'cpu x':>6} {'best x':>6}"
    )
    for r in rows:
        print(
            f"{r['task']:<14} {r['program']:<16} {r['wall_median_s']:>9.3f} "
            f"{r['wall_best_s']:>9.3f} {r['cpu_median_s']:>8.3f} {r['cpu_ratio']:>6.1f} "
            f"{r['wall_best_ratio']:>6.1f}"
        )
    load = os.getloadavg()
    result = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, load {load[0]:.1f}",
        "runs": RUNS,
        "rows": rows,
    }
    out = REPO / "bench" / "results" / "fpcalc_startup.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"load average {load[0]:.1f}; written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
