"""Handlers of the daemon itself: ping, status, config, events, the OpenAPI document."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tvctl.api import envelope
from tvctl.api.requests import (
    read_json,
    rt,
)
from tvctl.config import DaemonSettings
from tvctl.errors import (
    BadRequest,
)


async def ping(request: Request) -> Response:
    return envelope.ok("pong")


async def status(request: Request) -> Response:
    return envelope.ok(rt(request).status())


async def get_config(request: Request) -> Response:
    return envelope.ok(rt(request).settings.nested())


async def get_config_schema(request: Request) -> Response:
    from tvctl.config import describe

    return envelope.ok(describe())


async def patch_config(request: Request) -> Response:
    body = await read_json(request)
    if not body:
        raise BadRequest("The patch is empty.", hint='Example: {"daemon.cors_enabled": true}')
    result = await rt(request).patch(body)
    request.app.state.sessions.observe()  # a changed api_token ends the web sessions at once
    return envelope.ok(result)


async def reload_config(request: Request) -> Response:
    result = await rt(request).reload()
    request.app.state.sessions.observe()
    return envelope.ok(result)


async def events(request: Request) -> Response:
    return StreamingResponse(
        rt(request).bus.subscribe(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def openapi(request: Request) -> Response:
    from tvctl.api.openapi import build, server_url

    runtime = rt(request)
    daemon = runtime.settings.section(DaemonSettings)
    url = server_url(daemon.http_host, runtime.http_port) if daemon.http_enabled and runtime.http_port else None
    return Response(json.dumps(build(request.app.state.routes, server=url)), media_type="application/json")
