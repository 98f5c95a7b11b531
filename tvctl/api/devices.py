"""Handlers of the device registry: list (with its query), add, discover, show, rename, remove."""

from __future__ import annotations

import asyncio
import ipaddress
import re
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tvctl.api import envelope
from tvctl.api.requests import (
    bool_param,
    field,
    int_param,
    read_json,
    reject_unknown,
    rt,
)
from tvctl.errors import (
    BadRequest,
    InvalidQuery,
    TvctlError,
)
from tvctl.events import Event
from tvctl.models import Device, Discovered

LIST_SORT_FIELDS = {"name", "display_name", "model", "host", "first_seen", "last_seen", "id", "kind", "online"}
LIST_FILTER_FIELDS = {"name", "display_name", "platform", "host", "model", "serial", "kind", "online", "id"}


async def list_devices(request: Request) -> Response:
    unknown = set(request.query_params) - {"limit", "start", "sort_by", "sort_reverse", "filter"}
    if unknown:
        raise InvalidQuery(f"Unknown query parameter(s): {', '.join(sorted(unknown))}.",
                           hint="Use limit, start, sort_by, sort_reverse and filter=field==v1,v2.")
    devices = rt(request).service.registry.all()  # encoded as they are: no dict per device
    for flt in request.query_params.getlist("filter"):
        fname, sep, values = flt.partition("==")
        if not sep or fname not in LIST_FILTER_FIELDS or not values:
            fields = ", ".join(sorted(LIST_FILTER_FIELDS))
            raise InvalidQuery(f"Bad filter {flt!r}.", hint=f"Write filter=FIELD==v1,v2 with FIELD one of {fields}.")
        wanted = {v.lower() for v in values.split(",")}
        devices = [d for d in devices if str(getattr(d, fname)).lower() in wanted]
    sort_by = request.query_params.get("sort_by", "name")
    if sort_by not in LIST_SORT_FIELDS:
        raise InvalidQuery(f"Cannot sort by {sort_by!r}.",
                           hint="sort_by is one of " + ", ".join(sorted(LIST_SORT_FIELDS)))
    devices.sort(key=lambda d: (getattr(d, sort_by) is None, getattr(d, sort_by)),
                 reverse=bool_param(request, "sort_reverse"))
    start = int_param(request, "start", 0, 0, 1_000_000)
    limit = int_param(request, "limit", 1000, 1, 1000)
    return envelope.ok(devices[start : start + limit])


_HOST_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def check_host(host: str) -> None:
    """An IPv4 address or a DNS host name (RFC 1123 labels); anything else is refused up front
    rather than sent to the resolver."""
    hint = 'An IPv4 address or a host name, e.g. {"host": "192.168.1.50"} or {"host": "tv-living.lan"}'
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        labels = host.removesuffix(".").split(".")
        if 0 < len(host) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels) \
                and not labels[-1].isdigit():
            return
        raise BadRequest(f"{host!r} is not an IPv4 address or a host name.", hint=hint) from None
    if addr.version != 4:
        raise BadRequest(f"{host!r} is an IPv6 address; tvctl reaches devices over IPv4.", hint=hint)


async def add_device(request: Request) -> Response:
    body = await read_json(request)
    reject_unknown(body, {"host", "port", "platform"})
    host = field(body, "host", str).strip()
    port = field(body, "port", int, None)
    platform = field(body, "platform", str, None)
    check_host(host)
    if port is not None and not 0 < port < 65536:
        raise BadRequest("port must be 1-65535.", hint="Leave it out for the platform's default port.")
    dev = await rt(request).service.add_by_address(host, port, platform)
    return envelope.ok(dev.to_dict())


async def discover(request: Request) -> Response:
    """Run discovery; with ``Accept: text/event-stream`` each device is streamed as it is confirmed
    (``device_found``), then the result (``done``, an envelope), instead of one reply at the end."""
    await read_json(request, optional=True)
    service = rt(request).service
    if "text/event-stream" not in request.headers.get("accept", ""):
        devices = await service.discover()
        return envelope.ok(Discovered(devices))
    found: asyncio.Queue[Device | None] = asyncio.Queue()
    run = asyncio.ensure_future(service.discover(found.put_nowait))
    run.add_done_callback(lambda _t: found.put_nowait(None))

    async def stream() -> AsyncIterator[bytes]:
        try:
            yield b": discovering\n\n"
            while (dev := await found.get()) is not None:
                yield Event("device_found", dev.to_dict()).sse()
            try:
                result: dict[str, Any] = {"ok": True, "data": {"devices": [d.to_dict() for d in run.result()]}}
            except TvctlError as exc:
                result = {"ok": False, "error": exc.to_dict()}
            yield Event("done", result).sse()
        finally:
            run.cancel()  # this caller's wait only: the shared run goes on for the others

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


async def get_device(request: Request) -> Response:
    return envelope.ok(rt(request).service.resolve(request.path_params["id"]).to_dict())


async def patch_device(request: Request) -> Response:
    body = await read_json(request)
    reject_unknown(body, {"name"})
    dev = await rt(request).service.rename(request.path_params["id"], field(body, "name", str))
    return envelope.ok(dev.to_dict())


async def delete_device(request: Request) -> Response:
    return envelope.ok((await rt(request).service.remove(request.path_params["id"])).to_dict())
