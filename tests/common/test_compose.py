"""The Compose stack is wired as an operator relies on: every service checked, scraped and
started by a command that exists, with the seed's profiles, secrets and server settings.

These read the files; ``make compose-test`` proves the same stack in running containers.
"""

from __future__ import annotations

import re
import shlex
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from libs.common.settings import Settings
from services.cli.main import COMMANDS, parser
from tests.conftest import REPO

pytestmark = pytest.mark.quick
COMPOSE = REPO / "deploy" / "compose"
SPEC: dict[str, Any] = yaml.safe_load((COMPOSE / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = SPEC["services"]
PROMETHEUS: dict[str, Any] = yaml.safe_load((COMPOSE / "config" / "prometheus.yml").read_text())
DOCKERFILE = (COMPOSE / "Dockerfile").read_text()
# Services that run once and exit, so neither a health check nor a scrape applies.
ONE_OFF = {"migrate", "tools"}
# Servers from Debian packages with no Prometheus endpoint (and no exporter in Debian: NATS;
# the proxy's traffic is the api's and web's, which are scraped themselves).
UNSCRAPED = {"nats", "proxy"}
EXPORTED_BY = {"postgres": "postgres-exporter", "redis": "redis-exporter"}
DEFAULTS = Settings()
PORTS = {
    "api": DEFAULTS.api_port,
    "web": DEFAULTS.web_port,
    "worker": DEFAULTS.worker_metrics_port,
    "cron": DEFAULTS.cron_metrics_port,
    "index": DEFAULTS.index_port,
}


def long_running() -> list[str]:
    return sorted(set(SERVICES) - ONE_OFF)


def project_services() -> list[str]:
    """The services built from the project's own Dockerfile (not the servers')."""
    return sorted(
        name
        for name, svc in SERVICES.items()
        if svc.get("build", {}).get("dockerfile") == "deploy/compose/Dockerfile"
    )


def target_cmd(target: str) -> list[str]:
    """The CMD of a Dockerfile target, or of the stage it builds on."""
    stages = re.split(r"^FROM ", DOCKERFILE, flags=re.M)[1:]
    by_name = {s.split()[2]: s for s in stages if " AS " in s.splitlines()[0]}
    while True:
        stage = by_name[target]
        found = re.search(r"^CMD (\[.*\])$", stage, re.M)
        if found:
            return list(yaml.safe_load(found.group(1)))
        target = stage.split()[0]


def command_of(name: str) -> list[str]:
    svc = SERVICES[name]
    command = svc.get("command")
    if command is None:
        return target_cmd(svc["build"]["target"])
    return shlex.split(command) if isinstance(command, str) else list(command)


def scraped() -> dict[str, tuple[str, int]]:
    """Host name -> (job, port) for every target Prometheus scrapes (itself: its job name)."""
    out = {}
    for job in PROMETHEUS["scrape_configs"]:
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                host, port = target.rsplit(":", 1)
                out[job["job_name"] if host == "localhost" else host] = (job["job_name"], int(port))
        for sd in job.get("dns_sd_configs", []):
            for dns_name in sd["names"]:
                out[dns_name] = (job["job_name"], sd["port"])
    return out


@pytest.mark.parametrize("name", long_running())
def test_every_long_running_service_has_a_health_check(name: str) -> None:
    check = SERVICES[name].get("healthcheck", {}).get("test")
    assert check and check[0] == "CMD", f"{name} has no health check"
    if name in project_services():
        url = urlparse(check[-1])
        assert check[1:4] == ["python3", "-m", "libs.common.probe"]
        assert url.path == "/_health", f"{name} checks {url.path}"
        assert url.port == PORTS[SERVICES[name]["build"]["target"]]


@pytest.mark.parametrize("name", sorted(set(long_running()) - UNSCRAPED))
def test_every_service_is_a_prometheus_target_on_its_port(name: str) -> None:
    targets = scraped()
    target = EXPORTED_BY.get(name, name)
    assert target in targets, f"prometheus.yml does not scrape {target}"
    _, port = targets[target]
    exposed = re.search(
        rf"AS {SERVICES[target]['build']['target']}$.*?^EXPOSE ([\d ]+)$",
        (
            COMPOSE / SERVICES[target]["build"]["dockerfile"].split("deploy/compose/")[-1]
        ).read_text(),
        re.M | re.S,
    )
    assert exposed and str(port) in exposed.group(1).split(), f"{target} listens elsewhere"


@pytest.mark.parametrize("name", sorted(set(project_services()) - {"tools"}))
def test_every_command_exists_in_the_cli(name: str) -> None:
    args, rest = parser().parse_known_args(command_of(name))
    assert not rest
    if args.command == "run":
        assert args.service == SERVICES[name]["build"]["target"]


def test_the_tools_commands_parse() -> None:
    """The one-off commands the README tells operators to run through the tools service
    (whose own command is only ``--help``)."""
    assert command_of("tools") == ["--help"]
    for line in ["db upgrade", "index rebuild"]:
        args, _ = parser().parse_known_args(line.split())
        assert args.func is not None, line


def test_the_musicbrainz_import_parses() -> None:
    assert "services.cli.musicbrainz" in COMMANDS
    args, _ = parser().parse_known_args(["musicbrainz", "import", "/dumps/mbdump.tar.bz2"])
    assert args.func is not None


def test_the_seed_profiles() -> None:
    profiles: dict[str, set[str]] = {}
    for name, svc in SERVICES.items():
        for profile in svc.get("profiles", ["(always)"]):
            profiles.setdefault(profile, set()).add(name)
    assert profiles["frontend"] == {"api", "web", "proxy"}
    assert profiles["backend"] == {"index-0a", "index-0b", "index-1a", "index-1b", "worker", "cron"}
    assert profiles["tools"] == {"tools"}
    assert profiles["monitoring"] == {"prometheus", "postgres-exporter", "redis-exporter"}
    assert profiles["(always)"] == {"postgres", "redis", "nats", "migrate"}
    assert {name: SERVICES[name].get("scale", 1) for name in ("api", "web", "worker", "cron")} == {
        "api": 2,
        "web": 2,
        "worker": 2,
        "cron": 1,
    }


def test_dependencies_wait_for_health_or_completion() -> None:
    for name, svc in SERVICES.items():
        for dep, cond in svc.get("depends_on", {}).items():
            if dep == "migrate":
                assert cond["condition"] == "service_completed_successfully", name
            else:
                assert cond["condition"] == "service_healthy", f"{name} -> {dep}"
                assert "healthcheck" in SERVICES[dep], f"{name} waits on unchecked {dep}"


def test_index_shards_each_have_two_replicas_behind_one_alias() -> None:
    env_urls = SERVICES["api"]["environment"]["ACOUSTID_INDEX_URLS"].split(",")
    aliases = [urlparse(u).hostname for u in env_urls]
    for shard, alias in enumerate(aliases):
        replicas = [
            name
            for name, svc in SERVICES.items()
            if alias in svc.get("networks", {}).get("default", {}).get("aliases", [])
        ]
        assert len(replicas) == 2, alias
        volumes = set()
        for name in replicas:
            env = SERVICES[name]["environment"]
            assert env["ACOUSTID_INDEX_SHARD"] == str(shard)
            assert env["ACOUSTID_INDEX_URLS"] == ",".join(env_urls)
            (peer,) = [r for r in replicas if r != name]
            assert env["ACOUSTID_INDEX_PEERS"] == f"http://{peer}:6081"
            volumes.add(SERVICES[name]["volumes"][0].split(":")[0])
        assert len(volumes) == 2, "each replica keeps its own files"


def test_data_lives_in_named_volumes_and_secrets_in_files() -> None:
    data = {
        "postgres": "/var/lib/postgresql/data",
        "redis": "/data",
        "nats": "/data",
        "prometheus": "/prometheus",
        "index-0a": "/var/lib/acoustid/index",
    }
    for name, path in data.items():
        mounts = dict(v.split(":")[1::-1] for v in SERVICES[name]["volumes"])
        assert mounts[path] in SPEC["volumes"], f"{name} keeps {path} in {mounts[path]}"
    app_env = SERVICES["api"]["environment"]
    for var in ("APP_DATABASE_URL", "REDIS_URL", "CLUSTER_SECRET", "WEBSITE_SECRET"):
        assert app_env[f"ACOUSTID_{var}_FILE"].startswith("/run/secrets/")
        assert f"ACOUSTID_{var}" not in app_env
    for name, secret in SPEC["secrets"].items():
        example = COMPOSE / (secret["file"] + ".example")
        assert example.exists(), f"secret {name} has no example at {example}"


def test_every_build_target_exists() -> None:
    targets = set(re.findall(r"^FROM \S+ AS ([\w-]+)$", DOCKERFILE, re.M))
    infra = set(
        re.findall(r"^FROM \S+ AS ([\w-]+)$", (COMPOSE / "infra/Dockerfile").read_text(), re.M)
    )
    for name, svc in SERVICES.items():
        build = svc["build"]
        wanted = targets if build["dockerfile"] == "deploy/compose/Dockerfile" else infra
        assert build["target"] in wanted, name
        assert build["args"]["BASE_IMAGE"] == "${BASE_IMAGE:-debian:bookworm-slim}"
    assert re.search(r"^ARG BASE_IMAGE=debian:bookworm-slim$", DOCKERFILE, re.M)
    assert "\nUSER acoustid\n" in DOCKERFILE


def conf(path: str, sep: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in (COMPOSE / "config" / path).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            key, _, value = line.partition(sep)
            values.setdefault(key.strip(), []).append(value.strip().strip("'"))
    return values


def test_the_seed_postgresql_settings_and_redis_persistence() -> None:
    pg = conf("postgresql.conf", "=")
    seed = {
        "max_connections": "200",
        "shared_buffers": "4GB",
        "effective_cache_size": "12GB",
        "wal_level": "replica",
        "max_wal_size": "2GB",
        "min_wal_size": "1GB",
        "random_page_cost": "1.1",
        "effective_io_concurrency": "200",
        "max_parallel_workers_per_gather": "4",
        "max_parallel_workers": "8",
        "log_min_duration_statement": "1000",
        "autovacuum_max_workers": "4",
        "autovacuum_naptime": "10s",
    }
    assert {k: pg[k][0] for k in seed} == seed
    redis = conf("redis.conf", " ")
    assert redis["save"] == ["900 1", "300 10", "60 10000"]
    assert redis["appendonly"] == ["yes"] and redis["appendfsync"] == ["everysec"]
    mounts = [v.split(":")[1] for v in SERVICES["postgres"]["volumes"]]
    assert "/etc/acoustid/postgresql.conf" in mounts
    assert "/etc/acoustid/redis.conf" in " ".join(SERVICES["redis"]["command"])
