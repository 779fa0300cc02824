"""Scatter-gather search over the index shards, for the API and the worker.

Every shard holds the documents with ``id % shards == shard``, so a lookup asks all of them
at once and merges their top lists by (score desc, id asc). A shard that fails or misses the
deadline is logged, counted in ``index_shard_failures_total`` and named in the result, never
silently left out: the caller decides whether a partial answer is good enough.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import msgpack
import numpy as np
from prometheus_client import Counter

from libs.common import fingerprint_codec
from libs.common.settings import Settings

log = logging.getLogger(__name__)

MSGPACK = "application/vnd.msgpack"
T = TypeVar("T")

Terms = Sequence[int] | np.ndarray
"""A query's terms: uint32 items (``extract_query``'s answer) or plain ints."""


@dataclass(frozen=True)
class Depth:
    """How many candidates a search keeps, and the share of the best score each must reach:
    the original's two searches, so every caller asks for one of them by name."""

    limit: int
    score_pct: int


FAST_SEARCH = Depth(limit=10, score_pct=40)
"""Lookups: a few strong candidates, each compared in full afterwards."""
FULL_SEARCH = Depth(limit=20, score_pct=10)
"""Imports and the track-merge job: every plausible match of the same audio."""

SHARD_FAILURES = Counter(
    "index_shard_failures_total", "Index shard requests that failed or timed out", ["shard"]
)


class IndexUnavailable(Exception):
    """No shard answered; there is no partial result to return."""


@dataclass(frozen=True)
class Match:
    id: int
    score: int


@dataclass
class SearchResult:
    matches: list[Match]
    failed_shards: list[int] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.failed_shards


class IndexClient:
    """One pooled HTTP client per process; ``close`` at shutdown."""

    def __init__(
        self, urls: Sequence[str], index: str = "main", timeout: float = 1.0, secret: str = ""
    ) -> None:
        if not urls:
            raise ValueError("no index shards configured")
        self.urls = list(urls)
        self.index = index
        self.timeout = timeout
        self.secret = secret
        self._http: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        """Made on first use, inside the event loop that will use it (aiohttp's rule).

        aiohttp rather than httpx: per search httpx took ~40 % of the worker's CPU and ~22 %
        of the API's (profiled), several times what the index spends answering.
        """
        if self._http is None:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
                headers={
                    "content-type": MSGPACK,
                    "accept": MSGPACK,
                    **({"x-index-secret": self.secret} if self.secret else {}),
                },
            )
        return self._http

    @classmethod
    def from_settings(cls, settings: Settings) -> IndexClient:
        return cls(
            settings.index_urls, settings.index_name, settings.index_timeout, settings.index_secret
        )

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def __aenter__(self) -> IndexClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def search(
        self,
        query: Terms,
        *,
        limit: int = 10,
        min_score: int | None = None,
        score_pct: int | None = None,
    ) -> SearchResult:
        """Top ``limit`` matches over all shards; raises IndexUnavailable if none answered.

        The relative cut (``score_pct`` of the best score) is applied again after merging,
        because each shard only knew its own best score.
        """
        body = _query(query, limit, min_score, score_pct)
        body["t"] = int(self.timeout * 1000)
        answers = await self._gather("_search", msgpack.packb(body), _matches)
        return _merge(answers, limit, score_pct)

    async def search_many(
        self,
        queries: Sequence[Terms],
        *,
        limit: int = 10,
        min_score: int | None = None,
        score_pct: int | None = None,
    ) -> list[SearchResult]:
        """:meth:`search` for each query, in one ``_msearch`` request per shard.

        A shard that fails leaves every query's answer partial (named in each result).
        """
        if not queries:
            return []
        body = {
            "q": [_query(q, limit, min_score, score_pct) for q in queries],
            "t": int(self.timeout * 1000),
        }

        def parse(data: Any) -> list[list[Match]]:
            answers = [_matches(answer) for answer in data["r"]]
            if len(answers) != len(queries):
                raise ValueError(f"{len(answers)} answers to {len(queries)} queries")
            return answers

        answers = await self._gather("_msearch", msgpack.packb(body), parse)
        return [
            _merge([None if a is None else a[i] for a in answers], limit, score_pct)
            for i in range(len(queries))
        ]

    async def _gather(
        self, route: str, payload: bytes, parse: Callable[[Any], T]
    ) -> list[T | None]:
        """Every shard's parsed answer, None for a shard that failed; raises IndexUnavailable
        if none answered."""
        answers = await asyncio.gather(
            *(self._shard(shard, url, route, payload, parse) for shard, url in enumerate(self.urls))
        )
        if all(answer is None for answer in answers):
            raise IndexUnavailable(f"all {len(answers)} index shards failed")
        return answers

    async def _shard(
        self, shard: int, url: str, route: str, payload: bytes, parse: Callable[[Any], T]
    ) -> T | None:
        try:
            async with self._session().post(
                f"{url.rstrip('/')}/{self.index}/{route}", data=payload
            ) as resp:
                resp.raise_for_status()
                return parse(msgpack.unpackb(await resp.read()))
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError) as exc:
            SHARD_FAILURES.labels(str(shard)).inc()
            log.warning("index shard %d (%s) failed: %r", shard, url, exc)
            return None


def _query(
    query: Terms, limit: int, min_score: int | None, score_pct: int | None
) -> dict[str, Any]:
    """One query in the index's msgpack spelling."""
    body: dict[str, Any] = {"q": fingerprint_codec.to_wire(query), "l": limit}
    if min_score is not None:
        body["m"] = min_score
    if score_pct is not None:
        body["s"] = score_pct
    return body


def _matches(data: Any) -> list[Match]:
    return [Match(int(r["i"]), int(r["s"])) for r in data["r"]]


def _merge(answers: list[list[Match] | None], limit: int, score_pct: int | None) -> SearchResult:
    """The shards' top lists as one, by (score desc, id asc), cut again relative to the best."""
    failed = [shard for shard, answer in enumerate(answers) if answer is None]
    merged = sorted(
        (m for answer in answers if answer for m in answer), key=lambda m: (-m.score, m.id)
    )
    if merged:
        cut = merged[0].score * (10 if score_pct is None else score_pct) // 100
        merged = [m for m in merged if m.score >= cut]
    return SearchResult(merged[:limit], failed)
