"""fpindex's HTTP API: its routes, defaults, limits, error names and body encodings.

Bodies are JSON or msgpack. The request's ``Content-Type`` decides how it is read (no header
with a body means msgpack, anything else is 415); the response follows ``Accept`` when it
names one of the two, else mirrors the request. msgpack bodies use the first letter of each
field name (``{"q": [...], "l": 10}``), JSON the full names, as the anchor does.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import msgpack
import numpy as np
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from libs.common import index_messages
from libs.common.index_messages import Batch, Change, Insert, InvalidChange
from libs.common.routing import Route, path_parameters
from services.index import kernel, metrics, update_decoder
from services.index.replication import Replicator, WriteRefused
from services.index.store import Store

JSON = "application/json"
MSGPACK = "application/vnd.msgpack"
MSGPACK_ALIASES = {MSGPACK, "application/msgpack", "application/x-msgpack"}
MAX_BODY = 16 * 1024 * 1024
MAX_QUERY_TERMS = index_messages.MAX_TERMS
DEFAULT_LIMIT, MAX_LIMIT = 40, 100
DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS = 500, 10_000
DEFAULT_SCORE_PCT = 10
MAX_QUERIES = 1000  # per _msearch: bounds the time one request holds a search thread
MAX_REQUEST_TERMS = 120_000
"""Terms in all the queries of one ``_msearch``: a thousand 120-term fingerprints (the
worker's batches are 128); 1000 x 4096 terms took seconds of search thread."""
SEARCH_CHUNK_TERMS = 4096
"""Terms searched per executor job: a big ``_msearch`` is run a chunk at a time, so the
small searches queued behind it wait for one chunk (milliseconds), not for all of it."""
MAX_SCORE = 0xFFFFFFFF
MAX_ID_DIGITS = 10
SECRET_HEADER = "x-index-secret"
# fpindex reads at most 4 blocks of ~115 postings of a term per file segment; 500 is that cap.
MAX_POSTINGS_PER_TERM = 500
INDEX_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
GENERATION = 1
SNAPSHOT_CHUNK = 1 << 20


# One search thread per core: more would only queue on the GIL between kernel calls and
# turn a 1 ms search into a 100 ms one under load; waiting here is fair (FIFO) and cheap.
SEARCH_POOL = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="search")


class ApiError(Exception):
    def __init__(self, name: str, status: int) -> None:
        super().__init__(name)
        self.name = name
        self.status = status


@dataclass
class IndexState:
    """What the routes need; ``store`` and ``replicator`` are None until the index has loaded."""

    name: str
    write_timeout: float
    secret: str = ""
    """Writes need it when set (ACOUSTID_INDEX_SECRET)."""
    store: Store | None = None
    replicator: Replicator | None = None
    load_error: str | None = None


def min_score_default(query_length: int) -> int:
    """fpindex's floor: 5 % of the raw (pre-dedupe) query length, rounded up."""
    return (query_length + 19) // 20


def _media(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


class Body:
    """A decoded request body that reads fields by full (JSON) or first-letter (msgpack) name."""

    def __init__(self, data: dict[str, Any], msgpack_keys: bool) -> None:
        self.data = data
        self.short = msgpack_keys

    def get(self, name: str, default: Any = None) -> Any:
        return self.data.get(name[0] if self.short else name, default)


async def _read_limited(request: Request) -> bytes:
    """The body, refused as soon as it passes ``MAX_BODY``: a chunked upload has no length
    to check first, and reading it whole would let one request take any amount of memory."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_BODY:
        raise ApiError("RequestTooLarge", 413)
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiError("RequestTooLarge", 413)
        parts.append(chunk)
    return b"".join(parts)


async def read_body(request: Request) -> tuple[Body, str]:
    raw, fmt = await read_raw(request)
    return parse_body(raw, fmt), fmt


async def read_raw(request: Request) -> tuple[bytes, str]:
    """The body's bytes and the format to read it in."""
    kind = _media(request.headers.get("content-type"))
    if kind and kind != JSON and kind not in MSGPACK_ALIASES:
        raise ApiError("UnsupportedMediaType", 415)
    raw = await _read_limited(request)
    fmt = JSON if kind == JSON else MSGPACK
    return raw, (JSON if not kind and not raw else fmt)


def parse_body(raw: bytes, fmt: str) -> Body:
    if not raw:
        return Body({}, fmt == MSGPACK)
    try:
        data = json.loads(raw) if fmt == JSON else msgpack.unpackb(raw, strict_map_key=False)
    except (ValueError, TypeError, RecursionError, msgpack.UnpackException) as exc:
        # TypeError: a msgpack map keyed by a list or a map; RecursionError: JSON nested
        # deeper than Python's stack.
        raise ApiError("BadRequest", 400) from exc
    if not isinstance(data, dict):
        raise ApiError("BadRequest", 400)
    return Body(data, fmt == MSGPACK)


def response_format(request: Request, request_format: str) -> str:
    for part in request.headers.get("accept", "").split(","):
        kind = _media(part)
        if kind == JSON:
            return JSON
        if kind in MSGPACK_ALIASES:
            return MSGPACK
    return request_format


def render(fmt: str, full: Any, short: Any, status: int = 200) -> Response:
    if fmt == MSGPACK:
        return Response(msgpack.packb(short), status_code=status, media_type=MSGPACK)
    return Response(json.dumps(full), status_code=status, media_type=JSON)


def error_response(request: Request, exc: ApiError | WriteRefused) -> Response:
    fmt = response_format(request, JSON)
    body = {"error": exc.name}
    return render(fmt, body, body, exc.status)


def _int(value: Any, default: int | None = None, largest: int = 2**63 - 1) -> int:
    """An integer field; one beyond ``largest`` (the kernel's unsigned fields) is refused."""
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > largest:
        raise ApiError("BadRequest", 400)
    return value


def _changes(body: Body) -> list[Change]:
    """The changes of an ``_update`` body; all inserts' hashes are checked in one go."""
    raw = body.get("changes")
    if not isinstance(raw, list):
        raise ApiError("BadRequest", 400)
    out: list[Change | None] = []
    pending: list[tuple[int, int, Any]] = []
    for item in raw:
        if not isinstance(item, dict) or len(item) != 1:
            raise ApiError("BadRequest", 400)
        ((kind, value),) = item.items()
        if not isinstance(value, dict):
            raise ApiError("BadRequest", 400)
        inner = Body(value, body.short)
        if kind == ("i" if body.short else "insert"):
            pending.append(
                (len(out), index_messages.check_id(inner.get("id")), inner.get("hashes"))
            )
            out.append(None)
        elif kind == ("d" if body.short else "delete"):
            out.append(index_messages.delete(inner.get("id")))
        elif kind == ("s" if body.short else "set_metadata"):
            out.append(_set(inner.get("entries"), body.short))
        else:
            raise ApiError("BadRequest", 400)
    checked = index_messages.check_terms_many([hashes for _, _, hashes in pending])
    for (pos, doc, _), terms in zip(pending, checked, strict=True):
        out[pos] = Insert(doc, terms)
    metadata = body.get("metadata")
    if metadata is not None:
        out.append(index_messages.set_attributes(metadata))
    return [c for c in out if c is not None]


def _set(entries: Any, short: bool) -> Change:
    if not isinstance(entries, list):
        raise ApiError("BadRequest", 400)
    values = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise ApiError("BadRequest", 400)
        e = Body(entry, short)
        values[e.get("key")] = e.get("value")
    return index_messages.set_attributes(values)


def _parse_id(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > MAX_ID_DIGITS:
        raise ApiError("InvalidFingerprintId", 400)
    try:
        return index_messages.check_id(int(value))
    except InvalidChange as exc:
        raise ApiError("InvalidFingerprintId", 400) from exc


@dataclass(frozen=True)
class Query:
    """One validated search: terms and the limits ``_search`` and ``_msearch`` share."""

    terms: np.ndarray
    limit: int
    min_score: int
    score_pct: int


def parse_query(body: Body) -> Query:
    query = body.get("query")
    if not isinstance(query, list) or len(query) > MAX_QUERY_TERMS:
        raise ApiError("BadRequest", 400)
    try:
        terms = index_messages.check_terms(query)
    except InvalidChange as exc:
        raise ApiError("BadRequest", 400) from exc
    limit = min(max(_int(body.get("limit"), DEFAULT_LIMIT), 1), MAX_LIMIT)
    min_score = _int(body.get("min_score"), min_score_default(len(query)), MAX_SCORE)
    score_pct = _int(body.get("score_pct"), DEFAULT_SCORE_PCT)
    if min_score < 0 or not 0 <= score_pct <= 100:
        raise ApiError("BadRequest", 400)
    return Query(terms, limit, min_score, score_pct)


def parse_timeout(body: Body) -> float:
    """The request's ``timeout`` in seconds, capped."""
    timeout_ms = _int(body.get("timeout"), DEFAULT_TIMEOUT_MS)
    if timeout_ms < 0:
        raise ApiError("BadRequest", 400)
    return min(timeout_ms, MAX_TIMEOUT_MS) / 1000


def results_body(results: list[tuple[int, int]]) -> tuple[Any, Any]:
    """A search's answer in the JSON and the msgpack spelling."""
    return (
        {"results": [{"id": i, "score": s} for i, s in results]},
        {"r": [{"i": i, "s": s} for i, s in results]},
    )


def _chunks(queries: list[Query]) -> list[list[Query]]:
    """Consecutive queries of at most ``SEARCH_CHUNK_TERMS`` terms together (at least one)."""
    chunks: list[list[Query]] = [[]]
    terms = 0
    for q in queries:
        if chunks[-1] and terms + len(q.terms) > SEARCH_CHUNK_TERMS:
            chunks.append([])
            terms = 0
        chunks[-1].append(q)
        terms += len(q.terms)
    return chunks


async def run_searches(
    store: Store, queries: list[Query], timeout: float
) -> list[list[tuple[int, int]]]:
    """Searches off the event loop under one deadline for them all, each timed and counted;
    ``_search``, ``_msearch`` and the line protocol all search here.

    A thread hand-off costs about as much as a small search, so queries go to the search
    threads in chunks; chunks of one request go one after another, so other requests'
    searches queue between them (the pool is FIFO) instead of behind the whole request.
    ``timeout`` 0 means none; it counts from when the first chunk starts, as the time
    queued behind other requests is not this request's doing.
    """
    deadline: list[float] = []

    def run(chunk: list[Query]) -> list[tuple[list[tuple[int, int]], int, float]]:
        if not deadline:
            deadline.append(time.perf_counter() + timeout)
        out = []
        for q in chunk:
            left = deadline[0] - time.perf_counter()
            if timeout and left <= 0:
                raise kernel.SearchTimeout()
            started = time.perf_counter()
            results, scanned = store.search(
                q.terms,
                limit=q.limit,
                min_score=q.min_score,
                score_pct=q.score_pct,
                timeout=left if timeout else 0.0,
                max_per_term=MAX_POSTINGS_PER_TERM,
            )
            out.append((results, scanned, time.perf_counter() - started))
        return out

    loop = asyncio.get_running_loop()
    done: list[tuple[list[tuple[int, int]], int, float]] = []
    try:
        for chunk in _chunks(queries):
            done += await loop.run_in_executor(SEARCH_POOL, run, chunk)
    except kernel.SearchTimeout:
        metrics.SEARCH_TIMEOUTS.inc()
        raise
    for q, (results, scanned, seconds) in zip(queries, done, strict=True):
        metrics.SEARCH_DURATION.observe(seconds)
        metrics.SEARCHES.inc()
        (metrics.SEARCH_HITS if results else metrics.SEARCH_MISSES).inc()
        if len(q.terms):
            metrics.SCANNED_DOCS_PER_HASH.observe(scanned / len(q.terms))
    return [results for results, _, _ in done]


def require_writer(state: IndexState, request: Request) -> None:
    """With ``ACOUSTID_INDEX_SECRET`` set, a write must carry it in ``X-Index-Secret``."""
    if not state.secret:
        return
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), state.secret.encode()):
        raise ApiError("Unauthorized", 401)


async def write(
    state: IndexState, changes: Batch | list[Change], expected: int | None = None
) -> int:
    """Publishes to FPINDEX, then waits until this replica applied it (read-your-writes)."""
    replicator = state.replicator
    if replicator is None:
        raise ApiError("IndexNotReady", 503)
    batch = changes if isinstance(changes, Batch) else Batch.from_changes(changes)
    version = await replicator.publish(batch, expected)
    await replicator.wait_applied(version, state.write_timeout)
    return version


# The handlers, as fpindex's server.zig has them: each takes the index state and the request.


def serving(state: IndexState, request: Request) -> Store:
    """The store of the request's ``{index}``, or the error fpindex gives for it."""
    index = request.path_params["index"]
    if not INDEX_NAME.fullmatch(index):
        raise ApiError("InvalidIndexName", 400)
    if index != state.name:
        raise ApiError("IndexNotFound", 404)
    if state.store is None:
        raise ApiError("IndexNotReady", 503)
    return state.store


async def anchor_metrics(state: IndexState, request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def index_health(state: IndexState, request: Request) -> Response:
    """503 while loading and on a damaged segment, so a balancer skips the replica without
    mistaking a long bootstrap for a dead process (``/_health`` is about dependencies)."""
    try:
        serving(state, request)
    except ApiError as exc:
        if exc.name != "IndexNotReady":
            raise
        if state.load_error:
            return PlainTextResponse(f"FAILED {state.load_error}", status_code=503)
        return PlainTextResponse("LOADING", status_code=503)
    return PlainTextResponse("OK")


async def searched(store: Store, queries: list[Query], timeout: float) -> list[Any]:
    try:
        answers = await run_searches(store, queries, timeout)
    except kernel.SearchTimeout:
        raise ApiError("SearchTimeout", 503) from None
    return [results_body(results) for results in answers]


async def search(state: IndexState, request: Request) -> Response:
    store = serving(state, request)
    body, fmt = await read_body(request)
    query = parse_query(body)
    ((full, short),) = await searched(store, [query], parse_timeout(body))
    return render(response_format(request, fmt), full, short)


async def msearch(state: IndexState, request: Request) -> Response:
    """Many ``_search`` queries in one request: one HTTP round trip and one thread hop.

    Body ``{"queries": [<a _search body without timeout>, ...], "timeout": ms}``
    (msgpack: ``{"q": [{"q": [...], "l": 10}, ...], "t": ms}``); the answer lists each
    query's ``_search`` answer in order. One invalid query refuses the whole request.
    """
    store = serving(state, request)
    body, fmt = await read_body(request)
    raw = body.get("queries")
    if not isinstance(raw, list) or len(raw) > MAX_QUERIES:
        raise ApiError("BadRequest", 400)
    queries = []
    for item in raw:
        if not isinstance(item, dict):
            raise ApiError("BadRequest", 400)
        queries.append(parse_query(Body(item, body.short)))
    if sum(len(q.terms) for q in queries) > MAX_REQUEST_TERMS:
        raise ApiError("BadRequest", 400)
    bodies = await searched(store, queries, parse_timeout(body))
    return render(
        response_format(request, fmt),
        {"responses": [full for full, _ in bodies]},
        {"r": [short for _, short in bodies]},
    )


async def update(state: IndexState, request: Request) -> Response:
    store = serving(state, request)
    require_writer(state, request)
    raw, fmt = await read_raw(request)
    # Bulk loads are msgpack inserts: read straight into arrays, else the general path.
    fast = update_decoder.decode(raw) if fmt == MSGPACK else None
    if fast is not None:
        batch, expected = fast
    else:
        body = parse_body(raw, fmt)
        batch = Batch.from_changes(_changes(body))
        expected = body.get("expected_version")
        if expected is not None:
            _int(expected)
    version = await write(state, batch, expected) if batch.size else store.version
    return render(response_format(request, fmt), {"version": version}, {"v": version})


async def status(state: IndexState, request: Request) -> Response:
    store = serving(state, request)
    full = {
        "generation": GENERATION,
        "version": store.version,
        "file_version": store.durable_version,
    }
    return render(response_format(request, JSON), full, full)


async def snapshot(state: IndexState, request: Request) -> Response:
    """msgpack header ``{f, g, v, a, s: [{n, z}]}`` then each file segment's bytes."""
    store = serving(state, request)
    found, files = store.checkpoint_view()
    header = {
        "f": 1,
        "g": GENERATION,
        "v": found.applied_seq,
        "a": found.attributes,
        "s": [{"n": s.name, "z": s.nbytes} for s in files],
    }

    async def stream() -> AsyncIterator[bytes]:
        yield msgpack.packb(header)
        for seg in files:
            assert seg.name is not None
            with open(store.directory / seg.name, "rb") as f:
                while chunk := await asyncio.to_thread(f.read, SNAPSHOT_CHUNK):
                    yield chunk

    return StreamingResponse(stream(), media_type="application/octet-stream")


async def get_index(state: IndexState, request: Request) -> Response:
    store = serving(state, request)
    st = store.stats()
    stats = {
        "min_doc_id": st.min_doc_id,
        "max_doc_id": st.max_doc_id,
        "num_segments": st.num_segments,
        "num_docs": st.num_docs,
    }
    attrs = store.snapshot.attributes
    return render(
        response_format(request, JSON),
        {"version": store.version, "metadata": attrs, "stats": stats},
        {"v": store.version, "m": attrs, "s": stats},
    )


async def put_index(state: IndexState, request: Request) -> Response:
    """Idempotent: this process serves one index, created with it."""
    store = serving(state, request)
    body, fmt = await read_body(request)
    if body.get("expect_does_not_exist") is True:
        raise ApiError("IndexAlreadyExists", 409)
    if body.get("generation") not in (None, GENERATION):
        raise ApiError("GenerationNotAllowed", 400)
    full = {"version": store.version, "ready": True, "generation": GENERATION}
    return render(
        response_format(request, fmt), full, {"v": store.version, "r": True, "g": GENERATION}
    )


async def delete_index(state: IndexState, request: Request) -> Response:
    """Refused: the index is the replica of FPINDEX, which one process must not erase."""
    serving(state, request)
    raise ApiError("IndexDeleteNotAllowed", 403)


async def put_doc(state: IndexState, request: Request) -> Response:
    serving(state, request)
    require_writer(state, request)
    doc = _parse_id(request.path_params["id"])
    body, fmt = await read_body(request)
    await write(state, [index_messages.insert(doc, body.get("hashes"))])
    return render(response_format(request, fmt), {}, {})


async def delete_doc(state: IndexState, request: Request) -> Response:
    serving(state, request)
    require_writer(state, request)
    await write(state, [index_messages.delete(_parse_id(request.path_params["id"]))])
    return render(response_format(request, JSON), {}, {})


async def get_doc(state: IndexState, request: Request) -> Response:
    store = serving(state, request)
    version = store.document(_parse_id(request.path_params["id"]))
    if version is None:
        raise ApiError("FingerprintNotFound", 404)
    return render(response_format(request, JSON), {"version": version}, {"v": version})


IndexHandler = Callable[[IndexState, Request], Awaitable[Response]]
GET = frozenset({"GET", "HEAD"})
POST, PUT, DELETE = frozenset({"POST"}), frozenset({"PUT"}), frozenset({"DELETE"})

# (path, methods, handler, summary; "" keeps it out of the schema). The searches are the hot
# path, answered before FastAPI's router; the rest come after FastAPI's own routes, which
# ``/{index}`` would otherwise shadow.
SEARCH_ROUTES: list[tuple[str, frozenset[str], IndexHandler, str]] = [
    ("/{index}/_search", POST, search, "Documents sharing the most terms with a query"),
    ("/{index}/_msearch", POST, msearch, "Many _search queries in one request"),
]
OTHER_ROUTES: list[tuple[str, frozenset[str], IndexHandler, str]] = [
    ("/_metrics", GET, anchor_metrics, ""),
    ("/{index}/_health", GET, index_health, "OK, LOADING or FAILED with the reason"),
    ("/{index}/_update", POST, update, "Apply inserts, deletes and attributes; the new version"),
    ("/{index}/_status", GET, status, "Generation, version and durable version"),
    ("/{index}/_snapshot", GET, snapshot, "The index's files, for a new replica"),
    ("/{index}", GET, get_index, "Version, attributes and document statistics"),
    ("/{index}", PUT, put_index, "Create the index (it always exists)"),
    ("/{index}", DELETE, delete_index, "Refused: the index mirrors FPINDEX"),
    ("/{index}/{id}", PUT, put_doc, "Insert or replace one document"),
    ("/{index}/{id}", DELETE, delete_doc, "Delete one document"),
    ("/{index}/{id}", GET, get_doc, "The version that last changed a document"),
]


_TERMS = {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 0xFFFFFFFF}}
_SEARCH = {
    "type": "object",
    "required": ["query"],
    "properties": {
        "query": {**_TERMS, "maxItems": MAX_QUERY_TERMS},
        "limit": {"type": "integer", "default": DEFAULT_LIMIT},
        "min_score": {"type": "integer", "minimum": 0},
        "score_pct": {"type": "integer", "minimum": 0, "maximum": 100},
        "timeout": {"type": "integer", "minimum": 0, "default": DEFAULT_TIMEOUT_MS},
    },
}
_CHANGE = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": 1,
    "properties": {
        "insert": {
            "type": "object",
            "properties": {"id": {"type": "integer"}, "hashes": _TERMS},
        },
        "delete": {"type": "object", "properties": {"id": {"type": "integer"}}},
        "set_metadata": {"type": "object", "properties": {"entries": {"type": "array"}}},
    },
}
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("/{index}/_search", "post"): _SEARCH,
    ("/{index}/_msearch", "post"): {
        "type": "object",
        "required": ["queries"],
        "properties": {
            "queries": {"type": "array", "items": _SEARCH, "maxItems": MAX_QUERIES},
            "timeout": {"type": "integer", "minimum": 0},
        },
    },
    ("/{index}/_update", "post"): {
        "type": "object",
        "required": ["changes"],
        "properties": {
            "changes": {"type": "array", "items": _CHANGE},
            "metadata": {"type": "object"},
            "expected_version": {"type": "integer"},
        },
    },
    ("/{index}/{id}", "put"): {"type": "object", "properties": {"hashes": _TERMS}},
    ("/{index}", "put"): {
        "type": "object",
        "properties": {
            "expect_does_not_exist": {"type": "boolean"},
            "generation": {"type": "integer"},
        },
    },
}
"""Request bodies as the schema documents them (JSON spelling; msgpack uses first letters)."""


def _request_body(path: str, method: str) -> dict[str, Any]:
    schema = BODIES.get((path, method))
    if schema is None:
        return {}
    return {"requestBody": {"content": {JSON: {"schema": schema}, MSGPACK: {"schema": schema}}}}


RESPONSES = {
    "200": {"description": "Success; data as JSON or msgpack, as Accept (else the body) asks"},
    "default": {"description": 'An fpindex error: {"error": "Name"}'},
}


def _route(
    state: IndexState, path: str, methods: frozenset[str], handler: IndexHandler, summary: str
) -> Route:
    """A table row bound to the state, fpindex's named errors answered as ``{"error": Name}``."""

    async def handle(request: Request) -> Response:
        try:
            return await handler(state, request)
        except InvalidChange as exc:
            return error_response(request, ApiError(exc.name, 400))
        except (ApiError, WriteRefused) as exc:
            return error_response(request, exc)

    operation = {"summary": summary, "parameters": path_parameters(path), "responses": RESPONSES}
    documented = methods - {"HEAD"} if summary else set()
    return Route(
        path,
        handle,
        methods,
        {m.lower(): {**operation, **_request_body(path, m.lower())} for m in documented},
    )


def routes(state: IndexState) -> tuple[list[Route], list[Route]]:
    """The index's routes: those answered first, then those after FastAPI's own."""
    return (
        [_route(state, *row) for row in SEARCH_ROUTES],
        [_route(state, *row) for row in OTHER_ROUTES],
    )
