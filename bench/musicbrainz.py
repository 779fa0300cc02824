"""MusicBrainz data: dump import rate, and what lookup metadata adds to a lookup's latency.

1. Writes a generated dump (``libs.common.musicbrainz.synthetic``: ``--recordings``
   recordings, twice as many tracks) and imports it with ``acoustid musicbrainz import``'s
   code into a private database; reports rows/s of the COPY phase (every table streamed
   from the ``.tar.bz2``) and of the whole import (with indexes, ANALYZE and the swap).
2. Starts an index and the API (``--processes``), stores ``--tracks`` fingerprints linked to
   recordings spread over the whole catalogue, and measures open-loop fingerprint lookups
   at ``--rate`` requests/s with ``meta=recordingids`` and with
   ``meta=recordings releasegroups compress``, alternately, ``--rounds`` times each; the
   metadata's cost is the difference of the two. Writes ``bench/results/musicbrainz.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import numpy as np
from _stack import RESULTS, BareHTTP, bench_settings, env_of, free_port, tear_down
from api_lookup import (
    DURATION,
    ITEMS,
    load_database,
    load_index,
    noisy,
    open_loop,
    pg_url,
    wait_healthy,
)

from libs.chromaprint_cy.codec import encode_fingerprint
from libs.common import migrations
from libs.common.db import Database, database_url
from libs.common.musicbrainz import dump, importer, synthetic

BASELINE = "recordingids"
METADATA = "recordings releasegroups compress"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--recordings", type=int, default=1_000_000, help="recordings in the dump")
    p.add_argument("--tracks", type=int, default=10_000, help="stored fingerprints (AcoustIDs)")
    p.add_argument("--docs", type=int, default=100_000, help="documents in the index")
    p.add_argument("--rate", type=float, default=200.0, help="open-loop lookups/s")
    p.add_argument("--seconds", type=float, default=15.0, help="length of each measurement")
    p.add_argument("--rounds", type=int, default=2, help="measurements of each meta")
    p.add_argument("--processes", type=int, default=2, help="API processes")
    p.add_argument("--import-only", action="store_true", help="skip the lookup measurement")
    p.add_argument(
        "--dump-dir", type=Path, help="keep the generated dump here, and reuse one found there"
    )
    p.add_argument("--out", type=Path, default=RESULTS / "musicbrainz.json")
    return p


async def import_dump(url: str, path: Path) -> dict[str, Any]:
    started = time.monotonic()
    loaded = await importer.import_dumps(url, [path], io.StringIO())
    total = time.monotonic() - started
    rows = sum(t.rows for t in loaded)
    copy_seconds = sum(t.seconds for t in loaded)
    return {
        "rows": rows,
        "bytes": sum(t.size for t in loaded),
        "copy_seconds": copy_seconds,
        "copy_rows_per_s": rows / copy_seconds,
        "total_seconds": total,
        "total_rows_per_s": rows / total,
        "tables": {t.table: {"rows": t.rows, "seconds": t.seconds} for t in loaded},
    }


async def link_to_recordings(url: str, tracks: int, recordings: int) -> None:
    """Each AcoustID linked to one recording, spread evenly over the catalogue."""
    step = max(1, recordings // tracks)
    mbids = [uuid.UUID(synthetic.recording_mbid(1 + i * step % recordings)) for i in range(tracks)]
    conn = await asyncpg.connect(url)
    try:
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM track ORDER BY id")]
        await conn.execute(
            "UPDATE track_mbid t SET mbid = v.mbid FROM unnest($1::int[], $2::uuid[])"
            " AS v(track_id, mbid) WHERE t.track_id = v.track_id",
            ids,
            mbids[: len(ids)],
        )
    finally:
        await conn.close()


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    work = Path(tempfile.mkdtemp(prefix="bench-musicbrainz-"))
    api_port = free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    settings = bench_settings(
        run,
        work / "index",
        api_port=api_port,
        rate_limit_ip=1e6,
        rate_limit_application=1e6,
        rate_limit_global=1e6,
        api_processes=args.processes,
    )
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for db in Database:
            await migrations.create_database(database_url(settings, db))
            await asyncio.to_thread(migrations.upgrade, settings, db)
        started = time.monotonic()
        path = (args.dump_dir or work / "dump") / "mbdump.tar.bz2"
        if not path.exists():
            await asyncio.to_thread(synthetic.write, path.parent, args.recordings)
        generated = time.monotonic() - started
        print(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in {generated:.0f} s")
        imported = await import_dump(database_url(settings, Database.MUSICBRAINZ), path)
        print(
            f"imported {imported['rows']:,} rows: COPY {imported['copy_rows_per_s']:,.0f} rows/s,"
            f" whole import {imported['total_rows_per_s']:,.0f} rows/s"
        )
        result: dict[str, Any] = {
            "recordings": args.recordings,
            "tracks_in_dump": args.recordings * 2,
            "dump_mb": path.stat().st_size / 1e6,
            "generate_seconds": generated,
            "decompressor": dump.decompressor() or "python bz2",
            "import": imported,
            "cpus": os.cpu_count(),
        }
        if args.import_only:
            return result
        rng = np.random.default_rng(1)
        prints = rng.integers(0, 2**32, (args.tracks, ITEMS), dtype=np.uint32)
        ids, client, _ = await load_database(settings, prints)
        await link_to_recordings(
            pg_url(settings, Database.FINGERPRINT), args.tracks, args.recordings
        )
        env = env_of(settings)
        procs.append(subprocess.Popen([sys.executable, "-m", "services.index"], env=env))
        await wait_healthy(settings.index_urls[0], procs[-1])
        await load_index(settings.index_urls[0], prints, ids, args.docs)
        procs.append(subprocess.Popen([sys.executable, "-m", "services.api"], env=env))
        await wait_healthy(api_url, procs[-1])
        queries = [
            {
                "client": client,
                "duration": str(DURATION),
                "fingerprint": encode_fingerprint(noisy(prints[i], rng)),
            }
            for i in rng.integers(0, args.tracks, 2000)
        ]
        bodies = {
            meta: [urlencode({**q, "meta": meta}).encode() for q in queries]
            for meta in (BASELINE, METADATA)
        }
        http = BareHTTP(api_url)
        runs: dict[str, list[dict[str, Any]]] = {BASELINE: [], METADATA: []}
        try:
            for meta in runs:  # warm-up: caches and connection pools of both paths
                await open_loop(http, bodies[meta], args.rate, 3.0)
            for _ in range(args.rounds):
                for meta in runs:
                    runs[meta].append(await open_loop(http, bodies[meta], args.rate, args.seconds))
        finally:
            http.close()
        summary = {
            meta: {
                "p50_ms": float(np.median([r["p50_ms"] for r in results])),
                "p99_ms": float(np.median([r["p99_ms"] for r in results])),
                "errors": sum(r["errors"] for r in results),
            }
            for meta, results in runs.items()
        }
        result["lookup"] = {
            "rate": args.rate,
            "acoustids": args.tracks,
            "index_docs": args.docs,
            "api_processes": args.processes,
            "runs": runs,
            "summary": summary,
            "p50_added_ms": summary[METADATA]["p50_ms"] - summary[BASELINE]["p50_ms"],
        }
        return result
    finally:
        await tear_down(procs, settings, work)


def main() -> int:
    args = parser().parse_args()
    result = asyncio.run(bench(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    if "lookup" not in result:
        return 0
    lookup = result["lookup"]
    print(f"{'meta':<36} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}  (at {lookup['rate']:.0f}/s)")
    for meta, s in lookup["summary"].items():
        print(f"{meta:<36} {s['p50_ms']:>8.1f} {s['p99_ms']:>8.1f} {s['errors']:>7}")
    print(f"p50 added by the metadata: {lookup['p50_added_ms']:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
