"""The SUBMISSIONS message, as the API (and the outbox sweep) publish it and the worker reads it.

A message is the submission id in ASCII decimal, with ``Nats-Msg-Id`` set to the same id:
the row in ``ingest.submission`` is the truth, the message only says "import this one", and
a republish within the stream's dedupe window is stored once.
"""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import PubAck

from libs.common.nats import submissions_subject
from libs.common.settings import Settings

MSG_ID_HEADER = "Nats-Msg-Id"
PUBLISH_TIMEOUT = 2.0


def encode(submission_id: int) -> tuple[bytes, dict[str, str]]:
    return str(submission_id).encode(), {MSG_ID_HEADER: str(submission_id)}


def decode(payload: bytes) -> int:
    """The submission id of a message; ``ValueError`` for anything else."""
    text = payload.decode("ascii")
    if not text.isdigit():
        raise ValueError(f"not a submission id: {text[:40]!r}")
    return int(text)


async def publish(js: JetStreamContext, settings: Settings, submission_id: int) -> PubAck:
    payload, headers = encode(submission_id)
    return await js.publish(
        submissions_subject(settings), payload, timeout=PUBLISH_TIMEOUT, headers=headers
    )
