"""The line protocol on its own port, as acoustid-server's old index client speaks it."""

from __future__ import annotations

import asyncio

import numpy as np


def fp(seed: int, n: int = 120) -> list[int]:
    rng = np.random.default_rng(seed)
    return (rng.choice(2**28, n, replace=False).astype(np.uint32) << np.uint32(4)).tolist()


def signed(values: list[int]) -> str:
    return ",".join(str(v - 2**32 if v >= 2**31 else v) for v in values)


class Line:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def ask(self, line: str | bytes) -> str:
        self.writer.write(line.encode() + b"\n" if isinstance(line, str) else line)
        await self.writer.drain()
        raw = await asyncio.wait_for(self.reader.readline(), 10)
        assert raw.endswith(b"\r\n")
        return raw[:-2].decode()


async def connect(app) -> Line:
    port = app.state.resources.settings.index_legacy_port
    return Line(*await asyncio.open_connection("127.0.0.1", port))


async def test_insert_commit_search_with_signed_terms(index_app):
    conn = await connect(index_app)
    assert await conn.ask("echo hello world") == "OK hello world"
    assert await conn.ask("begin") == "OK "
    for i in (1, 2, 3):
        assert await conn.ask(f"insert {i} {signed(fp(i))}") == "OK "
    assert await conn.ask("set attribute max_document_id 3") == "OK "
    assert await conn.ask("commit") == "OK "
    assert await conn.ask(f"search {signed(fp(2))}") == "OK 2:120"
    assert await conn.ask("get max_document_id") == "OK 3"
    assert await conn.ask("get attribute max_results") == "OK 500"
    query = fp(1)[:30] + fp(3)[:90]
    assert await conn.ask(f"search {signed(query)}") == "OK 3:90 1:30"
    assert await conn.ask("set top_score_percent 50") == "OK "
    assert await conn.ask(f"search {signed(query)}") == "OK 3:90"


async def test_rollback_discards(index_app):
    conn = await connect(index_app)
    await conn.ask("begin")
    await conn.ask(f"insert 5 {signed(fp(5))}")
    assert await conn.ask("rollback") == "OK "
    assert await conn.ask(f"search {signed(fp(5))}") == "OK "


async def test_bad_lines_answer_err_and_change_nothing(index_app):
    conn = await connect(index_app)
    before = await conn.ask(f"search {signed(fp(9))}")
    assert await conn.ask("insert 1 1,2") == "ERR not in transaction"
    assert await conn.ask("commit") == "ERR not in transaction"
    assert await conn.ask("frobnicate") == "ERR unknown command"
    assert await conn.ask("search 1,x,3") == "ERR invalid fingerprint"
    assert await conn.ask("search") == "ERR missing arguments"
    assert await conn.ask("set max_document_id 4") == "ERR not in transaction"
    assert await conn.ask("begin") == "OK "
    assert await conn.ask("begin") == "ERR already in transaction"
    assert await conn.ask("insert 0 1,2") == "ERR invalid document id"
    assert await conn.ask("insert 1 99999999999999999999") == "ERR invalid fingerprint"
    assert await conn.ask("rollback") == "OK "
    assert await conn.ask(b"\xff\xfe\n") == "ERR unknown command"
    assert await conn.ask(f"search {signed(fp(9))}") == before
