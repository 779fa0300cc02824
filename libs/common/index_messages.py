"""The FPINDEX message: a batch of index changes, as the worker and the index agree on it.

One message is a msgpack map ``{"changes": [change, ...]}`` published on
``fpindex.<shard>`` where every change's id satisfies ``id % shards == shard``. A change is
``{"op": "insert", "id": n, "terms": <bin: little-endian u32 array>}`` (an insert of an
existing id replaces it), ``{"op": "delete", "id": n}`` or
``{"op": "set", "values": {str: str}}`` (index attributes). ``terms`` may also be a plain
list of integers, for hand-written publishers. The publisher sets ``Nats-Msg-Id`` so a
retried publish within the stream's dedupe window is stored once; the stream sequence of
the message becomes the index version.

msgpack with binary terms because a 120-term insert is then 480 bytes of terms that decode
with one ``np.frombuffer``, where integer lists cost a parse per term on every replica.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgpack
import numpy as np

MAX_TERMS = 4096
MAX_ID = 0xFFFFFFFF
MSG_ID_HEADER = "Nats-Msg-Id"


class InvalidChange(ValueError):
    """A change no index may apply; ``name`` is the anchor's error name for the API to answer."""

    def __init__(self, message: str, name: str = "BadRequest") -> None:
        super().__init__(message)
        self.name = name


@dataclass(frozen=True)
class Insert:
    id: int
    terms: np.ndarray = field(compare=False)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Insert)
            and self.id == other.id
            and np.array_equal(self.terms, other.terms)
        )

    def __hash__(self) -> int:
        return hash(("insert", self.id))


@dataclass(frozen=True)
class Delete:
    id: int


@dataclass(frozen=True)
class SetAttributes:
    values: dict[str, str]


Change = Insert | Delete | SetAttributes


def check_id(value: Any) -> int:
    """A document id: an integer in 1..2**32-1 (0 is the anchor's "unset" sentinel)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise InvalidChange(f"invalid fingerprint id {value!r}", "InvalidFingerprintId")
    return value


def check_terms(values: Any) -> np.ndarray:
    """Terms as uint32; anything that is not a list of integers in 0..2**32-1 is refused.

    numpy does the checking: a per-item Python check would cost more than indexing itself.
    """
    if not isinstance(values, list | tuple | np.ndarray):
        raise InvalidChange("terms must be a list of integers")
    if len(values) > MAX_TERMS:
        raise InvalidChange(f"more than {MAX_TERMS} terms")
    if isinstance(values, np.ndarray) and values.dtype == np.uint32:
        return values
    if len(values) == 0:
        return np.zeros(0, dtype=np.uint32)
    return check_terms_flat(list(values))


def insert(id: Any, terms: Any) -> Insert:
    return Insert(check_id(id), check_terms(terms))


def delete(id: Any) -> Delete:
    return Delete(check_id(id))


def set_attributes(values: Any) -> SetAttributes:
    if not isinstance(values, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in values.items()
    ):
        raise InvalidChange("attributes must map strings to strings")
    return SetAttributes(dict(values))


def check_terms_many(lists: list[Any]) -> list[np.ndarray]:
    """:func:`check_terms` for many lists at once: one numpy conversion for the whole batch."""
    if all(isinstance(v, list) and len(v) <= MAX_TERMS for v in lists):
        lengths = [len(v) for v in lists]
        flat = [t for v in lists for t in v]
        if flat:
            checked = check_terms_flat(flat)
            return np.split(checked, np.cumsum(lengths[:-1]))
    return [check_terms(v) for v in lists]


def check_terms_flat(flat: list[Any]) -> np.ndarray:
    try:
        arr = np.asarray(flat)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidChange("terms must be a list of integers") from exc
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise InvalidChange("terms must be a list of uint32 integers")
    if int(arr.min()) < 0 or int(arr.max()) > MAX_ID:
        raise InvalidChange("a term is outside 0..2**32-1")
    return arr.astype(np.uint32)


def _terms_from_wire(value: Any) -> np.ndarray:
    if isinstance(value, bytes):
        if len(value) % 4 or len(value) > 4 * MAX_TERMS:
            raise InvalidChange("binary terms must be whole little-endian uint32s")
        return np.frombuffer(value, dtype="<u4").astype(np.uint32)
    return check_terms(value)


def change_to_dict(change: Change) -> dict[str, Any]:
    if isinstance(change, Insert):
        return {"op": "insert", "id": change.id, "terms": change.terms.astype("<u4").tobytes()}
    if isinstance(change, Delete):
        return {"op": "delete", "id": change.id}
    return {"op": "set", "values": change.values}


def change_from_dict(data: Any) -> Change:
    if not isinstance(data, dict):
        raise InvalidChange("a change must be a map")
    op = data.get("op")
    if op == "insert":
        return Insert(check_id(data.get("id")), _terms_from_wire(data.get("terms")))
    if op == "delete":
        return delete(data.get("id"))
    if op == "set":
        return set_attributes(data.get("values"))
    raise InvalidChange(f"unknown op {op!r}")


def encode(changes: Iterable[Change]) -> bytes:
    return msgpack.packb({"changes": [change_to_dict(c) for c in changes]})


def decode(payload: bytes) -> list[Change]:
    """The changes of one message; a malformed message raises :class:`InvalidChange`."""
    try:
        data = msgpack.unpackb(payload, strict_map_key=False)
    except (ValueError, msgpack.UnpackException) as exc:
        raise InvalidChange(f"not msgpack: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("changes"), list):
        raise InvalidChange("message must be a map with a 'changes' list")
    return [change_from_dict(c) for c in data["changes"]]


def shard_of(id: int, shards: int) -> int:
    return id % shards


def split_by_shard(changes: Sequence[Change], shards: int) -> dict[int, list[Change]]:
    """Changes grouped by the shard that owns them, order kept; attributes go to every shard."""
    groups: dict[int, list[Change]] = {}
    for change in changes:
        if isinstance(change, SetAttributes):
            for shard in range(shards):
                groups.setdefault(shard, []).append(change)
        else:
            groups.setdefault(shard_of(change.id, shards), []).append(change)
    return groups


def new_msg_id() -> str:
    return uuid.uuid4().hex
