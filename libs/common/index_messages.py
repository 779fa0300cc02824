"""The FPINDEX message: a batch of index changes, as the worker and the index agree on it.

One message is published on ``fpindex.<shard>`` where every change's id satisfies
``id % shards == shard``; the stream sequence of the message becomes the index version. The
publisher sets ``Nats-Msg-Id`` so a retried publish within the stream's dedupe window is
stored once.

The payload is a packed batch, every number little-endian::

    b"FPB1", u32 changes, u32 terms, u32 attribute bytes
    ids      changes x u32      (document ids, in the order the changes were made)
    lengths  changes x u32      (terms per change; 0 for a delete)
    kinds    changes x u8       (0 insert, 1 delete), zero-padded to a multiple of 4
    terms    terms x u32        (every insert's terms, in order)
    attributes                  (msgpack map str -> str, index attributes set by the batch)

An insert of an existing id replaces it, and within a batch the last change of an id wins.
A replica turns the arrays into a segment with a few numpy calls, with no Python object per
document or term; the 1000-document batches of a bulk load are ~490 kB.

Messages written before that format, a msgpack map ``{"changes": [change, ...]}`` of
``{"op": "insert", "id": n, "terms": <bin: u32 LE> or [int]}``, ``{"op": "delete", "id": n}``
and ``{"op": "set", "values": {str: str}}``, are still read, so a stream that holds them
replays after an upgrade; upgrade the index replicas before the writers.
"""

from __future__ import annotations

import contextlib
import struct
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import msgpack
import numpy as np

MAX_TERMS = 4096
MAX_ID = 0xFFFFFFFF
MSG_ID_HEADER = "Nats-Msg-Id"
MAGIC = b"FPB1"
HEADER = struct.Struct("<4sIII")
INSERT, DELETE = 0, 1


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
    """:func:`check_terms` for many lists at once: one numpy conversion for the whole batch.

    Lists of one length (fingerprint terms nearly always are) convert as one 2-D array;
    anything irregular goes through the per-list path, which names what is wrong.
    """
    if not lists or not all(isinstance(v, list) and 0 < len(v) <= MAX_TERMS for v in lists):
        return [check_terms(v) for v in lists]
    if len({len(v) for v in lists}) == 1:
        arr = None
        with contextlib.suppress(ValueError, TypeError, OverflowError):
            arr = np.asarray(lists)
        if arr is None or arr.ndim != 2 or arr.dtype.kind not in "iu":
            return [check_terms(v) for v in lists]
        if int(arr.min()) < 0 or int(arr.max()) > MAX_ID:
            raise InvalidChange("a term is outside 0..2**32-1")
        return list(arr.astype(np.uint32))
    lengths = [len(v) for v in lists]
    checked = check_terms_flat([t for v in lists for t in v])
    return np.split(checked, np.cumsum(lengths[:-1]))


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


@dataclass(frozen=True, eq=False)
class Batch:
    """Changes as packed arrays: what an ``_update`` body, a message and a segment share.

    ``ids``, ``kinds`` and ``lengths`` have one entry per insert or delete, in order;
    ``terms`` holds every insert's terms back to back; ``attributes`` is what the batch's
    attribute changes leave set (they are independent of documents, so order between the
    two does not matter).
    """

    ids: np.ndarray
    kinds: np.ndarray
    lengths: np.ndarray
    terms: np.ndarray
    attributes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_changes(cls, changes: Iterable[Change]) -> Batch:
        ids, kinds, lengths, terms = [], [], [], []
        attributes: dict[str, str] = {}
        for change in changes:
            if isinstance(change, Insert):
                ids.append(change.id)
                kinds.append(INSERT)
                lengths.append(len(change.terms))
                terms.append(change.terms)
            elif isinstance(change, Delete):
                ids.append(change.id)
                kinds.append(DELETE)
                lengths.append(0)
            else:
                attributes.update(change.values)
        return cls(
            np.array(ids, dtype=np.uint32),
            np.array(kinds, dtype=np.uint8),
            np.array(lengths, dtype=np.uint32),
            np.concatenate(terms).astype(np.uint32) if terms else np.zeros(0, np.uint32),
            attributes,
        )

    @property
    def size(self) -> int:
        """Number of changes, the attributes counting as one."""
        return len(self.ids) + bool(self.attributes)

    @property
    def offsets(self) -> np.ndarray:
        out = np.zeros(len(self.lengths) + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=out[1:])
        return out

    def changes(self) -> list[Change]:
        """The batch as change objects (attributes last): for tests and small callers."""
        offsets = self.offsets
        out: list[Change] = []
        for i, (id, kind) in enumerate(zip(self.ids.tolist(), self.kinds.tolist(), strict=True)):
            if kind == INSERT:
                out.append(Insert(id, self.terms[offsets[i] : offsets[i + 1]].copy()))
            else:
                out.append(Delete(id))
        if self.attributes:
            out.append(SetAttributes(dict(self.attributes)))
        return out

    def select(self, keep: np.ndarray, attributes: bool = True) -> Batch:
        """The changes where ``keep`` is true, in order; attributes kept unless told not to."""
        terms = self.terms[np.repeat(keep, self.lengths)] if len(self.terms) else self.terms
        return Batch(
            self.ids[keep],
            self.kinds[keep],
            self.lengths[keep],
            terms,
            dict(self.attributes) if attributes else {},
        )

    def by_shard(self, shards: int) -> dict[int, Batch]:
        """The batch per shard that owns its ids, order kept; attributes go to every shard."""
        if shards == 1:
            return {0: self}
        owner = self.ids % np.uint32(shards)
        wanted = range(shards) if self.attributes else np.unique(owner).tolist()
        return {int(s): self.select(owner == s) for s in wanted}

    def chunks(self, max_bytes: int) -> list[Batch]:
        """The batch cut into consecutive pieces whose messages stay under ``max_bytes``."""
        attr_bytes = len(_pack_attributes(self.attributes))
        cost = np.cumsum(self.lengths.astype(np.int64) * 4 + 9)
        if not len(cost) or cost[-1] + attr_bytes + HEADER.size + 3 <= max_bytes:
            return [self]
        out, start = [], 0
        budget = max_bytes - HEADER.size - 3
        while start < len(cost):
            base = cost[start - 1] if start else 0
            end = max(int(np.searchsorted(cost, base + budget, side="right")), start + 1)
            keep = np.zeros(len(cost), dtype=bool)
            keep[start:end] = True
            out.append(self.select(keep, attributes=False))
            start = end
        if self.attributes:
            empty = np.zeros(len(cost), dtype=bool)
            out.append(self.select(empty))
        return out


def _pack_attributes(values: dict[str, str]) -> bytes:
    return msgpack.packb(values) if values else b""


def encode_batch(batch: Batch) -> bytes:
    attrs = _pack_attributes(batch.attributes)
    n = len(batch.ids)
    return b"".join(
        (
            HEADER.pack(MAGIC, n, len(batch.terms), len(attrs)),
            batch.ids.astype("<u4").tobytes(),
            batch.lengths.astype("<u4").tobytes(),
            batch.kinds.astype(np.uint8).tobytes(),
            b"\0" * (-n % 4),
            batch.terms.astype("<u4").tobytes(),
            attrs,
        )
    )


def decode_batch(payload: bytes) -> Batch:
    """The batch of one message, either format; a malformed one raises :class:`InvalidChange`.

    The arrays are read-only views of ``payload``.
    """
    if payload[:4] != MAGIC:
        return Batch.from_changes(_decode_legacy(payload))
    if len(payload) < HEADER.size:
        raise InvalidChange("batch header cut short")
    _, n, nterms, nattrs = HEADER.unpack_from(payload)
    kinds_at = HEADER.size + 8 * n
    terms_at = kinds_at + n + (-n % 4)
    attrs_at = terms_at + 4 * nterms
    if len(payload) != attrs_at + nattrs:
        raise InvalidChange(f"batch of {len(payload)} bytes, header says {attrs_at + nattrs}")
    ids = np.frombuffer(payload, "<u4", n, HEADER.size)
    lengths = np.frombuffer(payload, "<u4", n, HEADER.size + 4 * n)
    kinds = np.frombuffer(payload, np.uint8, n, kinds_at)
    terms = np.frombuffer(payload, "<u4", nterms, terms_at)
    if n and (
        not ids.all()
        or int(kinds.max()) > DELETE
        or int(lengths.max()) > MAX_TERMS
        or lengths[kinds == DELETE].any()
    ):
        raise InvalidChange("batch with an invalid id, kind or term count")
    if int(lengths.sum(dtype=np.int64)) != nterms:
        raise InvalidChange("batch term counts do not add up")
    attributes: Any = {}
    if nattrs:
        try:
            attributes = msgpack.unpackb(payload[attrs_at:])
        except (ValueError, msgpack.UnpackException) as exc:
            raise InvalidChange(f"batch attributes are not msgpack: {exc}") from exc
    return Batch(ids, kinds, lengths, terms, set_attributes(attributes).values)


def encode(changes: Iterable[Change]) -> bytes:
    return encode_batch(Batch.from_changes(changes))


def decode(payload: bytes) -> list[Change]:
    """The changes of one message (either format); malformed raises :class:`InvalidChange`."""
    return decode_batch(payload).changes()


def _decode_legacy(payload: bytes) -> list[Change]:
    try:
        data = msgpack.unpackb(payload, strict_map_key=False)
    except (ValueError, msgpack.UnpackException) as exc:
        raise InvalidChange(f"not msgpack: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("changes"), list):
        raise InvalidChange("message must be a map with a 'changes' list")
    return [change_from_dict(c) for c in data["changes"]]


def shard_of(id: int, shards: int) -> int:
    return id % shards


def new_msg_id() -> str:
    return uuid.uuid4().hex
