"""The batch's fingerprints go to FPINDEX as one message per shard, with a repeatable id."""

from __future__ import annotations

from typing import Any

import numpy as np

from libs.common import index_messages
from libs.common.index_messages import Insert
from libs.common.nats import fpindex_subject
from libs.common.settings import Settings
from services.worker.consumer import Consumer
from services.worker.importer import Outcome, Result


class FakeJetStream:
    def __init__(self) -> None:
        self.published: list[tuple[str, list[Any], str]] = []

    async def publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> None:
        changes = index_messages.decode(payload)
        self.published.append((subject, changes, headers[index_messages.MSG_ID_HEADER]))


class FakeNats:
    def __init__(self) -> None:
        self.js = FakeJetStream()

    def jetstream(self) -> FakeJetStream:
        return self.js


def result(sid: int, fp_id: int | None, seed: int, outcome: Outcome = Outcome.IMPORTED) -> Result:
    terms = np.random.default_rng(seed).integers(0, 2**32, 120, dtype=np.uint64)
    return Result(sid, outcome, fp_id, 1, terms.astype(np.uint32) if fp_id else None)


async def publish(results: list[Result]) -> list[tuple[str, list[Any], str]]:
    settings = Settings(index_urls=["http://a", "http://b"])
    nc = FakeNats()
    await Consumer(nc, settings, importer=None).publish_fingerprints(results)  # type: ignore[arg-type]
    return sorted(nc.js.published)


async def test_one_message_per_shard_with_each_fingerprint_once() -> None:
    results = [
        result(1, 10, 1),
        result(2, 11, 2),
        result(3, 12, 3, Outcome.ALREADY),
        result(4, 10, 4),  # reused fingerprint 10: the later terms win, sent once
        result(5, None, 5, Outcome.REJECTED),
    ]
    published = await publish(results)
    settings = Settings(index_urls=["http://a", "http://b"])
    assert [subject for subject, _, _ in published] == [
        fpindex_subject(settings, 0),
        fpindex_subject(settings, 1),
    ]
    (_, even, _), (_, odd, _) = published
    assert even == [Insert(10, results[3].terms), Insert(12, results[2].terms)]  # type: ignore[arg-type]
    assert odd == [Insert(11, results[1].terms)]  # type: ignore[arg-type]


async def test_message_ids_repeat_for_the_same_fingerprints() -> None:
    first = await publish([result(1, 10, 1), result(2, 12, 2)])
    again = await publish([result(2, 12, 2), result(1, 10, 1)])
    other = await publish([result(1, 10, 1), result(2, 14, 2)])
    assert [msg_id for _, _, msg_id in first] == [msg_id for _, _, msg_id in again]
    assert first[0][2] != other[0][2]
