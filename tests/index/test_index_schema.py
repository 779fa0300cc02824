"""schemathesis over the index's own OpenAPI schema, request bodies included: no 5xx."""

from __future__ import annotations

import asyncio
from pathlib import Path

from schemathesis.checks import not_a_server_error

from libs.common import nats as nats_helpers
from tests.index.conftest import index_settings, served
from tests.schema_fuzz import fuzz

EXAMPLES_PER_OPERATION = 25


async def test_schemathesis_finds_no_5xx_in_the_index(tmp_path: Path) -> None:
    settings = index_settings(tmp_path / "data")
    try:
        async with served(settings) as [url]:
            run = await asyncio.to_thread(fuzz, url, [not_a_server_error], EXAMPLES_PER_OPERATION)
    finally:
        await nats_helpers.delete_streams(settings)
    assert run.failures == []
    assert run.sent >= 10 * 10
    assert run.with_body >= 4 * 10
