"""fpindex's line protocol (port 6080), so an existing AcoustID server talks to us unchanged.

One command per line, answered ``OK <payload>`` or ``ERR <message>`` with CRLF. Searches use
the session's ``max_results``/``top_score_percent``/``timeout`` and a floor of 1, as the
anchor does. Fingerprints are comma-separated decimals; old clients send signed int32, so
any 64-bit integer is accepted and truncated to its low 32 bits. Inserts and index
attributes set inside ``begin``/``commit`` are published to FPINDEX as one message at commit.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import numpy as np

from libs.common import index_messages
from libs.common.index_messages import Change, InvalidChange
from services.index import api, kernel
from services.index.replication import WriteRefused
from services.index.store import Store

log = logging.getLogger(__name__)

MAX_LINE = 256 * 1024
SESSION_DEFAULTS = {
    "max_results": 500,
    "top_score_percent": 10,
    "timeout": 0,
    "idle_timeout": 60000,
}


class CommandError(Exception):
    """Answered as ``ERR <message>``; the session continues."""


@dataclass
class Session:
    attributes: dict[str, int] = field(default_factory=lambda: dict(SESSION_DEFAULTS))
    transaction: list[Change] | None = None


def parse_fingerprint(text: str) -> np.ndarray:
    """Comma-separated integers, parsed by numpy in one call rather than one ``int`` each."""
    parts = text.split(",")
    if len(parts) > index_messages.MAX_TERMS:
        raise CommandError("invalid fingerprint")
    try:
        values = np.array(parts, dtype=np.int64)
    except (ValueError, OverflowError):
        raise CommandError("invalid fingerprint") from None
    return (values & 0xFFFFFFFF).astype(np.uint32)


class Protocol:
    def __init__(self, state: api.IndexState) -> None:
        self.state = state

    async def handle(self, session: Session, line: str) -> str:
        """The payload of an ``OK`` answer; raises CommandError for ``ERR``."""
        tokens = line.split()
        if not tokens:
            raise CommandError("missing command")
        command, args = tokens[0].lower(), tokens[1:]
        if command == "echo":
            return " ".join(args)
        if command == "search":
            return await self.search(session, args)
        if command == "begin":
            if self.state.secret:
                raise CommandError("writes need the HTTP API and the index secret")
            if session.transaction is not None:
                raise CommandError("already in transaction")
            session.transaction = []
            return ""
        if command in ("commit", "rollback", "insert", "optimize", "cleanup"):
            if session.transaction is None:
                raise CommandError("not in transaction")
            if command == "insert":
                session.transaction.append(self.insert(args))
            elif command == "commit":
                changes, session.transaction = session.transaction, None
                await self.commit(changes)
            elif command == "rollback":
                session.transaction = None
            return ""
        if command == "get":
            return self.get(session, args)
        if command == "set":
            self.set(session, args)
            return ""
        raise CommandError("unknown command")

    async def search(self, session: Session, args: list[str]) -> str:
        if len(args) != 1:
            raise CommandError("missing arguments")
        store = self._store()
        attrs = session.attributes
        query = api.Query(
            parse_fingerprint(args[0]),
            limit=max(attrs["max_results"], 1),
            min_score=1,
            score_pct=min(max(attrs["top_score_percent"], 0), 100),
        )
        try:
            (results,) = await api.run_searches(store, [query], attrs["timeout"] / 1000)
        except kernel.SearchTimeout:
            raise CommandError("timeout exceeded") from None
        return " ".join(f"{i}:{s}" for i, s in results)

    def insert(self, args: list[str]) -> Change:
        if len(args) != 2:
            raise CommandError("missing arguments")
        try:
            return index_messages.insert(int(args[0]), parse_fingerprint(args[1]))
        except (ValueError, InvalidChange):
            raise CommandError("invalid document id") from None

    async def commit(self, changes: list[Change]) -> None:
        if not changes:
            return
        try:
            await api.write(self.state, changes)
        except (WriteRefused, api.ApiError) as exc:
            raise CommandError(f"commit failed: {exc.name}") from None

    def get(self, session: Session, args: list[str]) -> str:
        if args and args[0] == "attribute":
            args = args[1:]
        if len(args) != 1:
            raise CommandError("missing arguments")
        name = args[0]
        if name in session.attributes:
            return str(session.attributes[name])
        return self._store().snapshot.attributes.get(name, "")

    def set(self, session: Session, args: list[str]) -> None:
        if args and args[0] == "attribute":
            args = args[1:]
        if len(args) != 2:
            raise CommandError("missing arguments")
        name, value = args
        if name in session.attributes:
            try:
                session.attributes[name] = int(value)
            except ValueError:
                raise CommandError("invalid attribute value") from None
            return
        if session.transaction is None:
            raise CommandError("not in transaction")
        session.transaction.append(index_messages.set_attributes({name: value}))

    def _store(self) -> Store:
        if self.state.store is None:
            raise CommandError("index not ready")
        return self.state.store


async def serve(state: api.IndexState, host: str, port: int) -> asyncio.Server:
    protocol = Protocol(state)

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session()
        try:
            while True:
                idle = session.attributes["idle_timeout"] / 1000 or None
                try:
                    raw = await asyncio.wait_for(reader.readuntil(b"\n"), idle)
                except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
                    break
                except asyncio.LimitOverrunError:
                    writer.write(b"ERR line too long\r\n")
                    break
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                try:
                    answer = "OK " + await protocol.handle(session, line)
                except CommandError as exc:
                    answer = f"ERR {exc}"
                writer.write(answer.encode() + b"\r\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    return await asyncio.start_server(client, host, port, limit=MAX_LINE)
