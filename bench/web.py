"""The website: page latency at 100k tracks, and identify-by-upload against fpcalc + lookup.

Starts its own index, API and web processes on private databases, streams and ports, loads
``--tracks`` tracks (a fingerprint and an MBID link each, in the database and the index)
and 30 days of statistics, then:

* requests the home, a random track and the statistics page open-loop at ``--rate``
  requests/s for ``--seconds`` each (latency from the scheduled send time);
* uploads a 4-minute MP3 to ``/identify`` ``--uploads`` times: the round trip on loopback
  is the server's time (decode + fingerprint + lookup), and the page's own timing of the
  decoding and fingerprinting is read back;
* runs Debian's ``fpcalc`` on the same file and sends its output to ``/v2/lookup``, the
  way a client without the website identifies it.

Prints a table and writes ``bench/results/web.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import numpy as np
from _stack import RESULTS, BareHTTP, bench_settings, env_of, free_port, tear_down
from api_lookup import load_index, paced, pg_url, wait_healthy

from libs.chromaprint_cy.audio import fingerprint_file
from libs.common import migrations
from libs.common.apikeys import generate_api_key
from libs.common.db import Database, database_url
from libs.common.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ACOUSTID_SHARED_DIR", REPO.parent / "shared"))
SOURCE = SHARED / "testdata" / "chromaprint" / "melody_noise_22k_mono_125s.flac"
PAGE_ITEMS = 120
MBID = "9d3c0f2e-4b6a-4e8d-a1c7-5f2b3e4d6a70"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--tracks", type=int, default=100_000, help="tracks stored and indexed")
    p.add_argument("--rate", type=float, default=50.0, help="open-loop page requests/s")
    p.add_argument("--seconds", type=float, default=20.0, help="duration of each page run")
    p.add_argument("--uploads", type=int, default=5, help="identify-by-upload repetitions")
    p.add_argument("--source", type=Path, default=SOURCE, help="audio looped into the MP3")
    p.add_argument("--out", type=Path, default=RESULTS / "web.json")
    return p


def four_minute_mp3(source: Path, folder: Path) -> Path:
    """The source looped to 4 minutes, as a 192 kbit/s stereo MP3 at 44.1 kHz."""
    target = folder / "four-minutes.mp3"
    subprocess.run(
        [
            *("ffmpeg", "-loglevel", "error", "-y", "-stream_loop", "-1", "-i", str(source)),
            *("-t", "240", "-ac", "2", "-ar", "44100", "-c:a", "libmp3lame", "-b:a", "192k"),
            str(target),
        ],
        check=True,
    )
    return target


async def load(settings: Settings, prints: np.ndarray, mp3_items: np.ndarray) -> dict[str, Any]:
    """Tracks with a fingerprint and a link each (the last one the MP3's), a client key,
    and 30 days of the statistics the cron writes."""
    conn = await asyncpg.connect(pg_url(settings, Database.FINGERPRINT))
    try:
        rows = await conn.fetch(
            "INSERT INTO track (gid) SELECT gen_random_uuid() FROM generate_series(1, $1)"
            " RETURNING id, gid::text",
            len(prints) + 1,
        )
        ids = [r["id"] for r in rows]
        records = [(p.view(np.int32).tolist(), 120, ids[i], 1) for i, p in enumerate(prints)]
        records.append((mp3_items.view(np.int32).tolist(), 240, ids[-1], 1))
        await conn.copy_records_to_table(
            "fingerprint",
            records=records,
            columns=["fingerprint", "length", "track_id", "submission_count"],
        )
        await conn.execute(
            "INSERT INTO track_mbid (track_id, mbid, submission_count)"
            " SELECT id, gen_random_uuid(), 1 FROM track WHERE id <> $1",
            ids[-1],
        )
        await conn.execute(
            "INSERT INTO track_mbid (track_id, mbid, submission_count) VALUES ($1, $2, 3)",
            ids[-1],
            uuid.UUID(MBID),
        )
        fingerprint_ids = [
            r["id"] for r in await conn.fetch("SELECT id FROM fingerprint ORDER BY track_id")
        ]
    finally:
        await conn.close()
    conn = await asyncpg.connect(pg_url(settings, Database.APP))
    try:
        account = await conn.fetchval(
            "INSERT INTO account (name, apikey) VALUES ('bench', $1) RETURNING id",
            generate_api_key(),
        )
        client = generate_api_key()
        app = await conn.fetchval(
            "INSERT INTO application (name, version, apikey, account_id) VALUES"
            " ('bench', '1', $1, $2) RETURNING id",
            client,
            account,
        )
        today = datetime.now(UTC).date()
        stats = []
        for day in range(31):
            when = today - timedelta(days=day)
            stats += [
                ("track.all", when, len(ids) - 300 * day),
                ("mbid.all", when, len(ids) - 280 * day),
                ("fingerprint.all", when, len(ids) - 300 * day),
            ]
        stats += [(f"track.{n}mbids", today, 1000 * (11 - n)) for n in range(11)]
        stats += [(f"mbid.{n}tracks", today, 900 * (11 - n)) for n in range(11)]
        await conn.copy_records_to_table("stats", records=stats, columns=["name", "date", "value"])
        lookups = [
            (today - timedelta(days=day), hour, app, 50 + hour, 10)
            for day in range(31)
            for hour in range(24)
        ]
        await conn.copy_records_to_table(
            "stats_lookups",
            records=lookups,
            columns=["date", "hour", "application_id", "count_hits", "count_nohits"],
        )
    finally:
        await conn.close()
    return {
        "fingerprint_ids": fingerprint_ids,
        "gids": [r["gid"] for r in rows],
        "client": client,
    }


async def pages(http: BareHTTP, paths: list[str], rate: float, seconds: float) -> dict[str, Any]:
    async def get(i: int) -> bool:
        status, _ = await http.get(paths[i % len(paths)])
        return status == 200

    return await paced(get, rate, seconds)


async def uploads(web: str, mp3: Path, times: int, track: str) -> dict[str, Any]:
    content = mp3.read_bytes()
    rounds: list[float] = []
    fingerprinting: list[float] = []
    async with httpx.AsyncClient(base_url=web, timeout=60) as http:
        for _ in range(times + 1):  # the first one warms the decoder up and is not counted
            page = await http.get("/identify")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token, "no CSRF token on /identify"
            started = time.perf_counter()
            answer = await http.post(
                "/identify",
                data={"csrf_token": token.group(1)},
                files={"audio": ("four-minutes.mp3", content, "audio/mpeg")},
            )
            rounds.append(time.perf_counter() - started)
            assert answer.status_code == 200 and f"/track/{track}" in answer.text, answer.text
            took = re.search(r"items\) in ([\d.]+) s", answer.text)
            fingerprinting.append(float(took.group(1)) if took else float("nan"))
    rounds, fingerprinting = rounds[1:], fingerprinting[1:]
    return {
        "bytes": len(content),
        "server_median_s": float(np.median(rounds)),
        "server_max_s": max(rounds),
        "fingerprint_median_s": float(np.median(fingerprinting)),
    }


async def fpcalc_and_lookup(
    api: str, mp3: Path, client: str, times: int, track: str
) -> dict[str, Any]:
    fpcalc_s: list[float] = []
    lookup_s: list[float] = []
    async with httpx.AsyncClient(base_url=api, timeout=60) as http:
        for _ in range(times):
            started = time.perf_counter()
            out = subprocess.run(
                ["fpcalc", "-json", str(mp3)], capture_output=True, text=True, check=True
            )
            fpcalc_s.append(time.perf_counter() - started)
            data = json.loads(out.stdout)
            started = time.perf_counter()
            found = await http.post(
                "/v2/lookup",
                data={
                    "client": client,
                    "duration": str(int(data["duration"])),
                    "fingerprint": data["fingerprint"],
                    "meta": "recordings",
                },
            )
            lookup_s.append(time.perf_counter() - started)
            assert found.json()["results"][0]["id"] == track, found.text
    return {
        "fpcalc_median_s": float(np.median(fpcalc_s)),
        "lookup_median_s": float(np.median(lookup_s)),
        "total_median_s": float(np.median(np.add(fpcalc_s, lookup_s))),
    }


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    data_dir = Path(tempfile.mkdtemp(prefix="bench-web-"))
    api_port, web_port = free_port(), free_port()
    api_url, web_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{web_port}"
    settings = bench_settings(
        run,
        data_dir / "index",
        api_port=api_port,
        web_port=web_port,
        website_api_url=api_url,
        cluster_secret=uuid.uuid4().hex,
        website_secret=uuid.uuid4().hex,
        rate_limit_ip=1e6,
        rate_limit_application=1e6,
        rate_limit_global=1e6,
    )
    procs: list[subprocess.Popen[bytes]] = []
    try:
        mp3 = four_minute_mp3(args.source, data_dir)
        _duration, mp3_items = fingerprint_file(str(mp3))
        for db in Database:
            await migrations.create_database(database_url(settings, db))
            await asyncio.to_thread(migrations.upgrade, settings, db)
        rng = np.random.default_rng(3)
        prints = rng.integers(0, 2**32, (args.tracks, PAGE_ITEMS), dtype=np.uint32)
        loaded = await load(settings, prints, mp3_items)
        env = env_of(settings)
        procs.append(subprocess.Popen([sys.executable, "-m", "services.index"], env=env))
        await wait_healthy(settings.index_urls[0], procs[-1])
        every = [*prints, mp3_items]
        await load_index(settings.index_urls[0], every, loaded["fingerprint_ids"], len(every))  # type: ignore[arg-type]
        procs.append(subprocess.Popen([sys.executable, "-m", "services.api"], env=env))
        procs.append(subprocess.Popen([sys.executable, "-m", "services.web"], env=env))
        await wait_healthy(api_url, procs[-2])
        await wait_healthy(web_url, procs[-1])
        mp3_track = loaded["gids"][-1]
        tracks = [f"/track/{loaded['gids'][i]}" for i in rng.integers(0, args.tracks, 2000)]
        http = BareHTTP(web_url)
        try:
            for path in ("/", tracks[0], "/stats"):  # warm-up: templates, pools, charts
                await http.get(path)
            results = {
                "home": await pages(http, ["/"], args.rate, args.seconds),
                "track": await pages(http, tracks, args.rate, args.seconds),
                "stats": await pages(http, ["/stats"], args.rate, args.seconds),
            }
        finally:
            http.close()
        upload = await uploads(web_url, mp3, args.uploads, mp3_track)
        client = await fpcalc_and_lookup(api_url, mp3, loaded["client"], args.uploads, mp3_track)
        return {
            "tracks": args.tracks,
            "cpus": os.cpu_count(),
            "pages": results,
            "upload": upload,
            "fpcalc_lookup": client,
        }
    finally:
        await tear_down(procs, settings, data_dir)


def main() -> int:
    args = parser().parse_args()
    result = asyncio.run(bench(args))
    print(f"website at {result['tracks']:,} tracks, {result['cpus']} CPUs")
    print(f"{'page':<8} {'rate/s':>7} {'achieved':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, row in result["pages"].items():
        print(
            f"{name:<8} {row['rate']:>7.0f} {row['achieved']:>9.1f} {row['p50_ms']:>8.1f}"
            f" {row['p99_ms']:>8.1f} {row['errors']:>7}"
        )
    up, fp = result["upload"], result["fpcalc_lookup"]
    print(
        f"identify-by-upload of a 4-minute MP3 ({up['bytes'] / 1e6:.1f} MB): server"
        f" {up['server_median_s']:.3f} s median, {up['server_max_s']:.3f} s max"
        f" (decode + fingerprint {up['fingerprint_median_s']:.3f} s)"
    )
    print(
        f"fpcalc + /v2/lookup on the same file: {fp['total_median_s']:.3f} s"
        f" (fpcalc {fp['fpcalc_median_s']:.3f} s, lookup {fp['lookup_median_s']:.3f} s)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
