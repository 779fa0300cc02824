"""The import worker process: JetStream consumers, with health and metrics on its own port."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from libs.common.db import Database
from libs.common.service import Resources, build_resources, create_service_app
from libs.common.settings import Settings

log = logging.getLogger(__name__)

DATABASES = (Database.APP, Database.FINGERPRINT, Database.INGEST)


async def _start(resources: Resources) -> None:
    log.info("submission import consumer arrives with the worker issue; serving health only")


def create_app(settings: Settings) -> FastAPI:
    resources = build_resources(settings, "worker", DATABASES, uses_redis=False, uses_nats=True)
    return create_service_app(
        resources,
        title="AcoustID import worker",
        description="Health and metrics of the submission import worker.",
        on_start=_start,
    )
