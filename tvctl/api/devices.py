"""Handlers of the device registry: list (with its query), add, discover, show, rename, remove."""

from __future__ import annotations

import asyncio
import ipaddress
import re

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from tvctl.api import envelope
from tvctl.api.bodies import AddDevice, CredentialChanges, DeviceListQuery, PatchDevice
from tvctl.api.reading import read_body, read_json, read_query, rt
from tvctl.errors import (
    BadRequest,
)
from tvctl.events import Event
from tvctl.models import Discovered


async def list_devices(request: Request) -> Response:
    q = read_query(request, DeviceListQuery)
    devices = rt(request).service.registry.all()  # encoded as they are: no dict per device
    for flt in q.filter:
        fname, _, values = flt.partition("==")
        wanted = {v.lower() for v in values.split(",")}
        devices = [d for d in devices if str(getattr(d, fname)).lower() in wanted]
    devices.sort(key=lambda d: (getattr(d, q.sort_by) is None, getattr(d, q.sort_by)), reverse=q.sort_reverse)
    return envelope.ok(devices[q.start : q.start + q.limit])


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
    body = await read_body(request, AddDevice)
    host = body.host.strip()
    check_host(host)
    return envelope.ok(await rt(request).service.add_by_address(host, body.port, body.platform, body.credentials))


async def discover(request: Request) -> Response:
    """Run discovery; with ``Accept: text/event-stream`` each device is streamed as it is confirmed
    (``device_found``), then the result (``done``, an envelope), instead of one reply at the end."""
    await read_json(request, optional=True)
    service = rt(request).service
    if "text/event-stream" not in request.headers.get("accept", ""):
        devices = await service.discovery.discover()
        return envelope.ok(Discovered(devices))
    updates: asyncio.Queue[Event | None] = asyncio.Queue()
    run = asyncio.ensure_future(service.discovery.discover(
        lambda dev: updates.put_nowait(Event("device_found", dev.to_dict()))))
    # this caller's wait only is cancelled when it leaves: the shared run goes on for the others
    return envelope.progress_stream("discovering", updates, run,
                                    lambda devices: {"devices": [d.to_dict() for d in devices]})


async def get_device(request: Request) -> Response:
    return envelope.ok(rt(request).service.resolve(request.path_params["id"]))


async def patch_device(request: Request) -> Response:
    body = await read_body(request, PatchDevice)
    if body.name is None and body.credentials is None and body.tls_fingerprint is None and body.options is None:
        raise BadRequest("Name something to change: name, credentials, options or tls_fingerprint.",
                         hint='Example: {"name": "living-room"}')
    return envelope.ok(await rt(request).service.patch(request.path_params["id"], name=body.name,
                                                       credentials=body.credentials, options=body.options,
                                                       tls_fingerprint=body.tls_fingerprint))


async def delete_device(request: Request) -> Response:
    return envelope.ok(await rt(request).service.remove(request.path_params["id"]))


async def get_credentials(request: Request) -> Response:
    return envelope.ok(rt(request).service.credential_report(request.path_params["id"]))


async def patch_credentials(request: Request) -> Response:
    raw = await read_json(request)
    if not raw:
        raise BadRequest("Name at least one credential to set or clear.",
                         hint='Example: {"dev_password": "1234"}; null forgets a value.')
    try:
        changes = msgspec.convert(raw, CredentialChanges)
    except msgspec.ValidationError as exc:  # the message names the field, never the value
        raise BadRequest(f"A credential must be a string of 1 to 1024 characters, or null: {exc}.",
                         hint='Example: {"dev_password": "1234"}; null forgets a value.') from None
    return envelope.ok(await rt(request).service.set_credentials(request.path_params["id"], changes))


async def delete_credentials(request: Request) -> Response:
    service = rt(request).service
    report = service.credential_report(request.path_params["id"])
    kept: dict[str, str | None] = {f.name: None for f in report.fields if f.set}
    if not kept:
        return envelope.ok(report)
    return envelope.ok(await service.set_credentials(request.path_params["id"], kept))
