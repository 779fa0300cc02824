"""What the browse, search and upload pages keep per process, made on first use.

The app factory belongs to the website's core; these objects hang off ``app.state`` the
first time a page needs them: the MusicBrainz title reader, the HTTP client the website
looks fingerprints up with, and the slots that bound how many uploads decode at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
from fastapi import Request

from services.web.auth import resources
from services.web.recordings import RecordingTitles

LOOKUP_TIMEOUT = 10.0


@dataclass
class BrowseState:
    titles: RecordingTitles
    http: httpx.AsyncClient
    identify_slots: asyncio.Semaphore


def browse_state(request: Request) -> BrowseState:
    state: BrowseState | None = getattr(request.app.state, "browse", None)
    if state is None:
        settings = resources(request).settings
        state = BrowseState(
            titles=RecordingTitles(settings),
            http=httpx.AsyncClient(timeout=LOOKUP_TIMEOUT),
            identify_slots=asyncio.Semaphore(settings.website_identify_concurrency),
        )
        request.app.state.browse = state
    return state
