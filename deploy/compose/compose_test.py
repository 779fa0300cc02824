"""``make compose-test``: the whole stack from nothing in containers, used as a client uses it.

In a throw-away compose project (its own volumes, free host ports) it starts every profile,
waits until every container is healthy, creates an application through the internal API,
submits fingerprints through the proxy, waits for the workers to import them, looks them up,
checks that Prometheus scrapes every replica of every service, then restarts a worker and
an index replica in the middle of a second batch and checks that every fingerprint of both
batches is still found and that each index replica holds what its peer holds. The stack is
torn down at the end (``KEEP=1`` leaves it running). Timings go to stdout and
``bench/results/compose-test.json``.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np

from libs.chromaprint_cy import encode_fingerprint

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RESULTS = REPO / "bench" / "results" / "compose-test.json"
PROFILES = ["frontend", "backend", "monitoring"]
# Containers of a healthy stack: service -> replicas (migrate has exited 0 by then).
EXPECTED = {
    "postgres": 1,
    "redis": 1,
    "nats": 1,
    "index-0a": 1,
    "index-0b": 1,
    "index-1a": 1,
    "index-1b": 1,
    "api": 2,
    "web": 2,
    "proxy": 1,
    "worker": 2,
    "cron": 1,
    "prometheus": 1,
    "postgres-exporter": 1,
    "redis-exporter": 1,
}
# Prometheus jobs -> targets it must scrape (every replica).
SCRAPED = {
    "api": 2,
    "web": 2,
    "worker": 2,
    "cron": 1,
    "index": 4,
    "postgres": 1,
    "redis": 1,
    "prometheus": 1,
}
BATCH = 20
DURATION = 180
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Stack:
    """One compose project; every docker-compose call goes through :meth:`compose`."""

    def __init__(self, project: str) -> None:
        self.project = project
        self.ports = {"api": free_port(), "web": free_port(), "prometheus": free_port()}
        self.env = {
            **os.environ,
            "ACOUSTID_PUBLISH_API": f"127.0.0.1:{self.ports['api']}",
            "ACOUSTID_PUBLISH_WEB": f"127.0.0.1:{self.ports['web']}",
            "ACOUSTID_PUBLISH_PROMETHEUS": f"127.0.0.1:{self.ports['prometheus']}",
        }
        compose = os.environ.get("COMPOSE", "docker-compose").split()
        profiles = [arg for name in PROFILES for arg in ("--profile", name)]
        self.base = [*compose, "-p", project, "-f", str(HERE / "docker-compose.yml"), *profiles]

    def compose(self, *args: str) -> str:
        done = subprocess.run(
            [*self.base, *args], env=self.env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"docker-compose {' '.join(args)}: {done.stderr[-3000:]}")
        return done.stdout

    def containers(self) -> list[dict[str, Any]]:
        # docker itself, not docker-compose: polled every few seconds on a loaded machine.
        label = f"label=com.docker.compose.project={self.project}"
        listed = subprocess.run(
            ["docker", "ps", "-a", "-q", "--filter", label], capture_output=True, text=True
        )
        ids = listed.stdout.split()
        if not ids:
            return []
        out = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True)
        found: list[dict[str, Any]] = json.loads(out.stdout or "[]")
        return found

    def container_of(self, service: str) -> str:
        return self.compose("ps", "-q", service).split()[0]

    def unhealthy(self) -> list[str]:
        """What keeps the stack from being ready, one line per container or missing one."""
        problems = []
        counts: dict[str, int] = {}
        for c in self.containers():
            service = c["Config"]["Labels"]["com.docker.compose.service"]
            state = c["State"]
            if service == "migrate":
                if state["Status"] == "exited" and state["ExitCode"] != 0:
                    raise RuntimeError(f"migrate failed:\n{self.logs('migrate')}")
                continue
            health = state.get("Health", {}).get("Status", "none")
            if state["Status"] != "running" or health != "healthy":
                problems.append(f"{c['Name'].lstrip('/')}: {state['Status']}/{health}")
            else:
                counts[service] = counts.get(service, 0) + 1
        for service, want in EXPECTED.items():
            if counts.get(service, 0) < want:
                problems.append(f"{service}: {counts.get(service, 0)}/{want} healthy")
        return problems

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while problems := self.unhealthy():
            if time.monotonic() > deadline:
                raise RuntimeError("not healthy: " + "; ".join(problems))
            time.sleep(5)

    def logs(self, service: str) -> str:
        return self.compose("logs", "--no-color", "--tail", "40", service)

    def secret(self, name: str) -> str:
        return (HERE / "secrets" / f"{name}.txt").read_text().strip()


def poll(what: str, timeout: float, probe: Callable[[], T | None]) -> T:
    """``probe()`` until it returns something other than None."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(1)


class Client:
    """What an application does: submit, wait for the import, look up."""

    def __init__(self, url: str, cluster_secret: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=30)
        account = self.internal("create_account", secret=cluster_secret)
        app = self.internal(
            "create_application",
            secret=cluster_secret,
            account_id=str(account["id"]),
            name="compose-test",
            version="1",
        )
        self.user, self.client = account["api_key"], app["api_key"]

    def internal(self, endpoint: str, /, **params: str) -> dict[str, Any]:
        return self.call(f"/v2/internal/{endpoint}", params)

    def call(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        resp = self.http.post(path, data=params)
        body: dict[str, Any] = resp.json()
        if resp.status_code != 200 or body.get("status") != "ok":
            raise RuntimeError(f"{path}: HTTP {resp.status_code} {body}")
        return body

    def submit(self, prints: list[str]) -> list[int]:
        params: dict[str, Any] = {"client": self.client, "user": self.user}
        for i, fp in enumerate(prints):
            params |= {f"fingerprint.{i}": fp, f"duration.{i}": str(DURATION)}
            params[f"mbid.{i}"] = str(uuid.uuid4())
        return [s["id"] for s in self.call("/v2/submit", params)["submissions"]]

    def imported(self, ids: list[int]) -> dict[int, str] | None:
        """Submission id -> AcoustID once every one of ``ids`` is imported, else None."""
        body = self.call("/v2/submission_status", {"client": self.client, "id": ids})
        done = {
            s["id"]: s["result"]["id"] for s in body["submissions"] if s["status"] == "imported"
        }
        return done if len(done) == len(ids) else None

    def lookup(self, prints: list[str]) -> list[list[dict[str, Any]]]:
        params: dict[str, Any] = {"client": self.client, "batch": "1"}
        for i, fp in enumerate(prints):
            params |= {f"fingerprint.{i}": fp, f"duration.{i}": str(DURATION)}
        fingerprints = self.call("/v2/lookup", params)["fingerprints"]
        return [f["results"] for f in sorted(fingerprints, key=lambda f: f["index"])]


class Prometheus:
    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=10)

    def targets(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.http.get("/api/v1/targets").json()["data"][
            "activeTargets"
        ]
        return found

    def query(self, expr: str) -> list[dict[str, Any]]:
        body = self.http.get("/api/v1/query", params={"query": expr}).json()
        if body["status"] != "success":
            raise RuntimeError(f"{expr}: {body}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def all_up(self) -> dict[str, int] | None:
        """Targets per job once every expected replica is scraped and up, else None."""
        up: dict[str, int] = {}
        for target in self.targets():
            if target["health"] == "up":
                job = target["labels"]["job"]
                up[job] = up.get(job, 0) + 1
        return up if all(up.get(job, 0) >= n for job, n in SCRAPED.items()) else None


def random_prints(count: int, seed: int) -> list[str]:
    """Distinct fingerprints of DURATION seconds: random items share no index terms."""
    rng = np.random.default_rng(seed)
    items = int(DURATION * 7.8)
    return [
        encode_fingerprint(rng.integers(0, 2**32, items, dtype=np.uint32), algorithm=1)
        for _ in range(count)
    ]


def check_found(client: Client, prints: list[str], expected: list[str]) -> None:
    """Every fingerprint's best result is the AcoustID its submission became."""
    for start in range(0, len(prints), BATCH):
        chunk = prints[start : start + BATCH]
        for offset, results in enumerate(client.lookup(chunk)):
            want = expected[start + offset]
            if not results or results[0]["id"] != want or results[0]["score"] < 0.9:
                raise RuntimeError(f"fingerprint {start + offset}: expected {want}, got {results}")


def serving(prom: Prometheus) -> list[dict[str, Any]] | None:
    """The api replicas that answered requests, once there are two: the proxy spreads them."""
    served = prom.query("sum by (instance) (api_requests_total)")
    return served if len(served) >= 2 else None


def replicas_agree(prom: Prometheus) -> dict[str, float] | None:
    """Documents per index replica, once both replicas of each shard hold the same."""
    docs = {r["metric"]["replica"]: float(r["value"][1]) for r in prom.query("fpindex_docs")}
    if len(docs) < 4:
        return None
    pairs = [("index-0a", "index-0b"), ("index-1a", "index-1b")]
    return docs if all(docs.get(a) == docs.get(b) and docs.get(a) for a, b in pairs) else None


@contextmanager
def step(name: str, timings: dict[str, float]) -> Iterator[None]:
    started = time.monotonic()
    print(f"== {name}", flush=True)
    yield
    timings[name] = round(time.monotonic() - started, 1)
    print(f"   {timings[name]} s", flush=True)


def run(stack: Stack, timings: dict[str, float]) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    with step("up from nothing", timings):
        stack.compose("down", "-v", "--remove-orphans")
        stack.compose("up", "-d")
    with step("every container healthy", timings):
        stack.wait_healthy(600)
    client = Client(f"http://127.0.0.1:{stack.ports['api']}", stack.secret("cluster_secret"))
    first, second = random_prints(BATCH, 1), random_prints(BATCH, 2)
    with step(f"submit {BATCH} fingerprints, wait for their import", timings):
        ids = client.submit(first)
        tracks = poll("the import", 120, lambda: client.imported(ids))
        first_ids = [tracks[i] for i in ids]
    with step("look them up", timings):
        check_found(client, first, first_ids)
    prom = Prometheus(f"http://127.0.0.1:{stack.ports['prometheus']}")
    with step("Prometheus scrapes every replica", timings):
        facts["targets_up"] = poll("every scrape target up", 120, prom.all_up)
        facts["api_replicas_serving"] = len(
            poll("both api replicas serving", 60, lambda: serving(prom))
        )
    with step("restart a worker and an index replica mid-batch", timings):
        ids = client.submit(second)
        worker, index = stack.container_of("worker"), stack.container_of("index-0a")
        subprocess.run(["docker", "restart", worker, index], check=True, capture_output=True)
        stack.wait_healthy(300)
        tracks = poll("the second import", 180, lambda: client.imported(ids))
        second_ids = [tracks[i] for i in ids]
    with step("nothing lost: both batches found, replicas agree", timings):
        check_found(client, first + second, first_ids + second_ids)
        facts["index_docs"] = poll("index replicas to agree", 120, lambda: replicas_agree(prom))
    facts["fingerprints"] = len(first) + len(second)
    return facts


def main() -> int:
    project = os.environ.get("ACOUSTID_COMPOSE_PROJECT", "acoustid-compose-test")
    stack = Stack(project)
    subprocess.run([str(HERE / "secrets.sh")], check=True, capture_output=True)
    timings: dict[str, float] = {}
    started = time.monotonic()
    result: dict[str, Any] = {"project": project}
    try:
        result |= run(stack, timings)
        result["result"] = "pass"
    except Exception as exc:
        result["result"] = f"fail: {exc}"
        print(f"FAILED: {exc}", file=sys.stderr)
        for service in ("migrate", "api", "worker", "index-0a", "prometheus"):
            with contextlib.suppress(RuntimeError):
                print(stack.logs(service)[-2000:], file=sys.stderr)
    finally:
        if os.environ.get("KEEP") != "1":
            with step("tear down", timings):
                stack.compose("down", "-v", "--remove-orphans")
    result["seconds"] = timings
    result["total_seconds"] = round(time.monotonic() - started, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if result["result"] == "pass" else 1


if __name__ == "__main__":
    sys.exit(main())
