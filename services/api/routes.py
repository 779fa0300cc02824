"""Every path of the web service and the handler behind it (acoustid.org's ``api_url_rules``).

``name`` is the original handler class, used as the ``request`` label of the metrics.
"""

from __future__ import annotations

from typing import Any

from libs.common import api_spec as openapi
from services.api import internal, lookup, submit, tracks, users
from services.api.endpoint import Endpoint
from services.api.formats import Format

ENDPOINTS: list[Endpoint[Any]] = [
    Endpoint(
        "/v2/lookup",
        "LookupHandler",
        "Identify fingerprints (or AcoustIDs) and return matching tracks",
        lookup.parse_lookup,
        lookup.run_lookup,
        openapi.LOOKUP,
    ),
    Endpoint(
        "/v2/submit",
        "SubmitHandler",
        "Submit fingerprints with what is known about them, for import",
        submit.parse_submit,
        submit.run_submit,
        openapi.SUBMIT,
    ),
    Endpoint(
        "/v2/submission_status",
        "SubmissionStatusHandler",
        "Whether submissions have been imported, and into which AcoustID",
        submit.parse_submission_status,
        submit.run_submission_status,
        openapi.SUBMISSION_STATUS,
    ),
    Endpoint(
        "/v2/track/list_by_mbid",
        "TrackListByMBIDHandler",
        "AcoustIDs linked to MusicBrainz recordings",
        tracks.parse_list_by_mbid,
        tracks.run_list_by_mbid,
        openapi.LIST_BY_MBID,
    ),
    Endpoint(
        "/v2/track/list_by_puid",
        "TrackListByPUIDHandler",
        "AcoustIDs linked to a PUID (always none: PUIDs are retired)",
        tracks.parse_list_by_puid,
        tracks.run_list_by_puid,
        openapi.LIST_BY_PUID,
    ),
    Endpoint(
        "/v2/fingerprint",
        "GetFingerprintHandler",
        "A stored fingerprint's raw hashes and duration",
        tracks.parse_fingerprint,
        tracks.run_fingerprint,
        openapi.FINGERPRINT,
    ),
    Endpoint(
        "/v2/user/lookup",
        "UserLookupHandler",
        "Check a user API key",
        users.parse_user_lookup,
        users.run_user_lookup,
        openapi.USER_LOOKUP,
    ),
    Endpoint(
        "/v2/user/create_anonymous",
        "UserCreateAnonymousHandler",
        "Create an anonymous user and return its API key",
        users.parse_create_anonymous,
        users.run_create_anonymous,
        openapi.CREATE_ANONYMOUS,
    ),
    Endpoint(
        "/v2/user/create_musicbrainz",
        "UserCreateMusicBrainzHandler",
        "Find or create the user of a MusicBrainz OAuth2 access token (HTTPS only)",
        users.parse_create_musicbrainz,
        users.run_create_musicbrainz,
        openapi.CREATE_MUSICBRAINZ,
    ),
    Endpoint(
        "/lookup",
        "v1.LookupHandler",
        "Legacy v1 lookup (XML only, length instead of duration)",
        lookup.parse_legacy_lookup,
        lookup.run_legacy_lookup,
        openapi.LEGACY_LOOKUP,
        forced_format=Format.XML,
    ),
    Endpoint(
        "/submit",
        "v1.SubmitHandler",
        "Legacy v1 submit (XML only, length instead of duration)",
        submit.parse_legacy_submit,
        submit.run_submit,
        openapi.LEGACY_SUBMIT,
        forced_format=Format.XML,
    ),
    *(
        Endpoint(
            f"/v2/internal/{name}",
            handler,
            summary,
            getattr(internal, f"parse_{name}"),
            getattr(internal, f"run_{name}"),
            openapi.INTERNAL[name],
        )
        for name, handler, summary in (
            ("update_lookup_stats", "UpdateLookupStatsHandler", "Add to hourly lookup counts"),
            ("update_user_agent_stats", "UpdateUserAgentStatsHandler", "Add to user-agent counts"),
            ("lookup_stats", "LookupStatsHandler", "Daily lookup counts of applications"),
            ("create_account", "CreateAccountHandler", "Create an account"),
            ("create_application", "CreateApplicationHandler", "Create an application"),
            (
                "update_application_status",
                "UpdateApplicationStatusHandler",
                "Enable or disable an application",
            ),
            ("check_application", "CheckApplicationHandler", "Resolve an application key"),
        )
    ),
]
