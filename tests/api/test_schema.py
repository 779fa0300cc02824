"""Property test: schemathesis generates requests from our own OpenAPI schema; no answer is
a 5xx, and every answer matches the documented status codes, content types and shapes."""

from __future__ import annotations

import asyncio

from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.world import World
from tests.schema_fuzz import fuzz

EXAMPLES_PER_OPERATION = 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


async def test_schemathesis_finds_no_5xx_and_no_schema_break(world: World) -> None:
    run = await asyncio.to_thread(fuzz, world.url, CHECKS, EXAMPLES_PER_OPERATION)
    assert run.failures == []
    assert run.sent >= 36 * 5
    assert run.statuses.get(200, 0) > 0 and run.statuses.get(400, 0) > 0
