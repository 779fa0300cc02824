"""The website (accounts, API keys, applications, track pages, statistics)."""

from __future__ import annotations

from fastapi import FastAPI

from libs.common.db import Database
from libs.common.service import build_resources, create_service_app
from libs.common.settings import Settings

DATABASES = (Database.APP, Database.FINGERPRINT)


def create_app(settings: Settings) -> FastAPI:
    resources = build_resources(
        settings, "web", DATABASES, uses_redis=True, uses_nats=False, read_replicas=True
    )
    return create_service_app(
        resources,
        title="AcoustID website",
        description="Accounts, API keys, applications, track pages and statistics.",
    )
