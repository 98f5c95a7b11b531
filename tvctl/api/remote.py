"""The device routes the operation table (``tvctl.api.operated``) does not make: app icons (bytes with
an ETag), screenshots (image bytes), and the key sequence (which can stream its progress)."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from tvctl.api import envelope
from tvctl.api.bodies import (
    KeySequence,
    ScreenshotQuery,
)
from tvctl.api.reading import client_presence, read_body, read_query, rt
from tvctl.events import Event
from tvctl.keys import parse_key
from tvctl.operations import SEQUENCE_DELAY_MS
from tvctl.results import SequenceResult


async def app_icon(request: Request) -> Response:
    body, ctype, etag = await rt(request).service.icon(request.path_params["id"], request.path_params["app"])
    quoted = f'"{etag}"'
    headers = {"ETag": quoted, "Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == quoted:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=ctype, headers=headers)


async def remote_sequence(request: Request) -> Response:
    """Press keys in order; with ``Accept: text/event-stream``, a ``key`` event ({sent, total}) after
    each one, then the result (``done``, an envelope), so a client can show progress."""
    body = await read_body(request, KeySequence)
    keys = [parse_key(k) for k in body.keys]
    delay = SEQUENCE_DELAY_MS if body.delay_ms is None else body.delay_ms
    service = rt(request).service
    ident = request.path_params["id"]
    if "text/event-stream" not in request.headers.get("accept", ""):
        async with client_presence(request) as caller:
            return envelope.ok(await service.send_sequence(ident, keys, delay, caller))
    service.check_sequence(ident, keys)  # an unknown device or key is an error status, not a stream
    updates: asyncio.Queue[Event | None] = asyncio.Queue()

    async def press() -> SequenceResult:
        async with client_presence(request) as caller:
            return await service.send_sequence(
                ident, keys, delay, caller,
                progress=lambda n: updates.put_nowait(Event("key", {"sent": n, "total": len(keys)})))

    return envelope.progress_stream("pressing", updates, asyncio.ensure_future(press()))  # leaving: no more keys


async def screenshot(request: Request) -> Response:
    q = read_query(request, ScreenshotQuery)
    body, ctype = await rt(request).service.screenshot(request.path_params["id"], q.display, q.session, q.format)
    return Response(body, media_type=ctype, headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
