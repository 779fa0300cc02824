"""AcoustID's numbered web-service errors: one table, the exact messages clients match on.

Codes, HTTP statuses and message templates are those of acoustid.org's ``errors.py``; the
``%s`` is always the parameter name including its batch suffix (``"duration.3"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ErrorCode(IntEnum):
    UNKNOWN_FORMAT = 1
    MISSING_PARAMETER = 2
    INVALID_FINGERPRINT = 3
    INVALID_APIKEY = 4
    INTERNAL = 5
    INVALID_USER_APIKEY = 6
    INVALID_UUID = 7
    INVALID_DURATION = 8
    INVALID_BITRATE = 9
    INVALID_FOREIGNID = 10
    INVALID_MAX_DURATION_DIFF = 11
    NOT_ALLOWED = 12
    SERVICE_UNAVAILABLE = 13
    TOO_MANY_REQUESTS = 14
    INVALID_MUSICBRAINZ_ACCESS_TOKEN = 15
    INSECURE_REQUEST = 16
    UNKNOWN_APPLICATION = 17
    FINGERPRINT_NOT_FOUND = 18
    REQUEST_TOO_LARGE = 19


@dataclass(frozen=True)
class _Spec:
    status: int
    template: str


_SPECS: dict[ErrorCode, _Spec] = {
    ErrorCode.UNKNOWN_FORMAT: _Spec(400, 'unknown format "%s"'),
    ErrorCode.MISSING_PARAMETER: _Spec(400, 'missing required parameter "%s"'),
    ErrorCode.INVALID_FINGERPRINT: _Spec(400, "invalid fingerprint"),
    ErrorCode.INVALID_APIKEY: _Spec(400, "invalid API key"),
    ErrorCode.INTERNAL: _Spec(500, "internal error"),
    ErrorCode.INVALID_USER_APIKEY: _Spec(
        400, 'invalid user API key ("User with the API key does not exist")'
    ),
    ErrorCode.INVALID_UUID: _Spec(400, 'parameter "%s" is not a valid UUID'),
    ErrorCode.INVALID_DURATION: _Spec(400, 'parameter "%s" must be a positive integer'),
    ErrorCode.INVALID_BITRATE: _Spec(400, 'parameter "%s" must be a positive integer'),
    ErrorCode.INVALID_FOREIGNID: _Spec(
        400, 'parameter "%s" is not a valid foreign ID, it must be in the format vendor:id'
    ),
    ErrorCode.INVALID_MAX_DURATION_DIFF: _Spec(400, 'parameter "%s" must be between 1 and 30'),
    ErrorCode.NOT_ALLOWED: _Spec(400, "not allowed"),
    ErrorCode.SERVICE_UNAVAILABLE: _Spec(503, "service currently unavailable, try again later"),
    ErrorCode.TOO_MANY_REQUESTS: _Spec(
        429, "rate limit (%f requests per second) exceeded, try again later"
    ),
    ErrorCode.INVALID_MUSICBRAINZ_ACCESS_TOKEN: _Spec(400, "invalid MusicBrainz access token"),
    ErrorCode.INSECURE_REQUEST: _Spec(400, "only requests over HTTPS are allowed here"),
    ErrorCode.UNKNOWN_APPLICATION: _Spec(400, "unknown application"),
    ErrorCode.FINGERPRINT_NOT_FOUND: _Spec(404, "fingerprint not found"),
    ErrorCode.REQUEST_TOO_LARGE: _Spec(413, "request too large"),
}


class WebServiceError(Exception):
    """An error the web service answers in its envelope with a code, a status and a message."""

    def __init__(self, code: ErrorCode, arg: str | float | None = None) -> None:
        spec = _SPECS[code]
        self.code = code
        self.status = spec.status
        self.message = spec.template % arg if "%" in spec.template else spec.template
        super().__init__(self.message)

    @property
    def name(self) -> str:
        """The metric label of the original (``invalid_apikey``, ``too_many_requests``)."""
        return self.code.name.lower()

    def payload(self) -> dict[str, object]:
        return {"status": "error", "error": {"code": int(self.code), "message": self.message}}


def error_table() -> list[tuple[int, int, str]]:
    """``(code, HTTP status, message template)`` of every error, for documentation pages."""
    return [(int(code), spec.status, spec.template) for code, spec in _SPECS.items()]
