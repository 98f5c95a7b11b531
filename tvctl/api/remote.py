"""Handlers that drive a device: state, apps, icons, keys, screenshots."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tvctl.api import envelope
from tvctl.api.requests import (
    client_presence,
    field,
    read_json,
    reject_unknown,
    rt,
)
from tvctl.errors import (
    BadRequest,
)
from tvctl.keys import parse_key


async def device_state(request: Request) -> Response:
    return envelope.ok(await rt(request).service.state(request.path_params["id"]))


async def list_apps(request: Request) -> Response:
    return envelope.ok(await rt(request).service.apps(request.path_params["id"]))


async def refresh_apps(request: Request) -> Response:
    body = await read_json(request, optional=True)
    reject_unknown(body, {"clear"})
    clear = field(body, "clear", bool, False)
    return envelope.ok(await rt(request).service.apps(request.path_params["id"], refresh=True, clear=clear))


async def launch_app(request: Request) -> Response:
    body = await read_json(request)
    reject_unknown(body, {"app", "params"})
    app = field(body, "app", str)
    params = field(body, "params", dict, {})
    for k, v in params.items():
        if not isinstance(v, str | int | float) or isinstance(v, bool):
            raise BadRequest(f"Launch parameter {k!r} must be a string or number.",
                             hint='Example: {"params": {"contentId": "abc", "mediaType": "movie"}}')
    params = {str(k): str(v) for k, v in params.items()}
    async with client_presence(request) as caller:
        return envelope.ok(await rt(request).service.launch(request.path_params["id"], app, params, caller))


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
    body = await read_json(request)
    reject_unknown(body, {"key", "hold_ms", "repeat"})
    key = parse_key(field(body, "key", str))
    hold = field(body, "hold_ms", int, 0)
    repeat = field(body, "repeat", int, 1)
    async with client_presence(request) as caller:
        return envelope.ok(await rt(request).service.send_key(request.path_params["id"], key, hold, repeat, caller))


async def remote_sequence(request: Request) -> Response:
    body = await read_json(request)
    reject_unknown(body, {"keys", "delay_ms"})
    raw = field(body, "keys", list)
    keys = [parse_key(k) for k in raw]
    delay = field(body, "delay_ms", int, 200)
    async with client_presence(request) as caller:
        return envelope.ok(await rt(request).service.send_sequence(request.path_params["id"], keys, delay, caller))


async def screenshot(request: Request) -> Response:
    body, ctype = await rt(request).service.screenshot(request.path_params["id"])
    return Response(body, media_type=ctype, headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
