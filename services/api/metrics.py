"""The original's statsd metrics under Prometheus names (``api.requests_total`` ->
``api_requests_total``), so dashboards built for acoustid.org translate one to one."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter("api_requests", "Web service requests parsed", ["app", "request"])
DURATION = Histogram(
    "api_request_duration_seconds",
    "Time to answer a web service request",
    ["request"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
HANDLED_ERRORS = Counter(
    "api_handled_errors", "Requests answered with a numbered error", ["code", "request"]
)
UNHANDLED_ERRORS = Counter(
    "api_unhandled_errors", "Requests that failed unexpectedly (error 5)", ["request", "cause"]
)
RATE_LIMITED = Counter(
    "api_rate_limit_exceeded", "Requests refused by a rate limit bucket", ["bucket", "app"]
)
LOOKUP_SEARCHES = Counter("api_lookup_searches", "Fingerprint searches run by lookups")
LOOKUP_MATCHES = Counter("api_lookup_matches", "Fingerprint searches that found a track")
UNKNOWN_CANDIDATES = Counter(
    "api_lookup_unknown_candidates",
    "Index candidates the fingerprint database does not hold (ignored)",
)
NEW_SUBMISSIONS = Counter("api_new_submissions", "Submission rows stored")
UNPUBLISHED_SUBMISSIONS = Counter(
    "api_unpublished_submissions",
    "Stored submissions whose NATS publish failed (left to the sweep)",
)


def app_label(application_id: int | None) -> str:
    """The ``app`` label: the application id, or ``none`` for endpoints that take no key."""
    return "none" if application_id is None else str(application_id)


def error_cause(exc: BaseException) -> str:
    """The original's guess at what broke, from the exception's module and text."""
    text = f"{type(exc).__module__} {exc!r}".lower()
    if "redis" in text:
        return "redis"
    if "postgres" in text or "asyncpg" in text or "sqlalchemy" in text:
        return "postgres"
    return "unknown"
