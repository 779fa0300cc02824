"""Browsing the database: ``/track/<AcoustID or id>``, ``/mbid/<MBID>`` and ``/search``."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from libs.common.db import Database
from libs.common.models.fingerprint import Track, TrackMBID
from services.web import identify, track_data
from services.web.auth import current_user, resources
from services.web.browse_state import browse_state
from services.web.recordings import RecordingTitle
from services.web.search_query import QueryError, parse_fingerprint, parse_uuid
from services.web.templating import render

router = APIRouter(include_in_schema=False)

#: A pasted fingerprint this long was cut at fpcalc's 120 s: the file may be longer.
CUT_AT_SECONDS = 118


def _musicbrainz_url(request: Request) -> str:
    return resources(request).settings.musicbrainz_url.rstrip("/")


def _by_title(link: track_data.Link, titles: dict[str, RecordingTitle]) -> tuple[bool, str, str]:
    """Recordings by name, as acoustid.org lists them; those without a title last."""
    title = titles.get(link.mbid)
    return title is None, title.title.casefold() if title else "", link.mbid


@router.get("/track/{ref}", response_class=HTMLResponse)
async def track(request: Request, ref: str, disabled: str = "") -> Response:
    databases = resources(request).databases
    page = await track_data.current_page(databases, ref)
    if page is None:
        raise HTTPException(404, "There is no track with this AcoustID.")
    if ref not in (page.track.gid, str(page.track.id)):
        return RedirectResponse(f"/track/{page.track.gid}", status_code=301)
    titles = await browse_state(request).titles.titles(link.mbid for link in page.links)
    links = sorted(page.links, key=lambda link: _by_title(link, titles))
    user = await current_user(request)
    moderator = user is not None and user.can_moderate
    history = await track_data.history(databases, page.links) if moderator else []
    show_disabled = disabled == "1"
    return await render(
        request,
        "track.html",
        page=page,
        enabled=[link for link in links if not link.disabled],
        disabled_links=[link for link in links if link.disabled],
        show_disabled=show_disabled,
        titles=titles,
        moderator=moderator,
        history=history,
        musicbrainz=_musicbrainz_url(request),
    )


@router.get("/mbid/{mbid}", response_class=HTMLResponse)
async def mbid(request: Request, mbid: str) -> HTMLResponse:
    gid = parse_uuid(mbid)
    tracks = await track_data.tracks_of_mbid(resources(request).databases, gid) if gid else []
    titles = await browse_state(request).titles.titles([gid]) if gid else {}
    if not tracks and not titles:
        return await render(
            request,
            "mbid.html",
            404,
            mbid=mbid,
            known=False,
            tracks=[],
            title=None,
            musicbrainz=_musicbrainz_url(request),
        )
    return await render(
        request,
        "mbid.html",
        mbid=str(gid),
        known=True,
        tracks=tracks,
        title=titles.get(str(gid)),
        musicbrainz=_musicbrainz_url(request),
    )


async def _uuid_target(request: Request, gid: uuid.UUID) -> str | None:
    databases = resources(request).databases
    if await databases.fetch(Database.FINGERPRINT, select(Track.id).where(Track.gid == gid)):
        return f"/track/{gid}"
    if await databases.fetch(
        Database.FINGERPRINT, select(TrackMBID.id).where(TrackMBID.mbid == gid).limit(1)
    ):
        return f"/mbid/{gid}"
    return None


def _duration(value: str) -> float | None:
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 < seconds < 24 * 3600 else None


@router.get("/search", response_class=HTMLResponse)
async def search(request: Request, q: str = "", duration: str = "") -> Response:
    query = q.strip()
    if not query:
        return await render(request, "search.html", query="", error=None, ask_duration=None)
    gid = parse_uuid(query)
    if gid is not None:
        target = await _uuid_target(request, gid)
        if target is not None:
            return RedirectResponse(target, status_code=303)
        error = "No AcoustID and no linked MusicBrainz recording has this id."
        return await render(
            request, "search.html", 404, query=query, error=error, ask_duration=None
        )
    try:
        pasted = parse_fingerprint(query)
    except QueryError as exc:
        return await render(
            request, "search.html", 422, query=query, error=str(exc), ask_duration=None
        )
    seconds = _duration(duration) or pasted.duration
    if seconds is None and pasted.estimated_duration >= CUT_AT_SECONDS:
        return await render(
            request,
            "search.html",
            query=query,
            error=None,
            ask_duration=pasted.estimated_duration,
        )
    outcome = identify.Outcome("the pasted fingerprint")
    try:
        outcome.matches = await identify.lookup(
            browse_state(request).http,
            resources(request).settings,
            seconds or pasted.estimated_duration,
            pasted.fingerprint,
        )
    except identify.IdentifyError as exc:
        outcome.error = exc
    return await render(
        request, "search_results.html", outcome.status, outcome=outcome, query=query
    )
