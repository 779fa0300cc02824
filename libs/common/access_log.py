"""One JSON line per answered request, so an operator can see whether a client's call arrived.

Each line has the method, the path (never the query string: it carries client and user keys),
the status, the time taken, the application the endpoint resolved from its client key, the user
agent and the request id. ``ACOUSTID_ACCESS_LOG_SAMPLE_RATE`` keeps that share of the lines
(1 = all, 0 = off) for busy instances; health probes and ``/metrics`` scrapes that succeed are
left out, since they arrive every few seconds and say nothing about clients.
"""

from __future__ import annotations

import logging
import random
from contextvars import ContextVar
from dataclasses import dataclass

log = logging.getLogger("access")

_QUIET_PATHS = ("/_health", "/metrics")


@dataclass
class RequestFacts:
    """What the handler learns about the caller; one per request, filled in as it runs."""

    application_id: int | None = None


current: ContextVar[RequestFacts | None] = ContextVar("request_facts", default=None)


def note_application(application_id: int) -> None:
    """Called where a client key is resolved, so the request's access line names the app."""
    facts = current.get()
    if facts is not None:
        facts.application_id = application_id


def wanted(rate: float, path: str, status: int) -> bool:
    if rate <= 0:
        return False
    if status < 400 and path.startswith(_QUIET_PATHS):
        return False
    return rate >= 1 or random.random() < rate


def write(
    method: str,
    path: str,
    status: int,
    seconds: float,
    facts: RequestFacts,
    user_agent: str | None,
    request_id: str,
) -> None:
    log.info(
        "%s %s %d",
        method,
        path,
        status,
        extra={
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "app_id": facts.application_id,
            "user_agent": user_agent,
            "request_id": request_id,  # also when a handler formats the record later
        },
    )
