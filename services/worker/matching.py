"""Which track a new fingerprint belongs to, by the original importer's rules (§4.3 step 6).

Pure functions over fingerprints already loaded, so the rules are tested without servers and
the CPU-heavy comparisons run in a worker thread, off the event loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from libs.chromaprint_cy.compare import compare2
from libs.common.settings import Settings


@dataclass(frozen=True)
class Candidate:
    fingerprint_id: int
    track_id: int
    length: int
    items: np.ndarray


@dataclass(frozen=True)
class Match:
    fingerprint_id: int
    track_id: int
    score: float


@dataclass(frozen=True)
class Rules:
    track_threshold: float
    group_threshold: float
    fingerprint_threshold: float
    max_length_diff: int
    max_offset: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        return cls(
            track_threshold=settings.track_merge_threshold,
            group_threshold=settings.track_group_merge_threshold,
            fingerprint_threshold=settings.fingerprint_merge_threshold,
            max_length_diff=settings.fingerprint_max_length_diff,
            max_offset=settings.track_max_offset,
        )


def score_candidates(
    items: np.ndarray, length: int, candidates: Iterable[Candidate], rules: Rules
) -> list[Match]:
    """Candidates at or above the track threshold and within the duration window, best first."""
    matches = []
    for cand in candidates:
        if abs(cand.length - length) > rules.max_length_diff:
            continue
        score = compare2(items, cand.items, rules.max_offset)
        if score >= rules.track_threshold:
            matches.append(Match(cand.fingerprint_id, cand.track_id, score))
    matches.sort(key=lambda m: (-m.score, m.fingerprint_id))
    return matches


def eligible(items: np.ndarray, length: int, track: Sequence[Candidate], rules: Rules) -> bool:
    """A track takes the fingerprint only if it resembles every fingerprint the track has."""
    return all(
        abs(fp.length - length) <= rules.max_length_diff
        and compare2(items, fp.items, rules.max_offset) >= rules.group_threshold
        for fp in track
    )


def first_tracks(matches: Sequence[Match]) -> list[Match]:
    """The best match of each track, in score order."""
    seen: set[int] = set()
    result = []
    for match in matches:
        if match.track_id not in seen:
            seen.add(match.track_id)
            result.append(match)
    return result


def choose(
    items: np.ndarray,
    length: int,
    candidates: Iterable[Candidate],
    members: dict[int, list[Candidate]],
    rules: Rules,
) -> Match | None:
    """The match the importer acts on: the best-scoring track that takes the fingerprint."""
    for match in first_tracks(score_candidates(items, length, candidates, rules)):
        if eligible(items, length, members.get(match.track_id, []), rules):
            return match
    return None
