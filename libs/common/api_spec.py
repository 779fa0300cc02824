"""The OpenAPI description of each endpoint: parameters, answers and errors, with examples.

It lives in ``libs`` because two services read it: the API serves it as ``/openapi.json``,
and the website's ``/webservice`` page is generated from the same tables.

Handlers read parameters themselves (batch suffixes, repeated keys, gzip bodies do not fit
FastAPI's declarations), so the schema is written here, next to nothing else, and checked
against the running service by the schemathesis test. Parameters are documented in the
query string; every one may equally be sent as a form body (urlencoded or multipart,
optionally ``Content-Encoding: gzip``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from libs.common.errors import ErrorCode, WebServiceError

UUID_EXAMPLE = "9ff43b6a-4f16-427c-93c2-92307ca505e0"
MBID_EXAMPLE = "cd2e7c47-16f5-46c6-a37c-a1eb7bf599ff"
FINGERPRINT_EXAMPLE = "AQAABEGCYFGiJFEUSUkUAA"

STRING: dict[str, Any] = {"type": "string"}
INTEGER: dict[str, Any] = {"type": "integer"}
UUID: dict[str, Any] = {"type": "string", "format": "uuid"}


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    schema: dict[str, Any]
    example: Any = None
    required: bool = False
    repeated: bool = False

    def spec(self) -> dict[str, Any]:
        schema = {"type": "array", "items": self.schema} if self.repeated else self.schema
        spec: dict[str, Any] = {
            "name": self.name,
            "in": "query",
            "required": self.required,
            "description": self.description,
            "schema": schema,
        }
        if self.repeated:
            spec["style"] = "form"
            spec["explode"] = True
        if self.example is not None:
            spec["example"] = [self.example] if self.repeated else self.example
        return spec


FORMAT = Param(
    "format",
    'Response format; unknown values are error 1 (whose message always says "json").',
    {"type": "string", "enum": ["json", "jsonp", "xml"], "default": "json"},
)
CALLBACK = Param(
    "jsoncallback",
    "JSONP callback; an invalid identifier silently becomes jsonAcoustidApi.",
    {"type": "string", "default": "jsonAcoustidApi"},
)
CLIENT = Param("client", "Application API key.", STRING, "cSpUJKpD", required=True)
CLIENT_VERSION = Param("clientversion", "Application version, stored with submissions.", STRING)
USER = Param("user", "User API key.", STRING, "5bEBlqq1", required=True)
SECRET = Param("secret", "Cluster secret; also lifts every rate limit.", STRING)
BATCH = Param("batch", "Non-zero for the batch answer shape.", INTEGER, 1)

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status", "error"],
    "properties": {
        "status": {"type": "string", "enum": ["error"]},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "integer", "minimum": 1, "maximum": 19},
                "message": {"type": "string"},
            },
        },
    },
}

_STATUS_TEXT = {
    400: "Invalid request (codes 1-4, 6-12, 15-17); a body that is not valid gzip is a plain"
    " text 400",
    404: "Fingerprint not found (code 18)",
    413: "Request too large (code 19): body over 1 MiB (before or after gzip), over 1000 form"
    " parts, or too many batch queries",
    429: "Rate limit exceeded (code 14), with Retry-After",
    500: "Internal error (code 5)",
    503: "No index shard answered (code 13)",
}
_EXAMPLE_ERROR = {
    400: ErrorCode.INVALID_APIKEY,
    404: ErrorCode.FINGERPRINT_NOT_FOUND,
    413: ErrorCode.REQUEST_TOO_LARGE,
    429: ErrorCode.TOO_MANY_REQUESTS,
    500: ErrorCode.INTERNAL,
    503: ErrorCode.SERVICE_UNAVAILABLE,
}


def _content(schema: dict[str, Any], example: dict[str, Any]) -> dict[str, Any]:
    return {
        "application/json": {"schema": schema, "example": example},
        "application/javascript": {"schema": STRING},
        "text/xml": {"schema": STRING},
    }


def _ok(payload: dict[str, Any]) -> dict[str, Any]:
    properties = {"status": {"type": "string", "enum": ["ok"]}, **payload["properties"]}
    required = ["status", *payload.get("required", [])]
    return {"type": "object", "required": required, "properties": properties}


def operation(
    description: str,
    params: list[Param],
    ok: dict[str, Any],
    example: dict[str, Any],
    statuses: tuple[int, ...] = (400, 413, 429, 500),
) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {"description": "Success", "content": _content(_ok(ok), {"status": "ok", **example})}
    }
    for status in statuses:
        error = WebServiceError(_EXAMPLE_ERROR[status], 10.0)
        content = _content(ERROR_SCHEMA, error.payload())
        if status == 400:
            content["text/plain"] = {"schema": STRING}
        responses[str(status)] = {"description": _STATUS_TEXT[status], "content": content}
    return {
        "description": description,
        "parameters": [p.spec() for p in [FORMAT, CALLBACK, *params]],
        "responses": responses,
    }


def obj(required: list[str] | None = None, **properties: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


ARTIST = obj(["name"], id=STRING, name=STRING, joinphrase=STRING)
RECORDING = obj(
    id=UUID,
    sources=INTEGER,
    title=STRING,
    duration={"type": "number"},
    artists=array({"anyOf": [ARTIST, STRING]}),
    releasegroups=array({"type": "object"}),
    releases=array({"type": "object"}),
)
RESULT = obj(["id", "score"], id=STRING, score={"type": "number"}, recordings=array(RECORDING))
RESULT["properties"]["tracks"] = array(obj(["id"], id=UUID))
SUBMISSION = obj(
    ["id", "status"],
    id=INTEGER,
    status={"type": "string", "enum": ["pending", "imported"]},
    index=STRING,
    result=obj(["id"], id=UUID),
)
USER_ANSWER = obj(["user"], user=obj(["apikey"], apikey=STRING))
EMPTY = obj()

LOOKUP_PARAMS = [
    CLIENT,
    CLIENT_VERSION,
    Param(
        "meta",
        "Space-separated: recordings recordingids releases releaseids releasegroups"
        " releasegroupids tracks compress usermeta sources isrcs; 1 = recordingids, 2 = m2.",
        STRING,
        "recordings sources",
    ),
    Param("maxdurationdiff", "Duration window in seconds, 1..30 (default 7).", INTEGER, 7),
    BATCH,
    Param(
        "fingerprint",
        "Compressed fingerprint as fpcalc prints it; batch calls use fingerprint.N.",
        STRING,
        FINGERPRINT_EXAMPLE,
    ),
    Param("duration", "Length of the audio in seconds (duration.N in batches).", INTEGER, 201),
    Param("trackid", "Look up an AcoustID instead of a fingerprint (trackid.N).", UUID),
]
LOOKUP = operation(
    "Identifies audio by fingerprint and duration (or resolves AcoustIDs). Results are sorted"
    " by score, one per AcoustID, at most 10 per fingerprint. Batch calls suffix every"
    " per-query parameter with .N (at most 20 fingerprints and 100 track ids).",
    LOOKUP_PARAMS,
    obj(
        results=array(RESULT),
        fingerprints=array(
            obj(["index", "results"], index={"type": ["integer", "null"]}, results=array(RESULT))
        ),
    ),
    {"results": [{"id": UUID_EXAMPLE, "score": 1.0, "recordings": [{"id": MBID_EXAMPLE}]}]},
    (400, 413, 429, 500, 503),
)
LEGACY_LOOKUP = operation(
    "Legacy v1 lookup: always XML, length instead of duration, MBIDs under tracks.",
    [p for p in LOOKUP_PARAMS if p.name not in ("duration", "meta")]
    + [
        Param("length", "Length in seconds.", INTEGER, 201),
        Param("meta", "Any value but 0 adds linked MBIDs.", STRING),
    ],
    obj(results=array(RESULT)),
    {"results": [{"id": UUID_EXAMPLE, "score": 1.0}]},
    (400, 413, 429, 500, 503),
)

SUBMIT_FIELDS = [
    Param(
        "mbid", "MusicBrainz recording id; repeat for several.", UUID, MBID_EXAMPLE, repeated=True
    ),
    Param("puid", "MusicDNS PUID.", UUID),
    Param("foreignid", "Foreign id as vendor:id.", STRING, "spotify:4uLU6hMCjMI75M1A2tKUQC"),
    Param("bitrate", "Bitrate in kbit/s.", INTEGER, 192),
    Param("track", "Track title.", STRING),
    Param("artist", "Track artist.", STRING),
    Param("album", "Album title.", STRING),
    Param("albumartist", "Album artist.", STRING),
    Param("trackno", "Track number.", INTEGER),
    Param("discno", "Disc number.", INTEGER),
    Param("year", "Release year.", INTEGER),
    Param("wait", "Accepted and ignored.", INTEGER),
]
SUBMIT_ANSWER = obj(["submissions"], submissions=array(SUBMISSION))
SUBMIT = operation(
    "Queues fingerprints for import with what is known about them. Every per-submission"
    " parameter takes a .N suffix for batches; one row is stored per MBID; a fingerprint"
    " with no MBID, PUID or tags is silently dropped.",
    [
        CLIENT,
        CLIENT_VERSION,
        USER,
        Param(
            "fingerprint",
            "Compressed fingerprint (fingerprint.N).",
            STRING,
            FINGERPRINT_EXAMPLE,
            required=True,
        ),
        Param("duration", "Length in seconds, 1..32767 (duration.N).", INTEGER, 201, required=True),
        Param("fileformat", "File format, e.g. MP3, FLAC.", STRING, "FLAC"),
        *SUBMIT_FIELDS,
    ],
    SUBMIT_ANSWER,
    {"submissions": [{"id": 123456789, "status": "pending", "index": "0"}]},
)
LEGACY_SUBMIT = operation(
    "Legacy v1 submit: always XML, length instead of duration, format is the file format.",
    [
        CLIENT,
        CLIENT_VERSION,
        USER,
        Param("fingerprint", "Compressed fingerprint.", STRING, FINGERPRINT_EXAMPLE, required=True),
        Param("length", "Length in seconds.", INTEGER, 201, required=True),
        *SUBMIT_FIELDS,
    ],
    SUBMIT_ANSWER,
    {"submissions": [{"id": 123456789, "status": "pending"}]},
)
SUBMISSION_STATUS = operation(
    "Whether submissions were imported, and into which AcoustID (skipped ones stay pending).",
    [CLIENT, Param("id", "Submission id; repeat for several.", INTEGER, 1, repeated=True)],
    SUBMIT_ANSWER,
    {"submissions": [{"id": 1, "status": "imported", "result": {"id": UUID_EXAMPLE}}]},
)
TRACK = obj(["id"], id=UUID, disabled={"type": "boolean"})
LIST_BY_MBID = operation(
    "AcoustIDs linked to recordings; no API key needed.",
    [
        Param(
            "mbid",
            "Recording MBID; repeat with batch=1.",
            UUID,
            MBID_EXAMPLE,
            required=True,
            repeated=True,
        ),
        BATCH,
        Param("disabled", "Non-zero to include disabled links (flagged).", INTEGER, 1),
    ],
    obj(tracks=array(TRACK), mbids=array(obj(["mbid", "tracks"], mbid=UUID, tracks=array(TRACK)))),
    {"tracks": [{"id": UUID_EXAMPLE}]},
)
LIST_BY_PUID = operation(
    "PUIDs are retired: always an empty list.",
    [Param("puid", "MusicDNS PUID.", UUID, MBID_EXAMPLE, required=True)],
    obj(["tracks"], tracks=array(TRACK)),
    {"tracks": []},
)
FINGERPRINT = operation(
    "A stored fingerprint: raw signed 32-bit hashes and its length in seconds.",
    [Param("id", "Fingerprint id.", INTEGER, 1, required=True)],
    obj(
        ["fingerprint"],
        fingerprint=obj(
            ["id", "hashes", "duration"], id=INTEGER, hashes=array(INTEGER), duration=INTEGER
        ),
    ),
    {"fingerprint": {"id": 1, "hashes": [-1292430977, 1084227584], "duration": 201}},
    (400, 404, 413, 429, 500),
)
USER_LOOKUP = operation(
    "Checks a user API key (never cached).",
    [USER],
    USER_ANSWER,
    {"user": {"apikey": "5bEBlqq1"}},
)
CREATE_ANONYMOUS = operation(
    "Creates an anonymous user for the calling application.",
    [CLIENT, CLIENT_VERSION],
    USER_ANSWER,
    {"user": {"apikey": "5bEBlqq1"}},
)
CREATE_MUSICBRAINZ = operation(
    "Finds or creates the user of a MusicBrainz OAuth2 access token; HTTPS only (code 16).",
    [Param("access_token", "MusicBrainz OAuth2 access token.", STRING, required=True)],
    USER_ANSWER,
    {"user": {"apikey": "5bEBlqq1"}},
)


def internal(
    description: str, params: list[Param], ok: dict[str, Any], example: dict[str, Any]
) -> dict[str, Any]:
    return operation(
        description + " Needs the cluster secret (else code 12).",
        [Param("secret", "Cluster secret.", STRING, required=True), *params],
        ok,
        example,
    )


DATE = Param(
    "date", "Day as YYYY-MM-DD.", {"type": "string", "format": "date"}, "2026-01-02", required=True
)
APPLICATION_ID = Param("application_id", "Application id.", INTEGER, 1, required=True)
COUNT = Param("count", "Amount to add.", INTEGER, 1, required=True)
NEW_KEY = obj(["id", "api_key"], id=INTEGER, api_key=STRING)
INTERNAL = {
    "update_lookup_stats": internal(
        "Adds to an application's hourly lookup counts (master only).",
        [
            APPLICATION_ID,
            DATE,
            Param("hour", "Hour 0..23.", INTEGER, 5, required=True),
            Param("type", "hit, or anything else for misses.", STRING, "hit"),
            COUNT,
        ],
        EMPTY,
        {},
    ),
    "update_user_agent_stats": internal(
        "Adds to an application's daily user-agent counts (master only).",
        [
            APPLICATION_ID,
            DATE,
            Param("user_agent", "User agent.", STRING),
            Param("ip", "Client IP.", STRING),
            COUNT,
        ],
        EMPTY,
        {},
    ),
    "lookup_stats": internal(
        "Daily lookup counts summed over applications.",
        [
            Param("client", "Application key; repeat for several.", STRING, repeated=True),
            Param("from", "First day.", {"type": "string", "format": "date"}),
            Param("to", "Last day.", {"type": "string", "format": "date"}),
            Param("days", "Days back when no range is given (default 30).", INTEGER, 30),
        ],
        obj(
            ["stats"],
            stats=array(
                obj(
                    ["date", "count_hits", "count_nohits", "count"],
                    date=STRING,
                    count_hits=INTEGER,
                    count_nohits=INTEGER,
                    count=INTEGER,
                )
            ),
        ),
        {"stats": [{"date": "2026-01-02", "count_hits": 5, "count_nohits": 4, "count": 9}]},
    ),
    "create_account": internal("Creates an account.", [], NEW_KEY, {"id": 1, "api_key": "x"}),
    "create_application": internal(
        "Creates an application for an account.",
        [
            Param("account_id", "Owner.", INTEGER, 1, required=True),
            Param("name", "Name.", STRING, "App", required=True),
            Param("version", "Version.", STRING, "1.0", required=True),
        ],
        NEW_KEY,
        {"id": 1, "api_key": "x"},
    ),
    "update_application_status": internal(
        "Enables or disables an application (any non-empty active is true).",
        [
            Param("account_id", "Owner.", INTEGER, 1, required=True),
            APPLICATION_ID,
            Param("active", "Empty disables, anything else enables.", STRING, "1"),
        ],
        obj(["id", "active"], id=INTEGER, active={"type": "boolean"}),
        {"id": 1, "active": True},
    ),
    "check_application": internal(
        "Resolves an application key (code 4 if unknown).",
        [Param("api_key", "Application key.", STRING, required=True)],
        obj(["id"], id=INTEGER),
        {"id": 1},
    ),
}

PUBLIC: list[tuple[str, dict[str, Any]]] = [
    ("/v2/lookup", LOOKUP),
    ("/v2/submit", SUBMIT),
    ("/v2/submission_status", SUBMISSION_STATUS),
    ("/v2/track/list_by_mbid", LIST_BY_MBID),
    ("/v2/track/list_by_puid", LIST_BY_PUID),
    ("/v2/fingerprint", FINGERPRINT),
    ("/v2/user/lookup", USER_LOOKUP),
    ("/v2/user/create_anonymous", CREATE_ANONYMOUS),
    ("/v2/user/create_musicbrainz", CREATE_MUSICBRAINZ),
    ("/lookup", LEGACY_LOOKUP),
    ("/submit", LEGACY_SUBMIT),
]
"""The endpoints clients call, in the order the website's documentation presents them."""
