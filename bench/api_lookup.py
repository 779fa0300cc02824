"""Lookup and submit end to end: HTTP client on loopback -> uvicorn API -> index process ->
PostgreSQL, with ``meta`` on.

Starts its own index and API processes on private databases, streams and ports, loads
``--tracks`` real fingerprints (in the database and the index) plus filler index documents
up to ``--docs``, then measures open-loop lookups at each ``--rates`` (latency from the
scheduled send time, so a stalled server cannot hide queueing), the closed-loop saturation
throughput, and submit throughput. Prints a table and writes ``bench/results/api_lookup.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import httpx
import numpy as np
from _stack import RESULTS, BareHTTP, bench_settings, env_of, free_port, tear_down

from libs.chromaprint_cy.codec import encode_fingerprint
from libs.chromaprint_cy.query import extract_query
from libs.common import migrations
from libs.common.apikeys import generate_api_key
from libs.common.db import Database, database_url
from libs.common.settings import Settings

ITEMS = 950  # fpcalc's 120 s
DURATION = 120
LOAD_BATCH = 1000


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--docs", type=int, default=1_000_000, help="documents in the index")
    p.add_argument("--tracks", type=int, default=10_000, help="real fingerprints stored")
    p.add_argument("--rates", default="50,200,500", help="open-loop requests/s to measure")
    p.add_argument("--seconds", type=float, default=15.0, help="duration of each measurement")
    p.add_argument("--concurrency", type=int, default=32, help="saturation test connections")
    p.add_argument("--processes", type=int, default=2, help="API processes (one per core)")
    p.add_argument("--out", type=Path, default=RESULTS / "api_lookup.json")
    return p


async def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{url} exited with {proc.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{url}/_health")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} not healthy after {timeout} s")


def pg_url(settings: Settings, db: Database) -> str:
    return database_url(settings, db).replace("postgresql+asyncpg", "postgresql")


async def load_database(settings: Settings, prints: np.ndarray) -> tuple[list[int], str, str]:
    """Tracks, fingerprints and one MBID link each; returns fingerprint ids and two keys."""
    conn = await asyncpg.connect(pg_url(settings, Database.FINGERPRINT))
    try:
        n = len(prints)
        track_ids = await conn.fetch(
            "INSERT INTO track (gid) SELECT gen_random_uuid() FROM generate_series(1, $1)"
            " RETURNING id",
            n,
        )
        ids = [r["id"] for r in track_ids]
        await conn.copy_records_to_table(
            "fingerprint",
            records=[(prints[i].view(np.int32).tolist(), DURATION, ids[i], 1) for i in range(n)],
            columns=["fingerprint", "length", "track_id", "submission_count"],
        )
        await conn.execute(
            "INSERT INTO track_mbid (track_id, mbid, submission_count)"
            " SELECT id, gen_random_uuid(), 1 FROM track"
        )
        fingerprint_ids = [
            r["id"] for r in await conn.fetch("SELECT id FROM fingerprint ORDER BY track_id")
        ]
    finally:
        await conn.close()
    conn = await asyncpg.connect(pg_url(settings, Database.APP))
    try:
        user = generate_api_key()
        account = await conn.fetchval(
            "INSERT INTO account (name, apikey) VALUES ('bench', $1) RETURNING id", user
        )
        client = generate_api_key()
        await conn.execute(
            "INSERT INTO application (name, version, apikey, account_id) VALUES"
            " ('bench', '1', $1, $2)",
            client,
            account,
        )
    finally:
        await conn.close()
    return fingerprint_ids, client, user


async def load_index(url: str, prints: np.ndarray, ids: list[int], docs: int) -> float:
    """Real fingerprints' terms, then random filler documents up to ``docs``."""
    rng = np.random.default_rng(7)
    started = time.monotonic()
    next_id = max(ids) + 1
    async with httpx.AsyncClient(timeout=120) as http:

        async def send(changes: list[dict[str, Any]]) -> None:
            response = await http.post(f"{url}/main/_update", json={"changes": changes})
            response.raise_for_status()

        for start in range(0, len(ids), LOAD_BATCH):
            await send(
                [
                    {"insert": {"id": ids[i], "hashes": extract_query(prints[i]).tolist()}}
                    for i in range(start, min(start + LOAD_BATCH, len(ids)))
                ]
            )
        remaining = max(0, docs - len(ids))
        while remaining > 0:
            count = min(LOAD_BATCH, remaining)
            terms = (rng.integers(0, 2**28, (count, 120), dtype=np.uint32) << 4).tolist()
            await send([{"insert": {"id": next_id + i, "hashes": terms[i]}} for i in range(count)])
            next_id += count
            remaining -= count
        for _ in range(600):
            status = (await http.get(f"{url}/main")).json()
            if status["stats"]["num_docs"] >= docs:
                break
            await asyncio.sleep(0.5)
    return time.monotonic() - started


def noisy(items: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Another encoding of the same audio: one random bit flipped in a fifth of the items."""
    flips = (rng.random(len(items)) < 0.2).astype(np.uint32) << rng.integers(0, 32, len(items))
    return items ^ flips.astype(np.uint32)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000 if values else float("nan")


async def paced(
    send: Callable[[int], Awaitable[bool]], rate: float, seconds: float
) -> dict[str, Any]:
    """Request ``i`` sent at ``start + i / rate`` whatever the answers before it (an open
    loop, so a slow server queues requests instead of slowing the client); latency counts
    from the scheduled time. ``send`` answers whether request ``i`` succeeded."""
    latencies: list[float] = []
    errors = 0
    total = int(rate * seconds)
    start = time.perf_counter()

    async def one(i: int) -> None:
        nonlocal errors
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            ok = await send(i)
        except OSError:
            errors += 1
            return
        errors += not ok
        latencies.append(time.perf_counter() - scheduled)

    await asyncio.gather(*(one(i) for i in range(total)))
    elapsed = time.perf_counter() - start
    return {
        "rate": rate,
        "achieved": total / elapsed,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "errors": errors,
    }


async def open_loop(
    http: BareHTTP, bodies: list[bytes], rate: float, seconds: float
) -> dict[str, Any]:
    """Lookups at ``rate``; one that finds nothing is an error (every body is a stored print)."""

    async def lookup(i: int) -> bool:
        status, payload = await http.post("/v2/lookup", bodies[i % len(bodies)])
        return status == 200 and bool(json.loads(payload)["results"])

    return await paced(lookup, rate, seconds)


async def closed_loop(
    http: BareHTTP, path: str, bodies: list[bytes], workers: int, seconds: float
) -> dict[str, Any]:
    done = 0
    errors = 0
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker(offset: int) -> None:
        nonlocal done, errors
        i = offset
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            i += workers
            try:
                status, _ = await http.post(path, bodies[i % len(bodies)])
            except OSError:
                errors += 1
                continue
            latencies.append(time.perf_counter() - sent)
            errors += status != 200
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(workers)))
    elapsed = time.perf_counter() - start
    return {
        "throughput": done / elapsed,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "errors": errors,
    }


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    data_dir = Path(tempfile.mkdtemp(prefix="bench-index-"))
    api_port = free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    settings = bench_settings(
        run,
        data_dir,
        api_port=api_port,
        rate_limit_ip=1e6,
        rate_limit_application=1e6,
        rate_limit_global=1e6,
        api_processes=args.processes,
    )
    index_url = settings.index_urls[0]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for db in Database:
            await migrations.create_database(database_url(settings, db))
            await asyncio.to_thread(migrations.upgrade, settings, db)
        rng = np.random.default_rng(1)
        prints = rng.integers(0, 2**32, (args.tracks, ITEMS), dtype=np.uint32)
        ids, client, user = await load_database(settings, prints)
        env = env_of(settings)
        procs.append(subprocess.Popen([sys.executable, "-m", "services.index"], env=env))
        await wait_healthy(index_url, procs[-1])
        load_seconds = await load_index(index_url, prints, ids, args.docs)
        procs.append(subprocess.Popen([sys.executable, "-m", "services.api"], env=env))
        await wait_healthy(api_url, procs[-1])
        lookups = [
            urlencode(
                {
                    "client": client,
                    "duration": str(DURATION + int(rng.integers(-3, 4))),
                    "fingerprint": encode_fingerprint(noisy(prints[i], rng)),
                    "meta": "recordings releasegroups compress sources",
                }
            ).encode()
            for i in rng.integers(0, args.tracks, 2000)
        ]
        submits = [
            urlencode(
                {
                    "client": client,
                    "user": user,
                    "duration": "120",
                    "fingerprint": encode_fingerprint(noisy(prints[i], rng)),
                    "mbid": str(uuid.uuid4()),
                }
            ).encode()
            for i in rng.integers(0, args.tracks, 500)
        ]
        http = BareHTTP(api_url)
        try:
            await closed_loop(http, "/v2/lookup", lookups, 4, 2.0)  # warm-up
            rates = [
                await open_loop(http, lookups, float(r), args.seconds)
                for r in args.rates.split(",")
            ]
            saturation = await closed_loop(
                http, "/v2/lookup", lookups, args.concurrency, args.seconds
            )
            submit = await closed_loop(http, "/v2/submit", submits, 8, args.seconds)
        finally:
            http.close()
        return {
            "docs": args.docs,
            "tracks": args.tracks,
            "index_load_seconds": load_seconds,
            "cpus": os.cpu_count(),
            "api_processes": args.processes,
            "open_loop": rates,
            "saturation": saturation,
            "submit": submit,
        }
    finally:
        await tear_down(procs, settings, data_dir)


def main() -> int:
    args = parser().parse_args()
    result = asyncio.run(bench(args))
    print(
        f"index: {result['docs']} documents, {result['tracks']} stored fingerprints;"
        f" {result['api_processes']} API processes"
    )
    print(f"{'rate/s':>8} {'achieved':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for r in result["open_loop"]:
        print(
            f"{r['rate']:>8.0f} {r['achieved']:>9.1f} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f}"
            f" {r['errors']:>7}"
        )
    s, sub = result["saturation"], result["submit"]
    print(
        f"saturation: {s['throughput']:.0f} lookups/s (p50 {s['p50_ms']:.1f} ms,"
        f" p99 {s['p99_ms']:.1f} ms, {s['errors']} errors)"
    )
    print(
        f"submit: {sub['throughput']:.0f} submissions/s (p50 {sub['p50_ms']:.1f} ms,"
        f" {sub['errors']} errors)"
    )
    args_out: Path = parser().parse_args().out
    args_out.parent.mkdir(parents=True, exist_ok=True)
    args_out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
