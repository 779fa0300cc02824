"""Every ACOUSTID_ variable reaches its setting, and a bad one stops a service by name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from libs.common.settings import Settings, SettingsError, load_settings

SAMPLES: dict[type, tuple[str, object]] = {
    str: ("somewhere", "somewhere"),
    int: ("7", 7),
    float: ("0.5", 0.5),
    Path: ("/tmp/acoustid-x", Path("/tmp/acoustid-x")),
    bool: ("false", False),
}
LISTS = {"nats_servers", "index_urls", "index_peers"}
SPECIAL: dict[str, tuple[str, object]] = {
    "log_level": ("debug", "DEBUG"),
    "env": ("development", "development"),
    "index_write_ack": ("publish", "publish"),
    "trusted_proxies": ("10.0.0.1, 192.168.0.0/16", ["10.0.0.1", "192.168.0.0/16"]),
    "rate_limit_overrides": (
        "application.3=20, ip.10.0.0.1=5",
        ["application.3=20", "ip.10.0.0.1=5"],
    ),
}


def _sample(name: str) -> tuple[str, object]:
    if name in SPECIAL:
        return SPECIAL[name]
    if name in LISTS:
        return "http://a:1, http://b:2", ["http://a:1", "http://b:2"]
    annotation = Settings.model_fields[name].annotation
    assert annotation in SAMPLES, f"no sample value for {name}: {annotation}"
    return SAMPLES[annotation]  # type: ignore[index]


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_variable_parses_from_the_environment(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw, expected = _sample(name)
    monkeypatch.setenv(f"ACOUSTID_{name.upper()}", raw)
    assert getattr(load_settings(), name) == expected


def test_file_variant_reads_a_secret_from_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("ACOUSTID_CLUSTER_SECRET_FILE", str(secret))
    assert load_settings().cluster_secret == "s3cret"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ACOUSTID_API_PORT", "http"),
        ("ACOUSTID_API_PORT", "70000"),
        ("ACOUSTID_RATE_LIMIT_IP", "-1"),
        ("ACOUSTID_TRACK_MERGE_THRESHOLD", "2"),
        ("ACOUSTID_LOG_LEVEL", "loud"),
        ("ACOUSTID_RATE_LIMIT_OVERRIDES", "application.x=fast"),
    ],
)
def test_bad_value_names_the_variable(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


def test_service_refuses_to_start_with_a_bad_value() -> None:
    env = {"ACOUSTID_API_PORT": "not-a-port", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "run", "api"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "ACOUSTID_API_PORT" in result.stderr
