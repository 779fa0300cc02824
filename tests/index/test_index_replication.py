"""Replication edge: a stream trimmed past what a replica applied is reported, not ignored."""

from __future__ import annotations

import httpx
from prometheus_client import REGISTRY

from libs.common import index_messages
from libs.common import nats as nats_helpers
from libs.common.index_messages import Insert
from libs.common.nats import delete_streams
from tests.index.conftest import index_settings, running


async def test_trimmed_stream_is_reported_as_a_gap(tmp_path, caplog):
    settings = index_settings(tmp_path / "data")
    try:
        async with running(settings) as app:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://index") as c:
                body = {"changes": [{"insert": {"id": 1, "hashes": [16, 32]}}]}
                assert (await c.post("/main/_update", json=body)).status_code == 200
        nc = await nats_helpers.connect(settings, "index-tests")
        js = nc.jetstream()
        subject = nats_helpers.fpindex_subject(settings, 0)
        for i in (2, 3):
            await js.publish(
                subject, index_messages.encode([Insert(i, index_messages.check_terms([48]))])
            )
        await js.purge_stream(settings.stream(nats_helpers.FPINDEX))
        await nc.close()
        before = REGISTRY.get_sample_value("fpindex_replication_gaps_total") or 0
        async with running(settings):
            pass
        assert REGISTRY.get_sample_value("fpindex_replication_gaps_total") == before + 1
        assert "no longer holds sequences 2..3" in caplog.text
    finally:
        await delete_streams(settings)
