"""The Compose file builds a target that exists for each service and wires every secret."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.conftest import REPO

pytestmark = pytest.mark.quick
COMPOSE = REPO / "deploy" / "compose"


def test_every_build_target_exists_and_every_secret_has_an_example() -> None:
    spec = yaml.safe_load((COMPOSE / "docker-compose.yml").read_text())
    targets = set(re.findall(r"^FROM \S+ AS (\w+)$", (COMPOSE / "Dockerfile").read_text(), re.M))
    built = {name: svc for name, svc in spec["services"].items() if "build" in svc}
    assert set(built) == {"migrate", "index", "api", "web", "worker", "cron"}
    for name, svc in built.items():
        assert svc["build"]["target"] in targets, name
    for name, secret in spec["secrets"].items():
        example = COMPOSE / (secret["file"] + ".example")
        assert example.exists(), f"secret {name} has no example at {example}"
