"""The public web service (``/v2/lookup``, ``/v2/submit``, ...), as a FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from libs.common.db import Database
from libs.common.service import build_resources, create_service_app
from libs.common.settings import Settings

DATABASES = (Database.APP, Database.FINGERPRINT, Database.INGEST)


def create_app(settings: Settings) -> FastAPI:
    resources = build_resources(settings, "api", DATABASES, uses_redis=True, uses_nats=True)
    return create_service_app(
        resources,
        title="AcoustID web service",
        description="Fingerprint lookups and submissions, compatible with acoustid.org v2.",
    )
