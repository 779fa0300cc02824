"""schemathesis over a running service's own OpenAPI schema, shared by the services' tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase


@dataclass
class FuzzRun:
    failures: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    with_body: int = 0

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())


def fuzz(url: str, checks: list[Callable[..., Any]], examples: int) -> FuzzRun:
    """Runs every operation's strategy against ``url``; what failed, what came back."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    run = FuzzRun()
    for result in schema.get_all_operations():
        operation = result.ok()

        @hypothesis.settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @hypothesis.given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            response = case.call_and_validate(base_url=url, checks=checks)
            run.statuses[response.status_code] = run.statuses.get(response.status_code, 0) + 1
            run.with_body += case.body is not None

        try:
            check()
        except Exception as exc:
            run.failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    return run
