"""schemathesis over the index's own OpenAPI schema, request bodies included: no 5xx."""

from __future__ import annotations

import asyncio
from pathlib import Path

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error

from libs.common import nats as nats_helpers
from tests.index.conftest import index_settings, served

EXAMPLES_PER_OPERATION = 25


def fuzz(url: str) -> tuple[list[str], int, int]:
    """Failures as text, requests sent, and how many of those carried a body."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    failures: list[str] = []
    sent = with_body = 0
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
            nonlocal sent, with_body
            case.call_and_validate(base_url=url, checks=[not_a_server_error])
            sent += 1
            with_body += case.body is not None

        try:
            check()
        except Exception as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    return failures, sent, with_body


async def test_schemathesis_finds_no_5xx_in_the_index(tmp_path: Path) -> None:
    settings = index_settings(tmp_path / "data")
    try:
        async with served(settings) as [url]:
            failures, sent, with_body = await asyncio.to_thread(fuzz, url)
    finally:
        await nats_helpers.delete_streams(settings)
    assert failures == []
    assert sent >= 10 * 10
    assert with_body >= 4 * 10
