"""Request parameters as acoustid.org reads them: query string and form body merged.

Parameters are a multidict (``mbid`` and ``id`` repeat) and batch calls suffix every name
with ``.N``. Integers are parsed like the original's ``int()`` so ``" 12"`` still counts;
UUIDs must match the original's strict 8-4-4-4-12 pattern, all of the value (``re.match``
with ``$`` lets a trailing newline through to the database, which then refuses it).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from typing import TypeVar

from libs.common.errors import ErrorCode, WebServiceError

_UUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
MAX_SUFFIX_DIGITS = 9
_SUFFIX = re.compile(rf"(?P<base>[^.]+)(?:\.(?P<suffix>[0-9]{{1,{MAX_SUFFIX_DIGITS}}}))?")
"""A batch suffix is a number of at most nine digits; a name with a longer one is not a batch
item (a 5000-digit suffix would otherwise be an int too large for Python to parse)."""


class Params:
    """Ordered ``(name, value)`` pairs; ``get`` returns the first value like werkzeug does."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self.items: list[tuple[str, str]] = list(items)
        self._index: dict[str, list[str]] = {}
        for name, value in self.items:
            self._index.setdefault(name, []).append(value)

    def get(self, name: str) -> str | None:
        values = self._index.get(name)
        return values[0] if values else None

    def getall(self, name: str) -> list[str]:
        return list(self._index.get(name, ()))

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def names(self) -> list[str]:
        return list(self._index)

    def suffixes(self, *bases: str) -> list[str]:
        """Batch suffixes present for any of ``bases``: ``""`` first, then ``"0"``, ``"1"``..."""
        found: set[str] = set()
        for name in self._index:
            match = _SUFFIX.fullmatch(name)
            if match and match.group("base") in bases:
                found.add(match.group("suffix") or "")
        return sorted(found, key=lambda s: (s != "", int(s) if s else 0))


def suffixed(name: str, suffix: str) -> str:
    return f"{name}.{suffix}" if suffix else name


def parse_int(value: str | None) -> int | None:
    """``int(value)`` or None, the original's lenient ``type=int``."""
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def is_uuid(value: str) -> bool:
    return bool(_UUID.fullmatch(value))


def require_uuid(value: str, name: str) -> uuid.UUID:
    if not is_uuid(value):
        raise WebServiceError(ErrorCode.INVALID_UUID, name)
    return uuid.UUID(value)


def require(params: Params, name: str) -> str:
    """A required non-empty parameter, else error 2 naming it."""
    value = params.get(name)
    if not value:
        raise WebServiceError(ErrorCode.MISSING_PARAMETER, name)
    return value


T = TypeVar("T")


def parse_batch(suffixes: list[str], parse_one: Callable[[str], T]) -> list[tuple[str, T]]:
    """Each suffix parsed on its own; a bad one is dropped, unless nothing parsed so far and it
    is the last one, in which case its error is the answer (the original's batch rule)."""
    parsed: list[tuple[str, T]] = []
    for position, suffix in enumerate(suffixes):
        try:
            parsed.append((suffix, parse_one(suffix)))
        except WebServiceError:
            if not parsed and position == len(suffixes) - 1:
                raise
    return parsed
