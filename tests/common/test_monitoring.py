"""Prometheus's configuration, the alert rules and the dashboard: valid for promtool, each
alert fires when it should (alerts-test.yml), and every metric they name is one a service
really exports, so a renamed metric cannot silently blind an alert."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
from functools import cache

import pytest
import yaml

from tests.conftest import REPO

CONFIG = REPO / "deploy" / "compose" / "config"
METRIC_MODULES = [
    "libs.common.metrics",
    "libs.common.index_client",
    "services.api.metrics",
    "services.worker.metrics",
    "services.worker.cron",
    "services.index.metrics",
]
OUR_PREFIXES = ("api_", "worker_", "cron_", "fpindex_", "http_", "index_")
SUFFIXES = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "gauge": [""]}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    assert tool, "promtool missing: install Debian's prometheus package (.ci/apt-install)"
    return subprocess.run([tool, *args], cwd=CONFIG, capture_output=True, text=True)


@cache
def exported() -> set[str]:
    """Every sample name the services' registries can produce."""
    from prometheus_client import REGISTRY

    for module in METRIC_MODULES:
        importlib.import_module(module)
    names = {"up"}
    for family in REGISTRY.collect():
        names.update(family.name + s for s in SUFFIXES.get(family.type, [""]))
    return names


def referenced(expr: str) -> set[str]:
    return {n for n in re.findall(r"[a-z_][a-z0-9_]*", expr) if n.startswith(OUR_PREFIXES)}


@pytest.mark.parametrize(
    "args",
    [
        ("check", "config", "prometheus.yml"),
        ("check", "rules", "alerts.yml"),
        ("test", "rules", "alerts-test.yml"),
    ],
    ids=["config", "rules", "rule-tests"],
)
def test_promtool_accepts(args: tuple[str, ...]) -> None:
    done = promtool(*args)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_issue_s_alerts_exist() -> None:
    rules = yaml.safe_load((CONFIG / "alerts.yml").read_text())["groups"][0]["rules"]
    names = {rule["alert"] for rule in rules}
    assert {
        "LookupErrorRate",
        "LookupLatencyP99",
        "ImportLag",
        "DeadLetters",
        "IndexSegments",
        "IndexDiskFull",
    } <= names


def test_alerts_and_dashboard_name_only_exported_metrics() -> None:
    rules = yaml.safe_load((CONFIG / "alerts.yml").read_text())["groups"][0]["rules"]
    dashboard = json.loads((CONFIG / "grafana-dashboard.json").read_text())
    exprs = [rule["expr"] for rule in rules]
    exprs += [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    unknown = {name for expr in exprs for name in referenced(expr)} - exported()
    assert not unknown, f"not exported by any service: {sorted(unknown)}"


def test_the_dashboard_shows_what_the_issue_asks() -> None:
    dashboard = json.loads((CONFIG / "grafana-dashboard.json").read_text())
    shown = {
        name for p in dashboard["panels"] for t in p["targets"] for name in referenced(t["expr"])
    }
    assert {
        "api_requests_total",
        "api_request_duration_seconds_bucket",
        "api_new_submissions_total",
        "worker_consumer_pending",
        "fpindex_docs",
        "fpindex_search_duration_seconds_bucket",
        "api_rate_limit_exceeded_total",
    } <= shown
