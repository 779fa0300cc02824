"""Index benchmarks B1-B3 of the reference (§10), kernel and numpy reference side by side.

B3 (default 1M documents x 120 terms, 15 % of terms from a Zipf-skewed hot pool) runs twice:
in-process against the store (kernel vs the numpy reference, same segments, same queries) and
end to end against a real ``python -m services.index`` process (msgpack ``_update`` batches of
1000 through FPINDEX, then 1 and 16 concurrent HTTP search clients). B1 and B2 run end to
end. Prints a table and writes ``bench/results/index.json``. Nothing here asserts timings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import msgpack
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from libs.common import nats as nats_helpers  # noqa: E402
from libs.common.index_messages import Insert  # noqa: E402
from libs.common.settings import Settings  # noqa: E402
from services.index import reference  # noqa: E402
from services.index.api import MAX_POSTINGS_PER_TERM, min_score_default  # noqa: E402
from services.index.kernel import search as kernel_search  # noqa: E402
from services.index.segment import build, open_file, write  # noqa: E402
from services.index.store import Store  # noqa: E402

MSGPACK = "application/vnd.msgpack"
RESULTS = REPO / "bench" / "results" / "index.json"
HOT_POOL, HOT_SHARE, ZIPF, HOT_SEED = 10_000, 0.15, 1.2, 99


def corpus(n: int, seed: int = 7) -> np.ndarray:
    """``n`` x 120 terms: 28-bit values shifted left 4, 15 % drawn Zipf-skewed from a hot pool.

    The hot pool is the same for every seed, so corpora built in chunks share their hot terms.
    """
    rng = np.random.default_rng(seed)
    terms = rng.integers(0, 2**28, (n, 120), dtype=np.uint32)
    hot = np.random.default_rng(HOT_SEED).integers(0, 2**28, HOT_POOL, dtype=np.uint32)
    mask = rng.random((n, 120)) < HOT_SHARE
    terms[mask] = hot[(rng.zipf(ZIPF, int(mask.sum())) - 1) % HOT_POOL]
    return terms << np.uint32(4)


def noisy(rng: np.random.Generator, doc: np.ndarray, noise_bits: int, shift: int) -> np.ndarray:
    keep = doc[rng.random(len(doc)) < rng.uniform(0.5, 0.9)]
    extra = rng.integers(0, 2**noise_bits, int(rng.integers(0, 21)), dtype=np.uint32)
    return np.concatenate([keep, extra << np.uint32(shift)])


def queries(
    terms: np.ndarray, count: int, seed: int = 11
) -> dict[str, list[tuple[int, np.ndarray]]]:
    """Per kind, ``(expected id or 0, query)``: exact copies, noisy copies, random misses."""
    rng = np.random.default_rng(seed)
    docs = rng.integers(0, len(terms), count)
    return {
        "exact": [(int(d) + 1, terms[d]) for d in docs],
        "noisy": [(int(d) + 1, noisy(rng, terms[d], 28, 4)) for d in docs],
        "miss": [(0, rng.integers(0, 2**28, 120, dtype=np.uint32) << np.uint32(4)) for _ in docs],
    }


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(np.array(values) * 1000, p)) if values else float("nan")


def rss_mb(pid: int | None = None) -> float:
    path = f"/proc/{pid or os.getpid()}/status"
    for line in Path(path).read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def top1(expected: int, ids: list[int]) -> bool:
    return (ids[:1] == [expected]) if expected else not ids


def in_process(n: int, nq: int, workdir: Path) -> dict[str, object]:
    terms = corpus(n)
    out: dict[str, object] = {"docs": n, "terms_per_doc": 120}
    store = Store.open(workdir / "b3-store")
    stop = threading.Event()

    def maintenance() -> None:
        while not stop.is_set():
            if not store.maintain():
                time.sleep(0.05)

    background = threading.Thread(target=maintenance)
    started = time.perf_counter()
    background.start()
    for seq, first in enumerate(range(0, n, 1000), start=1):
        chunk = terms[first : first + 1000]
        store.apply(seq, [Insert(first + i + 1, t) for i, t in enumerate(chunk)])
    applied = time.perf_counter() - started
    stop.set()
    background.join()
    store.flush()
    build = time.perf_counter() - started
    st = store.stats()
    disk = sum(p.stat().st_size for p in (workdir / "b3-store").glob("*.seg"))
    out |= {
        "bulk_insert_docs_per_s": n / applied,
        "bulk_insert_docs_per_s_until_all_on_disk": n / build,
        "postings": st.num_postings,
        "file_segments": st.file_segments,
        "disk_bytes_per_posting": disk / st.num_postings,
        "rss_mb_after_build": rss_mb(),
        "checkpoints": store.counters["checkpoints"],
        "file_merges": store.counters["file_merges"],
    }
    decoded = [s.postings() for s in store.snapshot.segments]
    qs = queries(terms, nq)
    for kind, items in qs.items():
        for engine in ("kernel", "numpy"):
            sample = items if engine == "kernel" else items[: max(nq // 5, 20)]
            lat, hits, agree = [], 0, 0
            for expected, q in sample:
                floor = min_score_default(len(q))
                t0 = time.perf_counter()
                if engine == "kernel":
                    res, _ = store.search(
                        q,
                        limit=10,
                        min_score=floor,
                        score_pct=10,
                        max_per_term=MAX_POSTINGS_PER_TERM,
                    )
                    ids = [i for i, _ in res]
                else:
                    rid, _ = reference.search(decoded, q, floor, 10, 10, MAX_POSTINGS_PER_TERM)
                    ids = rid.tolist()
                lat.append(time.perf_counter() - t0)
                hits += top1(expected, ids)
                if engine == "numpy":
                    res, _ = store.search(
                        q,
                        limit=10,
                        min_score=floor,
                        score_pct=10,
                        max_per_term=MAX_POSTINGS_PER_TERM,
                    )
                    agree += [i for i, _ in res] == ids
            row = {
                "p50_ms": pct(lat, 50),
                "p95_ms": pct(lat, 95),
                "p99_ms": pct(lat, 99),
                "top1": hits / len(sample),
            }
            if engine == "numpy":
                row["agrees_with_kernel"] = agree / len(sample)
            out[f"search_{kind}_{engine}"] = row
    mixed = [q for items in qs.values() for _, q in items]

    def one(q: np.ndarray) -> float:
        t0 = time.perf_counter()
        store.search(
            q,
            limit=10,
            min_score=min_score_default(len(q)),
            score_pct=10,
            max_per_term=MAX_POSTINGS_PER_TERM,
        )
        return time.perf_counter() - t0

    cores = os.cpu_count() or 2
    with ThreadPoolExecutor(cores) as pool:

        def client(share: list[np.ndarray], lat: list[float]) -> None:
            for q in share:
                t0 = time.perf_counter()
                pool.submit(one, q).result()
                lat.append(time.perf_counter() - t0)

        for clients in (1, 16):
            lat: list[float] = []
            workers = [
                threading.Thread(target=client, args=(mixed[i::clients], lat))
                for i in range(clients)
            ]
            t0 = time.perf_counter()
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            wall = time.perf_counter() - t0
            out[f"kernel_{clients}_clients_{cores}_threads"] = {
                "qps": len(mixed) / wall,
                "p50_ms": pct(lat, 50),
                "p99_ms": pct(lat, 99),
            }
    out["rss_mb_peak"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def large(chunks: int, nq: int, workdir: Path) -> dict[str, object]:
    """B3 at ``chunks`` million documents, kernel only, one segment file per million.

    Built a million at a time and memory-mapped, so the corpus never sits in RAM at once; the
    segments are left unmerged (a running index would merge them into fewer, which only makes
    search cheaper). Queries come from documents regenerated from their chunk's seed.
    """
    directory = workdir / "b3-large"
    directory.mkdir()
    started = time.perf_counter()
    for c in range(chunks):
        terms = corpus(1_000_000, seed=100 + c)
        ids = np.repeat(np.arange(c * 1_000_000 + 1, (c + 1) * 1_000_000 + 1, dtype=np.uint32), 120)
        docs = np.arange(c * 1_000_000 + 1, (c + 1) * 1_000_000 + 1, dtype=np.uint32)
        seg = build(terms.ravel(), ids, docs, np.zeros(0, np.uint32))
        write(seg, directory / f"{c:016x}-bench.seg")
        del terms, ids, seg
    build_s = time.perf_counter() - started
    segments = [open_file(p) for p in sorted(directory.glob("*.seg"))]
    views = [s.view for s in segments]
    postings = sum(s.num_postings for s in segments)
    disk = sum(p.stat().st_size for p in directory.glob("*.seg"))
    rng = np.random.default_rng(3)
    picks = rng.integers(0, chunks * 1_000_000, nq)
    items: dict[str, list[tuple[int, np.ndarray]]] = {"exact": [], "noisy": [], "miss": []}
    for c in range(chunks):
        mine = picks[picks // 1_000_000 == c]
        if len(mine):
            terms = corpus(1_000_000, seed=100 + c)
            for d in mine:
                doc = terms[d % 1_000_000]
                items["exact"].append((int(d) + 1, doc))
                items["noisy"].append((int(d) + 1, noisy(rng, doc, 28, 4)))
            del terms
    items["miss"] = [
        (0, rng.integers(0, 2**28, 120, dtype=np.uint32) << np.uint32(4)) for _ in range(nq)
    ]
    out: dict[str, object] = {
        "docs": chunks * 1_000_000,
        "segments": len(segments),
        "build_docs_per_s": chunks * 1_000_000 / build_s,
        "disk_bytes_per_posting": disk / postings,
    }
    for kind, queries_ in items.items():
        lat, hits = [], 0
        for expected, q in queries_:
            t0 = time.perf_counter()
            ids_, _, _ = kernel_search(
                views, q, min_score_default(len(q)), 10, 10, 0.0, MAX_POSTINGS_PER_TERM
            )
            lat.append(time.perf_counter() - t0)
            hits += top1(expected, ids_.tolist())
        out[f"search_{kind}_kernel"] = {
            "p50_ms": pct(lat, 50),
            "p95_ms": pct(lat, 95),
            "p99_ms": pct(lat, 99),
            "top1": hits / len(queries_),
        }
    out["rss_mb"] = rss_mb()
    return out


class Service:
    """A real index process on free ports with its own NATS prefix and data directory.

    ``cpus`` pins it (``taskset``); ``env`` adds settings (``ACOUSTID_INDEX_WRITE_ACK``).
    """

    def __init__(
        self,
        workdir: Path,
        name: str,
        cpus: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        import socket

        def port() -> int:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                return int(s.getsockname()[1])

        self.prefix = f"bench{uuid.uuid4().hex[:8]}."
        self.port = port()
        self.env = {
            **os.environ,
            "ACOUSTID_NATS_PREFIX": self.prefix,
            "ACOUSTID_INDEX_PORT": str(self.port),
            "ACOUSTID_INDEX_LEGACY_PORT": str(port()),
            "ACOUSTID_INDEX_DATA_DIR": str(workdir / name),
            "ACOUSTID_LOG_LEVEL": "WARNING",
            **(env or {}),
        }
        self.legacy_port = int(self.env["ACOUSTID_INDEX_LEGACY_PORT"])
        self.data_dir = workdir / name
        self.cpus = cpus
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def cpu_seconds(self) -> float:
        """User + system CPU the index process has used so far."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def log_bytes(self) -> int:
        """Bytes FPINDEX holds for this deployment (the replication log on the NATS server)."""
        settings = Settings(nats_prefix=self.prefix)
        nc = await nats_helpers.connect(settings, "bench")
        try:
            info = await nc.jetstream().stream_info(settings.stream(nats_helpers.FPINDEX))
            return int(info.state.bytes)
        finally:
            await nc.close()

    def disk_bytes(self) -> dict[str, int]:
        """Bytes on disk under the data directory: segment files and the write-ahead log."""
        segments = sum(p.stat().st_size for p in self.data_dir.glob("*.seg"))
        wal = sum(p.stat().st_size for p in (self.data_dir / "wal").glob("*"))
        return {"segments": segments, "wal": wal}

    async def __aenter__(self) -> Service:
        pin = ["taskset", "-c", self.cpus] if self.cpus else []
        self.proc = subprocess.Popen(
            [*pin, sys.executable, "-m", "services.index"], cwd=REPO, env=self.env
        )
        async with httpx.AsyncClient() as c:
            for _ in range(600):
                with contextlib.suppress(httpx.HTTPError):
                    if (await c.get(f"{self.url}/main/_health")).status_code == 200:
                        return self
                await asyncio.sleep(0.05)
        raise RuntimeError("index did not start")

    async def __aexit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)
        try:
            await nats_helpers.delete_streams(Settings(nats_prefix=self.prefix))
        except Exception as exc:  # a loaded NATS server: the figures are still good
            print(f"could not delete the bench's streams ({self.prefix}*): {exc!r}")


async def load(
    url: str,
    ids: np.ndarray,
    terms: list[np.ndarray],
    sizes,
    clients: int = 1,
    fmt: str = MSGPACK,
) -> float:
    """Documents per second through ``_update``, bodies encoded beforehand.

    msgpack bodies are fpindex's (first-letter keys); JSON ones use the full names.
    """
    bodies, i = [], 0
    while i < len(ids):
        k = int(sizes())
        pairs = zip(ids[i : i + k], terms[i : i + k], strict=True)
        if fmt == MSGPACK:
            bodies.append(
                msgpack.packb({"c": [{"i": {"i": int(d), "h": t.tolist()}} for d, t in pairs]})
            )
        else:
            changes = [{"insert": {"id": int(d), "hashes": t.tolist()}} for d, t in pairs]
            bodies.append(json.dumps({"changes": changes}).encode())
        i += k

    async def client(share: list[bytes]) -> None:
        conn = await Connection.open(url)
        for body in share:
            for attempt in range(5):
                try:
                    await conn.post("/main/_update", body, fmt)
                    break
                except Refused:  # a publish that timed out on a loaded NATS server: resend
                    if attempt == 4:
                        raise
                    RETRIES[0] += 1
        conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client(bodies[i::clients]) for i in range(clients)))
    return len(ids) / (time.perf_counter() - t0)


class Refused(RuntimeError):
    """A non-200 answer; the connection stays usable."""


RETRIES = [0]  # writes sent again after a 503 (counted into each result)


class Connection:
    """A bare HTTP/1.1 keep-alive connection: httpx costs more CPU per request than the index,
    and on a 2-core box the client's CPU is taken from the server being measured."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, url: str) -> Connection:
        host, port = url.removeprefix("http://").split(":")
        return cls(*await asyncio.open_connection(host, int(port)))

    async def post(self, path: str, body: bytes, content_type: str = MSGPACK) -> bytes:
        head = (
            f"POST {path} HTTP/1.1\r\nhost: index\r\ncontent-type: {content_type}\r\n"
            f"content-length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        answer = await self.reader.readexactly(length)
        if b" 200 " not in status:
            raise Refused(status.decode().strip() + " " + answer.decode(errors="replace"))
        return answer

    def close(self) -> None:
        self.writer.close()


async def searches(url: str, items: list[tuple[int, np.ndarray]], clients: int) -> dict[str, float]:
    lat: list[float] = []
    hits = 0
    work = [(expected, msgpack.packb({"q": q.tolist(), "l": 10})) for expected, q in items]

    async def worker() -> None:
        nonlocal hits
        conn = await Connection.open(url)
        try:
            while work:
                expected, body = work.pop()
                t0 = time.perf_counter()
                res = msgpack.unpackb(await conn.post("/main/_search", body))
                lat.append(time.perf_counter() - t0)
                hits += top1(expected, [r["i"] for r in res["r"]])
        finally:
            conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    wall = time.perf_counter() - t0
    return {
        "qps": len(items) / wall,
        "p50_ms": pct(lat, 50),
        "p99_ms": pct(lat, 99),
        "top1": hits / len(items),
    }


async def settle(url: str) -> None:
    """Waits until every write is checkpointed and merges have stopped, as B1 waits 5 s."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as c:
        last, stable = None, 0
        while stable < 8:
            status = (await c.get("/main/_status")).json()
            segments = (await c.get("/main")).json()["stats"]["num_segments"]
            done = status["file_version"] == status["version"]
            stable = stable + 1 if done and segments == last else 0
            last = segments
            await asyncio.sleep(0.25)


async def service_b3(n: int, nq: int, workdir: Path) -> dict[str, object]:
    terms = corpus(n)
    out: dict[str, object] = {}
    async with Service(workdir, "b3-http") as svc:
        out["bulk_insert_docs_per_s"] = await load(
            svc.url, np.arange(1, n + 1), list(terms), lambda: 1000
        )
        await settle(svc.url)
        qs = queries(terms, nq)
        mixed = [x for items in qs.values() for x in items]
        for kind, items in qs.items():
            out[f"search_{kind}_1_client"] = await searches(svc.url, items, 1)
        out["search_mixed_16_clients"] = await searches(svc.url, mixed, 16)
        assert svc.proc is not None
        out["server_rss_mb"] = rss_mb(svc.proc.pid)
        async with httpx.AsyncClient(base_url=svc.url) as c:
            out["segments"] = (await c.get("/main")).json()["stats"]["num_segments"]
    return out


async def load_legacy(port: int, terms: np.ndarray, batch: int = 1000) -> float:
    """Documents per second through the line protocol: ``begin``, ``insert`` x ``batch``,
    ``commit``, each transaction written at once and its answers read back."""
    scripts = []
    for first in range(0, len(terms), batch):
        lines = [b"begin"]
        for n, t in enumerate(terms[first : first + batch], start=first + 1):
            lines.append(f"insert {n} {','.join(map(str, t.tolist()))}".encode())
        lines.append(b"commit")
        scripts.append((b"\n".join(lines) + b"\n", len(lines)))
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    t0 = time.perf_counter()
    for script, answers in scripts:
        writer.write(script)
        for _ in range(answers):
            line = await reader.readline()
            if not line.startswith(b"OK"):
                raise RuntimeError(line.decode().strip())
    rate = len(terms) / (time.perf_counter() - t0)
    writer.close()
    return rate


async def write_run(
    workdir: Path,
    name: str,
    terms: np.ndarray,
    *,
    ack: str,
    cpus: str | None,
    protocol: str = "msgpack",
    settle_and_measure: bool = False,
) -> dict[str, object]:
    """One bulk load into a fresh index: rate, the index process's CPU per document, and,
    when asked, disk (segments + WAL + FPINDEX) per posting and RSS after searches."""
    n = len(terms)
    # Steady state: the WAL keeps checkpointed writes for index_wal_keep (180 s by default,
    # to outlast the NATS server's sync interval); 5 s lets the run see it trimmed.
    env = {"ACOUSTID_INDEX_WRITE_ACK": ack, "ACOUSTID_INDEX_WAL_KEEP": "5"}
    async with Service(workdir, name, cpus=cpus, env=env) as svc:
        cpu0 = svc.cpu_seconds()
        RETRIES[0] = 0
        if protocol == "legacy":
            rate = await load_legacy(svc.legacy_port, terms)
        else:
            fmt = MSGPACK if protocol == "msgpack" else "application/json"
            rate = await load(svc.url, np.arange(1, n + 1), list(terms), lambda: 1000, fmt=fmt)
        cpu = svc.cpu_seconds() - cpu0
        out: dict[str, object] = {
            "docs": n,
            "docs_per_s": rate,
            "server_cpu_s_during_load": cpu,
            "server_cpu_us_per_doc": cpu / n * 1e6,
            "batches_resent_after_503": RETRIES[0],
        }
        if settle_and_measure:
            await settle(svc.url)
            cpu_settled = svc.cpu_seconds() - cpu0
            out["server_cpu_us_per_doc_until_settled"] = cpu_settled / n * 1e6
            # The log is purged on the replicas' trim interval after the last checkpoint.
            await asyncio.sleep(12)
            postings = n * terms.shape[1]
            disk = svc.disk_bytes()
            log_bytes = await svc.log_bytes()
            out["bytes_per_posting_segments"] = disk["segments"] / postings
            out["bytes_per_posting_wal"] = disk["wal"] / postings
            out["bytes_per_posting_fpindex_log"] = log_bytes / postings
            out["bytes_per_posting_total"] = (disk["segments"] + disk["wal"] + log_bytes) / postings
            qs = queries(terms, 300)
            mixed = [x for items in qs.values() for x in items]
            out["search_16_clients"] = await searches(svc.url, mixed, 16)
            assert svc.proc is not None
            out["server_rss_mb_after_searches"] = rss_mb(svc.proc.pid)
    return out


async def service_writes(n: int, workdir: Path) -> dict[str, object]:
    """Issue 17's load: ``n`` x 120 terms, msgpack 1000-document ``_update``s with first-letter
    keys from one connection; the index pinned to one core (the client on the other) and
    unpinned, under both write acknowledgements; then JSON and the line protocol."""
    terms = corpus(n)
    cores = os.cpu_count() or 2
    out: dict[str, object] = {}
    own = os.sched_getaffinity(0)

    def done(key: str, value: dict[str, object]) -> None:
        out[key] = value
        print(key, json.dumps(value), flush=True)  # a long run shows each figure as it lands

    for ack in ("fsync", "publish"):
        os.sched_setaffinity(0, {cores - 1})
        try:
            done(
                f"msgpack_{ack}_pinned_1_core",
                await write_run(
                    workdir, f"w-{ack}-pinned", terms, ack=ack, cpus="0", settle_and_measure=True
                ),
            )
        finally:
            os.sched_setaffinity(0, own)
    for ack in ("fsync", "publish"):
        done(
            f"msgpack_{ack}_unpinned",
            await write_run(workdir, f"w-{ack}-free", terms, ack=ack, cpus=None),
        )
    small = terms[: max(n // 5, 1000)]
    for protocol in ("json", "legacy"):
        done(
            f"{protocol}_fsync_unpinned",
            await write_run(
                workdir, f"w-{protocol}", small, ack="fsync", cpus=None, protocol=protocol
            ),
        )
    return out


async def service_b1(workdir: Path) -> dict[str, object]:
    rng = np.random.default_rng(42)
    n = 10_000
    ids = rng.choice(2**32 - 1, n, replace=False) + 1
    docs = [rng.integers(0, 2**24, int(rng.integers(100, 121)), dtype=np.uint32) for _ in range(n)]
    out: dict[str, object] = {}
    async with Service(workdir, "b1") as svc:
        third = n // 3
        for mode, lo, hi, (a, b) in (
            ("bulk", 1000, 1001, (0, third)),
            ("medium", 10, 101, (third, 2 * third)),
            ("small", 1, 11, (2 * third, n)),
        ):
            out[f"insert_{mode}_docs_per_s"] = await load(
                svc.url, ids[a:b], docs[a:b], lambda lo=lo, hi=hi: rng.integers(lo, hi)
            )
        await settle(svc.url)
        items: list[tuple[int, np.ndarray]] = []
        for p_match in (0.9, 0.5, 0.1):
            for _ in range(333):
                if rng.random() < p_match:
                    d = int(rng.integers(0, n))
                    items.append((int(ids[d]), noisy(rng, docs[d], 24, 0)))
                else:
                    items.append(
                        (0, rng.integers(0, 2**24, int(rng.integers(100, 121)), dtype=np.uint32))
                    )
        res = await searches(svc.url, items, 16)
        matches = [x for x in items if x[0]]
        out |= res
        out["top1_recall_on_matches"] = (await searches(svc.url, matches, 16))["top1"]
    return out


async def service_b2(workdir: Path) -> dict[str, object]:
    rng = np.random.default_rng(2)
    n = 50_000
    docs = [rng.integers(0, 2**18, 100, dtype=np.uint32) for _ in range(n)]
    async with Service(workdir, "b2") as svc:
        rate = await load(svc.url, np.arange(1, n + 1), docs, lambda: 1000)
        conn = await Connection.open(svc.url)
        res = msgpack.unpackb(
            await conn.post("/main/_search", msgpack.packb({"q": docs[99].tolist()}))
        )
        conn.close()
        unique = len(set(docs[99].tolist()))
    async with Service(workdir, "b2-4-clients") as svc:
        rate4 = await load(svc.url, np.arange(1, n + 1), docs, lambda: 1000, clients=4)
    return {
        "bulk_insert_docs_per_s": rate,
        "bulk_insert_docs_per_s_4_clients": rate4,
        "doc_100_results": res["r"],
        "doc_100_exact": res["r"] == [{"i": 100, "s": unique}],
    }


def table(results: dict[str, dict[str, object]]) -> None:
    for section, values in results.items():
        print(f"\n{section}")
        for key, value in values.items():
            if isinstance(value, dict):
                text = "  ".join(
                    f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in value.items()
                )
            else:
                text = f"{value:.3f}" if isinstance(value, float) else str(value)
            print(f"  {key:<34} {text}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--docs", type=int, default=1_000_000, help="B3 corpus size")
    p.add_argument("--queries", type=int, default=1000, help="B3 queries per kind")
    p.add_argument(
        "--only", choices=["inprocess", "b1", "b2", "b3", "large", "writes"], action="append"
    )
    p.add_argument("--large-millions", type=int, default=10, help="B3 kernel-only corpus size")
    args = p.parse_args()
    chosen = set(args.only or ["inprocess", "b1", "b2", "b3", "large", "writes"])
    workdir = Path(tempfile.mkdtemp(prefix="acoustid-index-bench-"))
    results: dict[str, dict[str, object]] = {}
    try:
        if "inprocess" in chosen:
            results["B3 in-process (kernel vs numpy reference)"] = in_process(
                args.docs, args.queries, workdir
            )
        if "b1" in chosen:
            results["B1 service (10k docs, 24-bit hashes, 16 clients)"] = asyncio.run(
                service_b1(workdir)
            )
        if "b2" in chosen:
            results["B2 service (50k docs x 100 hashes in 2^18)"] = asyncio.run(service_b2(workdir))
        if "b3" in chosen:
            results[f"B3 service ({args.docs} docs)"] = asyncio.run(
                service_b3(args.docs, args.queries, workdir)
            )
        if "writes" in chosen:
            results[f"Writes ({args.docs} docs, issue 17's load)"] = asyncio.run(
                service_writes(args.docs, workdir)
            )
        if "large" in chosen:
            title = f"B3 kernel at {args.large_millions}M docs (mmapped segments, one thread)"
            results[title] = large(args.large_millions, args.queries, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    table(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    # A partial run (--only) replaces its own sections and keeps the others.
    merged = json.loads(RESULTS.read_text()) if args.only and RESULTS.exists() else {}
    merged.update(results)
    RESULTS.write_text(json.dumps(merged, indent=2, default=str) + "\n")
    print(f"\nwrote {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
