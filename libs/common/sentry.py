"""Error reporting to Sentry, for every service, when ``ACOUSTID_SENTRY_DSN`` is set.

sentry-sdk's logging integration turns every ERROR log record (``log.exception`` in the
API's unhandled-error path, the worker's failed imports, ...) into an event, and its
Starlette integration catches what escapes a route; so the services need no calls of their
own, only this initialisation before they serve.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import sentry_sdk

from libs.common.settings import Settings


def _release() -> str | None:
    try:
        return f"acoustid-py@{version('acoustid-py')}"
    except PackageNotFoundError:
        return None


def init_sentry(settings: Settings, service: str) -> bool:
    """Starts reporting for this process; False (and nothing done) without a DSN."""
    if not settings.sentry_dsn:
        return False
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.sentry_environment,
        sample_rate=settings.sentry_sample_rate,
        traces_sample_rate=settings.sentry_traces_sample_rate,
        release=_release(),
        send_default_pii=False,
    )
    sentry_sdk.set_tag("service", service)
    return True
