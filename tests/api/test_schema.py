"""Property test: schemathesis generates requests from our own OpenAPI schema; no answer is
a 5xx, and every answer matches the documented status codes, content types and shapes."""

from __future__ import annotations

import asyncio

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.world import World

EXAMPLES_PER_OPERATION = 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def fuzz(url: str) -> tuple[list[str], dict[int, int]]:
    """Runs every operation's strategy; returns the failures as text and the statuses seen."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    failures: list[str] = []
    statuses: dict[int, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()

        @hypothesis.settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @hypothesis.given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            response = case.call_and_validate(base_url=url, checks=CHECKS)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        try:
            check()
        except Exception as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    return failures, statuses


async def test_schemathesis_finds_no_5xx_and_no_schema_break(world: World) -> None:
    failures, statuses = await asyncio.to_thread(fuzz, world.url)
    assert failures == []
    assert sum(statuses.values()) >= 36 * 5
    assert statuses.get(200, 0) > 0 and statuses.get(400, 0) > 0
