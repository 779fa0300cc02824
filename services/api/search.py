"""Fingerprint search for lookups: index candidates, then compare2 against stored prints.

The index only votes on query terms; the score a client sees is ``compare2`` of the whole
fingerprints, as acoustid.org computes it in SQL, with the same duration window, threshold
and maximum offset. All queries of a request share one index round (concurrent over
shards), one database query and one worker-thread hop for the comparisons.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import ARRAY, Integer, any_, bindparam, select, true

from libs.chromaprint_cy.compare import compare2
from libs.chromaprint_cy.query import extract_query
from libs.common import fingerprint_codec
from libs.common.db import Database, Databases
from libs.common.errors import ErrorCode, WebServiceError
from libs.common.index_client import FAST_SEARCH, IndexClient, IndexUnavailable
from libs.common.models.fingerprint import Fingerprint, Track
from libs.common.settings import Settings
from services.api import metrics
from services.api.metadata import Link, as_links, links_of

log = logging.getLogger(__name__)

MAX_RESULTS = 10
"""``MAX_RESULTS_PER_FINGERPRINT_QUERY``: matches kept per fingerprint."""
MAX_FINGERPRINT_ID = 2**31 - 1
"""Fingerprint ids are ``int4``; the index, like fpindex, holds ids up to 2**32-1, so an id
above this one cannot be in the database and must not reach the query (which would fail)."""


@dataclass(frozen=True)
class FingerprintQuery:
    items: np.ndarray
    duration: int


@dataclass(frozen=True)
class Match:
    fingerprint_id: int
    track_id: int
    gid: str
    score: float


@dataclass(frozen=True)
class _Candidate:
    fingerprint_id: int
    track_id: int
    gid: str
    length: int
    items: np.ndarray
    links: list[Link] | None


@dataclass(frozen=True)
class SearchResults:
    matches: list[list[Match]]
    """Per query, best first."""
    links: dict[int, list[Link]]
    """MBID links of the matched tracks, when asked for."""


_COLUMNS = (
    Fingerprint.id,
    Fingerprint.track_id,
    Track.gid,
    Fingerprint.length,
    fingerprint_codec.binary(Fingerprint.fingerprint),
)
_BY_ID = Fingerprint.id == any_(bindparam("ids", type_=ARRAY(Integer)))
_LINKS = links_of(Fingerprint.track_id)
_CANDIDATES = select(*_COLUMNS).join(Track, Track.id == Fingerprint.track_id).where(_BY_ID)
_CANDIDATES_WITH_LINKS = (
    select(*_COLUMNS, _LINKS.c.mbids, _LINKS.c.counts)
    .join(Track, Track.id == Fingerprint.track_id)
    .join(_LINKS, true())
    .where(_BY_ID)
)
"""Built once: composing the statement per lookup cost more CPU than running it."""


def as_float4(score: float) -> float:
    """The score as PostgreSQL's float4 prints it (``0.929``, not ``0.92900002``)."""
    return float(str(np.float32(score)))


class Searcher:
    def __init__(self, index: IndexClient, databases: Databases, settings: Settings) -> None:
        self.index = index
        self.databases = databases
        self.threshold = settings.track_group_merge_threshold
        self.max_offset = settings.track_max_offset

    async def _candidates(self, queries: Sequence[FingerprintQuery]) -> list[list[int]]:
        """Candidate ids per query; a batch lookup asks each shard once for all its queries."""
        terms = [extract_query(q.items) for q in queries]
        searched = [t for t in terms if len(t)]
        try:
            answers = iter(
                await self.index.search_many(
                    searched, limit=FAST_SEARCH.limit, score_pct=FAST_SEARCH.score_pct
                )
            )
        except IndexUnavailable as exc:
            log.warning("lookup without index: %s", exc)
            raise WebServiceError(ErrorCode.SERVICE_UNAVAILABLE) from None
        return [[m.id for m in next(answers).matches] if len(t) else [] for t in terms]

    async def _load(self, ids: set[int], with_links: bool) -> dict[int, _Candidate]:
        """The candidates the database holds; the others (an index out of step with the
        database, or an id no fingerprint can have) are counted and ignored."""
        wanted = [i for i in ids if 0 < i <= MAX_FINGERPRINT_ID]
        if not wanted:
            metrics.UNKNOWN_CANDIDATES.inc(len(ids))
            return {}
        stmt = _CANDIDATES_WITH_LINKS if with_links else _CANDIDATES
        rows = await self.databases.fetch(Database.FINGERPRINT, stmt, {"ids": wanted})
        metrics.UNKNOWN_CANDIDATES.inc(len(ids) - len(rows))
        return {
            row[0]: _Candidate(
                row[0],
                row[1],
                str(row[2]),
                row[3],
                fingerprint_codec.from_binary(row[4]),
                as_links(row[5], row[6]) if with_links else None,
            )
            for row in rows
        }

    def _score(
        self,
        queries: Sequence[FingerprintQuery],
        candidate_ids: list[list[int]],
        loaded: dict[int, _Candidate],
        max_diff: int,
    ) -> list[list[Match]]:
        """Per query: matches above the threshold in the duration window, one per track."""
        results = []
        for query, ids in zip(queries, candidate_ids, strict=True):
            scored = []
            for fid in ids:
                cand = loaded.get(fid)
                if cand is None or abs(cand.length - query.duration) > max_diff:
                    continue
                score = as_float4(compare2(query.items, cand.items, self.max_offset))
                if score > self.threshold:
                    scored.append(Match(fid, cand.track_id, cand.gid, score))
            scored.sort(key=lambda m: (-m.score, m.fingerprint_id))
            seen: set[int] = set()
            best = []
            for match in scored[:MAX_RESULTS]:
                if match.track_id not in seen:
                    seen.add(match.track_id)
                    best.append(match)
            results.append(best)
        return results

    async def search(
        self, queries: Sequence[FingerprintQuery], max_diff: int, with_links: bool = False
    ) -> SearchResults:
        """Matches per query; with ``with_links`` the matched tracks' MBID links too, read
        in the same statement as the candidate fingerprints."""
        if not queries:
            return SearchResults([], {})
        candidate_ids = await self._candidates(queries)
        loaded = await self._load({i for ids in candidate_ids for i in ids}, with_links)
        matches = await asyncio.to_thread(self._score, queries, candidate_ids, loaded, max_diff)
        links = {c.track_id: c.links for c in loaded.values() if c.links is not None}
        return SearchResults(matches, links)
