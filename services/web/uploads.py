"""Receiving an uploaded file with a size limit, before any of it is kept beyond the limit.

Starlette's form parser reads the whole body; here the body stream is counted on its way
into the parser, so an upload past ``ACOUSTID_WEBSITE_MAX_UPLOAD`` stops being stored at
the limit. The rest of the body is still read (and dropped) up to a ceiling, because a
browser that is cut off mid-upload shows a connection error instead of our message.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

#: Bytes of form fields and multipart framing allowed on top of the file itself.
OVERHEAD = 64 * 1024
#: How much of an oversized body is read and dropped before the connection is closed.
DRAIN_FACTOR = 4


class UploadTooLarge(Exception):
    pass


class BadUpload(Exception):
    pass


@dataclass
class Upload:
    form: FormData
    path: Path
    filename: str
    size: int

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


async def _counted(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise UploadTooLarge
        yield chunk


async def drain(request: Request, ceiling: int) -> None:
    """Reads what is left of the body, so the browser gets to see the answer."""
    seen = 0
    while seen < ceiling:
        message = await request.receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def _copy_to_disk(upload: UploadFile, suffix: str) -> tuple[Path, int]:
    fd, name = tempfile.mkstemp(prefix="acoustid-upload-", suffix=suffix)
    with os.fdopen(fd, "wb") as out:
        upload.file.seek(0)
        shutil.copyfileobj(upload.file, out, 1 << 20)
        return Path(name), out.tell()


async def receive_upload(request: Request, field: str, max_bytes: int) -> Upload:
    """The form and the file in ``field`` saved to a temporary file of its own.

    Raises UploadTooLarge past ``max_bytes`` and BadUpload for a body that is not a form
    with that file.
    """
    limit = max_bytes + OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        await drain(request, limit * DRAIN_FACTOR)
        raise UploadTooLarge
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise BadUpload("The upload must be sent as a multipart form.")
    parser = MultiPartParser(request.headers, _counted(request, limit), max_files=1, max_fields=10)
    try:
        form = await parser.parse()
    except UploadTooLarge:
        await drain(request, limit * DRAIN_FACTOR)
        raise
    except MultiPartException as exc:
        raise BadUpload(f"The upload could not be read: {exc.message}") from None
    upload = form.get(field)
    if not isinstance(upload, UploadFile) or not upload.filename:
        await form.close()
        raise BadUpload("Choose an audio file to upload.")
    try:
        suffix = Path(upload.filename).suffix[:10]
        path, size = await asyncio.to_thread(_copy_to_disk, upload, suffix)
    finally:
        await form.close()
    if size > max_bytes:
        path.unlink(missing_ok=True)
        raise UploadTooLarge
    if size == 0:
        path.unlink(missing_ok=True)
        raise BadUpload("The file is empty.")
    return Upload(form, path, Path(upload.filename).name, size)
