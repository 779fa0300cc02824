"""The scheduled-jobs process (``acoustid run cron``), with health and metrics on its own port."""

from __future__ import annotations

import logging
import sys

from fastapi import FastAPI

from libs.common.db import Database
from libs.common.server import run_service
from libs.common.service import Resources, build_resources, create_service_app
from libs.common.settings import Settings

log = logging.getLogger(__name__)

DATABASES = (Database.APP, Database.FINGERPRINT, Database.INGEST)


async def _start(resources: Resources) -> None:
    log.info("scheduled jobs arrive with the worker issue; serving health only")


def create_app(settings: Settings) -> FastAPI:
    resources = build_resources(settings, "cron", DATABASES, uses_redis=True, uses_nats=True)
    return create_service_app(
        resources,
        title="AcoustID scheduled jobs",
        description="Health and metrics of the scheduled jobs.",
        on_start=_start,
    )


def main(argv: list[str]) -> int:
    return run_service(create_app, "cron", lambda settings: settings.cron_metrics_port)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
