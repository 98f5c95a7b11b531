"""Handlers of the daemon itself: ping, status, config, events, the OpenAPI document; and the
types of the config as the API answers it, made from the declared sections (``config_type``)."""

from __future__ import annotations

import functools
import json
from typing import Annotated, Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tvctl.api import envelope
from tvctl.api.reading import (
    read_json,
    rt,
)
from tvctl.config import DaemonSettings, schema
from tvctl.errors import (
    BadRequest,
)
from tvctl.results import PlatformCredential, PlatformInfo, PlatformOption, Pong

_VALUE_TYPES: dict[type, Any] = {bool: bool, int: int, float: float, str: str, list: list[str]}


@functools.cache
def config_type() -> type[msgspec.Struct]:
    """The effective config as ``GET /v1/config`` answers it: one object per section (the core's
    and each installed platform's), each key typed as its section declares it. A secret is a
    string, ``***`` when it is set."""
    sections: dict[str, list[tuple[str, Any]]] = {}
    for key, f in schema().items():
        section, name = key.split(".", 1)
        about = f"{f.doc} (Secret: *** when set.)" if f.secret else f.doc
        sections.setdefault(section, []).append((name, Annotated[_VALUE_TYPES[f.type], msgspec.Meta(
            description=about)]))
    return msgspec.defstruct("Config", [
        (section, msgspec.defstruct(f"{section.title()}Config", fields, kw_only=True, frozen=True))
        for section, fields in sections.items()], kw_only=True, frozen=True)


@functools.cache
def config_change_type() -> type[msgspec.Struct]:
    """What a config reload or PATCH answers (and the ``config_reloaded`` event carries)."""
    return msgspec.defstruct("ConfigChange", [
        ("config", Annotated[config_type(), msgspec.Meta(description="The effective config now.")]),
        ("restart_required", Annotated[list[str], msgspec.Meta(
            description="The changed keys that take effect after a daemon restart.")]),
        ("changed", Annotated[list[str], msgspec.Meta(description="Every key whose value changed, sorted.")]),
    ], kw_only=True, frozen=True)


async def ping(request: Request) -> Response:
    pong: Pong = "pong"
    return envelope.ok(pong)


async def status(request: Request) -> Response:
    return envelope.ok(rt(request).status())


async def get_config(request: Request) -> Response:
    return envelope.ok(rt(request).settings.nested())


async def get_config_schema(request: Request) -> Response:
    from tvctl.config import describe

    return envelope.ok(describe())


async def list_platforms(request: Request) -> Response:
    out = [PlatformInfo(platform=name, default_port=cls.default_port,
                        credentials=[PlatformCredential(name=n, about=f.doc, secret=f.secret, prompt=f.prompt or n)
                                     for n, f in cls.credentials.items()],
                        options=[PlatformOption(name=n, about=f.doc) for n, f in cls.options.items()])
           for name, cls in rt(request).service.adapter_classes.items()]
    return envelope.ok(out)


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
