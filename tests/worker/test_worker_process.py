"""Submissions through real worker and index processes: imported once, searchable, even
when the worker is killed with SIGKILL five times in the middle of batches."""

from __future__ import annotations

import asyncio
import random

from sqlalchemy import func, select

from libs.common.db import Database, Databases
from libs.common.models.ingest import (
    Submission,
)
from libs.common.settings import Settings
from tests.processes import ServiceProcess
from tests.worker.importing import (
    assert_exactly_once,
    assert_searchable,
    random_fingerprints,
    scalar,
    submit_all,
    wait_imported,
)


async def test_submissions_are_imported_and_searchable(
    stack_settings: Settings,
    databases: Databases,
    app_ids: tuple[int, int],
    processes: dict[str, ServiceProcess],
) -> None:
    processes["worker"].start()
    fps = random_fingerprints(40, seed=1)
    await submit_all(databases, stack_settings, app_ids, fps)
    await wait_imported(databases, len(fps))
    await assert_exactly_once(databases, len(fps))
    await assert_searchable(stack_settings, databases, fps)


async def test_worker_killed_mid_batch_imports_everything_exactly_once(
    stack_settings: Settings,
    databases: Databases,
    app_ids: tuple[int, int],
    processes: dict[str, ServiceProcess],
) -> None:
    fps = random_fingerprints(5000, seed=2)
    await submit_all(databases, stack_settings, app_ids, fps)
    rng = random.Random(3)
    worker = processes["worker"]
    handled = select(func.count()).select_from(Submission).where(Submission.handled)
    interrupted = 0
    for _ in range(5):
        # Each kill lands once this start has imported something, however slowly the
        # machine starts a process: the property is "killed mid-work", not a time.
        worker.start()
        deadline = asyncio.get_running_loop().time() + 120
        while await scalar(databases, Database.INGEST, handled) == interrupted:
            assert asyncio.get_running_loop().time() < deadline, "the worker imports nothing"
            await asyncio.sleep(0.02)
        await asyncio.sleep(rng.uniform(0, 0.2))
        worker.kill()
        interrupted = await scalar(databases, Database.INGEST, handled)
    assert interrupted < len(fps), "the kills did not land in the middle of the work"
    worker.start()
    await wait_imported(databases, len(fps))
    await assert_exactly_once(databases, len(fps))
    await assert_searchable(stack_settings, databases, fps)
