"""Handlers that drive a device: state, apps, icons, keys, screenshots."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from tvctl.api import envelope
from tvctl.api.bodies import (
    KeyPress,
    KeySequence,
    LaunchApp,
    PlayMedia,
    RefreshApps,
    ScreenshotQuery,
    Search,
    TvTune,
    check_media_url,
)
from tvctl.api.reading import client_presence, read_body, read_json, read_query, rt
from tvctl.events import Event
from tvctl.keys import parse_key
from tvctl.results import PlayRequest, SequenceResult


async def device_state(request: Request) -> Response:
    return envelope.ok(await rt(request).service.state(request.path_params["id"]))


async def list_apps(request: Request) -> Response:
    return envelope.ok(await rt(request).service.apps(request.path_params["id"]))


async def refresh_apps(request: Request) -> Response:
    body = await read_body(request, RefreshApps, optional=True)
    return envelope.ok(await rt(request).service.apps(request.path_params["id"], refresh=True, clear=bool(body.clear)))


async def launch_app(request: Request) -> Response:
    body = await read_body(request, LaunchApp)
    params = {k: str(v) for k, v in (body.params or {}).items()}
    async with client_presence(request) as caller:
        return envelope.ok(await rt(request).service.launch(request.path_params["id"], body.app, params, caller))


async def stop_app(request: Request) -> Response:
    await read_json(request, optional=True)
    async with client_presence(request) as caller:
        return envelope.ok(await rt(request).service.stop_app(request.path_params["id"], caller))


async def app_icon(request: Request) -> Response:
    body, ctype, etag = await rt(request).service.icon(request.path_params["id"], request.path_params["app"])
    quoted = f'"{etag}"'
    headers = {"ETag": quoted, "Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == quoted:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=ctype, headers=headers)


async def remote_key(request: Request) -> Response:
    body = await read_body(request, KeyPress)
    key = parse_key(body.key)
    async with client_presence(request) as caller:
        return envelope.ok(await rt(request).service.send_key(request.path_params["id"], key, body.hold_ms or 0,
                                                              body.repeat or 1, caller))


async def remote_sequence(request: Request) -> Response:
    """Press keys in order; with ``Accept: text/event-stream``, a ``key`` event ({sent, total}) after
    each one, then the result (``done``, an envelope), so a client can show progress."""
    body = await read_body(request, KeySequence)
    keys = [parse_key(k) for k in body.keys]
    delay = 200 if body.delay_ms is None else body.delay_ms
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
    body, ctype = await rt(request).service.screenshot(request.path_params["id"], q.display)
    return Response(body, media_type=ctype, headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


async def search(request: Request) -> Response:
    body = await read_body(request, Search)
    async with client_presence(request) as caller:
        return envelope.ok(await rt(request).service.search(
            request.path_params["id"], body.keyword, app=body.app, type=body.type, season=body.season,
            launch=bool(body.launch), strategy=body.strategy or "auto", caller=caller))


async def tv_channels(request: Request) -> Response:
    return envelope.ok(await rt(request).service.tv_channels(request.path_params["id"]))


async def tv_tune(request: Request) -> Response:
    body = await read_body(request, TvTune)
    async with client_presence(request) as caller:
        return envelope.ok(await rt(request).service.tv_tune(request.path_params["id"], body.channel, caller))


async def play_media(request: Request) -> Response:
    body = await read_body(request, PlayMedia)
    play = PlayRequest(url=check_media_url(body.url), type=body.type or "video", title=body.title,
                       format=body.format)
    async with client_presence(request) as caller:
        return envelope.ok(await rt(request).service.play_media(request.path_params["id"], play, caller))
