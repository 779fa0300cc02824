"""Track, recording, fingerprint and search pages over HTTP, against seeded real data."""

from __future__ import annotations

import html

from tests.web.site import WebClient
from tests.web.stack import MELODY_MBID, SPEECH_MBID, XSS_ARTIST, XSS_TITLE, WebStack


async def test_track_page_lists_fingerprints_recordings_and_escaped_user_metadata(
    browse_site: WebClient, web_stack: WebStack
) -> None:
    page = await browse_site.get(f"/track/{web_stack.seeded.track}")
    assert page.status_code == 200
    text = page.text
    assert "This track has 1 fingerprint and is linked to 1 MusicBrainz recording." in text
    assert MELODY_MBID in text
    assert "Additional user-submitted metadata" in text
    assert XSS_TITLE not in text and XSS_ARTIST not in text
    assert html.escape(XSS_TITLE, quote=False) in text or "&lt;script&gt;" in text
