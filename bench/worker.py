"""Import throughput of the worker: submissions/s with the index at 100k (and 1M) fingerprints,
one worker process and two, against real PostgreSQL, NATS and index processes.

Usage: python bench/worker.py [--sizes 100000,1000000] [--submissions 3000]
Prints a table and writes bench/results/worker.json.

Half of the submissions repeat a stored fingerprint (the reuse path: search, compare, count
links), half are new audio (search, new track, new fingerprint). Stored fingerprints have
300 items (about 37 s of audio) to keep the preload within the machine's disk and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
from _stack import REPO, RESULTS, bench_settings, env_of, free_port
from sqlalchemy import text

from libs.common import migrations, submission_queue
from libs.common.db import Database, Databases, database_url
from libs.common.models.ingest import Submission
from libs.common.nats import connect, delete_streams
from libs.common.settings import Settings

ITEMS = 300
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(procs: list[subprocess.Popen[bytes]]) -> float:
    """User + system CPU the processes have used so far (Linux ``/proc``).

    On a machine shared with other jobs, wall-clock rates move with the neighbours' load;
    CPU per submission does not, so the table reports both.
    """
    total = 0
    for proc in procs:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / TICKS


def machine_cpu_seconds() -> float:
    """CPU the whole machine has been busy so far: the databases and NATS count too."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / TICKS  # all but idle and iowait


def start(service: str, settings: Settings, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "run", service],
            cwd=REPO, env=env_of(settings), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/_health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise RuntimeError(f"{service} did not start; see {log}")


async def preload(settings: Settings, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` tracks and fingerprints by COPY; returns the stored items for reuse."""
    items = rng.integers(-(2**31), 2**31, size=(count, ITEMS), dtype=np.int64).astype(np.int32)
    dbs = Databases(settings)
    engine = dbs.engine(Database.FINGERPRINT)
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        pg = raw.driver_connection
        assert pg is not None
        await pg.copy_records_to_table(
            "track", records=((i + 1, uuid.uuid4()) for i in range(count)), columns=["id", "gid"]
        )
        await pg.copy_records_to_table(
            "fingerprint",
            records=((i + 1, items[i].tolist(), 37, i + 1, 1) for i in range(count)),
            columns=["id", "fingerprint", "length", "track_id", "submission_count"],
        )
        await pg.execute("SELECT setval('track_id_seq', $1)", count)
        await pg.execute("SELECT setval('fingerprint_id_seq', $1)", count)
        await conn.commit()
        # A live database has planner statistics; a table just filled by COPY has none until
        # autovacuum gets to it, and without them the candidate query scans every row.
        await pg.execute("ANALYZE track, fingerprint")
    await dbs.dispose()
    return items


async def store(settings: Settings, fps: list[np.ndarray], app: tuple[int, int]) -> list[int]:
    """The submission rows the API would have written; their ids."""
    dbs = Databases(settings)
    async with dbs.session(Database.INGEST) as session:
        rows = [
            Submission(
                fingerprint=fp.tolist(), length=37, mbid=uuid.uuid4(), account_id=app[0],
                application_id=app[1], application_version="bench",
            )
            for fp in fps
        ]  # fmt: skip
        session.add_all(rows)
        await session.commit()
        ids = [row.id for row in rows]
    await dbs.dispose()
    return ids


async def enqueue(settings: Settings, ids: list[int]) -> None:
    nc = await connect(settings, "bench")
    js = nc.jetstream()
    await asyncio.gather(*(submission_queue.publish(js, settings, i) for i in ids))
    await nc.close()


async def wait_handled(settings: Settings, ids: list[int]) -> None:
    dbs = Databases(settings)
    query = text("SELECT count(*) FROM submission WHERE handled AND id BETWEEN :lo AND :hi")
    async with dbs.engine(Database.INGEST).connect() as conn:
        while (await conn.scalar(query, {"lo": ids[0], "hi": ids[-1]})) < len(ids):
            await asyncio.sleep(0.05)
    await dbs.dispose()


async def demo_app(settings: Settings) -> tuple[int, int]:
    from libs.common.apikeys import ensure_demo_account
    from libs.common.models.app import Account, Application

    dbs = Databases(settings)
    async with dbs.session(Database.APP) as session:
        keys = await ensure_demo_account(session)
        account = await session.scalar(
            text("SELECT id FROM account WHERE apikey = :k").bindparams(k=keys.user)
        )
        application = await session.scalar(
            text("SELECT id FROM application WHERE apikey = :k").bindparams(k=keys.client)
        )
    await dbs.dispose()
    del Account, Application
    return int(account), int(application)


def run_size(size: int, submissions: int, workdir: Path) -> list[dict[str, object]]:
    settings = bench_settings(uuid.uuid4().hex[:6], workdir / f"index-{size}")
    index_port = settings.index_port
    rng = np.random.default_rng(size)
    for db in Database:
        asyncio.run(migrations.create_database(database_url(settings, db)))
        migrations.upgrade(settings, db)
    procs: list[subprocess.Popen[bytes]] = []
    rows: list[dict[str, object]] = []
    try:
        t0 = time.perf_counter()
        stored = asyncio.run(preload(settings, size, rng))
        subprocess.run(
            [sys.executable, "-m", "services.cli", "index", "rebuild", "--quiet"],
            cwd=REPO, env=env_of(settings), check=True,
        )  # fmt: skip
        print(f"preloaded {size} fingerprints in {time.perf_counter() - t0:.0f}s", flush=True)
        index = start("index", settings, index_port, workdir / "index.log")
        procs.append(index)
        app = asyncio.run(demo_app(settings))
        workers_running: list[subprocess.Popen[bytes]] = []
        for workers in (1, 2):
            while len(workers_running) < workers:
                port = free_port()
                wsettings = settings.model_copy(update={"worker_metrics_port": port})
                workers_running.append(start("worker", wsettings, port, workdir / "worker.log"))
                procs.append(workers_running[-1])
            picks = rng.integers(0, size, submissions // 2)
            fps = [stored[i] for i in picks]
            fps += [
                rng.integers(-(2**31), 2**31, ITEMS, dtype=np.int64).astype(np.int32)
                for _ in range(submissions - len(fps))
            ]
            order = rng.permutation(len(fps))
            # Rows are written before the clock starts: that is the API's work, and on two
            # cores its CPU would be taken from the processes measured here.
            ids = asyncio.run(store(settings, [fps[i] for i in order], app))
            worker_cpu, index_cpu = cpu_seconds(workers_running), cpu_seconds([index])
            machine_cpu = machine_cpu_seconds()
            start_time = time.perf_counter()
            asyncio.run(enqueue(settings, ids))
            asyncio.run(wait_handled(settings, ids))
            elapsed = time.perf_counter() - start_time
            worker_cpu = cpu_seconds(workers_running) - worker_cpu
            index_cpu = cpu_seconds([index]) - index_cpu
            machine_cpu = machine_cpu_seconds() - machine_cpu
            rows.append(
                {
                    "index_size": size,
                    "workers": workers,
                    "submissions": len(ids),
                    "seconds": round(elapsed, 2),
                    "per_second": round(len(ids) / elapsed, 1),
                    "per_second_per_process": round(len(ids) / elapsed / workers, 1),
                    "worker_cpu_ms_per_submission": round(1000 * worker_cpu / len(ids), 2),
                    "index_cpu_ms_per_submission": round(1000 * index_cpu / len(ids), 2),
                    "machine_cpu_ms_per_submission": round(1000 * machine_cpu / len(ids), 2),
                }
            )
            print(rows[-1], flush=True)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
        for db in Database:
            asyncio.run(migrations.drop_database(database_url(settings, db)))
        asyncio.run(delete_streams(settings))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--submissions", type=int, default=3000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-worker-"))
    rows: list[dict[str, object]] = []
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            rows += run_size(size, args.submissions, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"\n{'index':>9} {'workers':>7} {'subs':>6} {'seconds':>8} {'subs/s':>8} {'/process':>9}"
        f" {'worker cpu ms/sub':>17} {'index cpu ms/sub':>16} {'machine cpu ms/sub':>18}"
    )
    for r in rows:
        print(
            f"{r['index_size']:>9} {r['workers']:>7} {r['submissions']:>6} {r['seconds']:>8} "
            f"{r['per_second']:>8} {r['per_second_per_process']:>9} "
            f"{r['worker_cpu_ms_per_submission']:>17} {r['index_cpu_ms_per_submission']:>16} "
            f"{r['machine_cpu_ms_per_submission']:>18}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "worker.json").write_text(
        json.dumps({"benchmark": "worker import", "rows": rows}, indent=2) + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
