"""The README's configuration table lists every setting, so operators never guess a name."""

from __future__ import annotations

import re

import pytest

from libs.common.settings import Settings
from tests.conftest import REPO

pytestmark = pytest.mark.quick


def test_every_setting_is_documented_once() -> None:
    readme = (REPO / "README.md").read_text()
    rows = re.findall(r"^\| `(ACOUSTID_[A-Z_]+)` \|", readme, flags=re.M)
    expected = [f"ACOUSTID_{name.upper()}" for name in Settings.model_fields]
    assert sorted(rows) == sorted(expected)
