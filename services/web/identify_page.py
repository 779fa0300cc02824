"""``/identify``: upload a song, see which AcoustIDs it matches.

The answer to the upload is the result page itself. A file that is done within a second
(or rejected) gets an ordinary page with a meaningful status; a longer one gets the page
streamed: its top at once, then a bar that grows as decoding goes on, then the results,
all in one response, so progress shows without JavaScript and without reloading.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from libs.common.settings import Settings
from services.web import identify
from services.web.auth import resources
from services.web.browse_state import BrowseState, browse_state
from services.web.csrf import check_csrf
from services.web.identify import IdentifyError, Outcome, Progress
from services.web.templating import env, render
from services.web.uploads import BadUpload, Upload, UploadTooLarge, receive_upload

router = APIRouter(include_in_schema=False)

FIELD = "audio"
#: How long the upload's answer waits for a result before it streams progress instead.
QUICK_ANSWER = 1.0
#: Seconds the page waits between two steps of the progress bar.
PROGRESS_STEP = 0.4
#: Extra seconds past the decoding time limit before the thread is given up on.
GRACE = 5.0
STREAM_MARK = "<!--progress-->"
RESULTS_MARK = "<!--results-->"


def _size_text(size: int) -> str:
    return f"{size / 1_000_000:g} MB" if size >= 1_000_000 else f"{size:,} bytes"


@dataclass(frozen=True)
class UploadForm:
    """What the upload form shows: the file types to offer and the size limit."""

    accept: str
    max_upload: str


def _upload_form(request: Request) -> UploadForm:
    limit = resources(request).settings.website_max_upload
    return UploadForm(identify.ACCEPT, _size_text(limit))


async def _form(request: Request, status: int = 200, error: str | None = None) -> HTMLResponse:
    return await render(request, "identify.html", status, error=error, form=_upload_form(request))


@router.get("/identify", response_class=HTMLResponse)
async def identify_form(request: Request) -> HTMLResponse:
    return await _form(request)


async def _identify(
    state: BrowseState, settings: Settings, upload: Upload, progress: Progress
) -> Outcome:
    outcome = Outcome(upload.filename)
    try:
        async with state.identify_slots:
            limit = settings.website_identify_timeout
            work = asyncio.to_thread(identify.fingerprint_upload, str(upload.path), limit, progress)
            try:
                fp = await asyncio.wait_for(work, limit + GRACE)
            except TimeoutError:
                raise IdentifyError(
                    f"Processing this file took longer than {limit:g} seconds.", status=413
                ) from None
        outcome.fingerprinted = fp
        outcome.matches = await identify.lookup(state.http, settings, fp.duration, fp.fingerprint)
    except IdentifyError as exc:
        outcome.error = exc
    finally:
        upload.remove()
    return outcome


def _results(request: Request, outcome: Outcome) -> str:
    return env.get_template("identify_results.html").render(request=request, outcome=outcome)


@router.post("/identify", response_class=HTMLResponse)
async def identify_upload(request: Request) -> Response:
    settings = resources(request).settings
    try:
        upload = await receive_upload(request, FIELD, settings.website_max_upload)
    except UploadTooLarge:
        limit = _size_text(settings.website_max_upload)
        return await _form(
            request, 413, f"The file is larger than {limit}, the most this site accepts."
        )
    except BadUpload as exc:
        return await _form(request, 422, str(exc))
    try:
        check_csrf(request, upload.form)
        await asyncio.to_thread(_probe, upload)
    except HTTPException:
        upload.remove()
        raise
    except IdentifyError as exc:
        upload.remove()
        return await _form(request, exc.status, exc.message)
    progress = Progress()
    task = asyncio.create_task(_identify(browse_state(request), settings, upload, progress))
    done, _ = await asyncio.wait({task}, timeout=QUICK_ANSWER)
    if done:
        outcome = task.result()
        return await render(
            request,
            "identify_result.html",
            outcome.status,
            outcome=outcome,
            streaming=False,
            form=_upload_form(request),
        )
    page = (
        await render(
            request, "identify_result.html", outcome=Outcome(upload.filename), streaming=True
        )
    ).body
    return StreamingResponse(
        _stream(request, bytes(page).decode(), task, progress),
        media_type="text/html; charset=utf-8",
        headers={"X-Accel-Buffering": "no", "Cache-Control": "no-store"},
    )


def _probe(upload: Upload) -> None:
    """Opens the file once, so a file that is not audio is refused before any waiting."""
    identify.open_audio(str(upload.path)).close()


async def _stream(
    request: Request, page: str, task: asyncio.Task[Outcome], progress: Progress
) -> AsyncIterator[str]:
    head, rest = page.split(STREAM_MARK, 1)
    middle, tail = rest.split(RESULTS_MARK, 1)
    yield head
    shown = -1
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=PROGRESS_STEP)
            percent = int(progress.fraction * 100)
            if percent != shown:
                shown = percent
                yield f'<span class="bar" style="width:{percent}%"></span>\n'
        yield middle + _results(request, task.result()) + tail
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
