"""The Starlette application: thin handlers (parse → service → envelope) and the route table.

The route table also carries each endpoint's summary and body schema, from which
``/v1/openapi.json`` is generated, so the document cannot fall behind the routes.
The API reference for humans is docs/api.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import re
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tvctl.api import envelope
from tvctl.api.security import GuardMiddleware
from tvctl.config import schema as config_schema
from tvctl.errors import (
    BadRequest,
    InvalidArchive,
    InvalidJson,
    InvalidQuery,
    MethodNotAllowed,
    PayloadTooLarge,
    RouteNotFound,
    StorageFailed,
    TvctlError,
    UnsupportedMediaType,
)
from tvctl.events import Event
from tvctl.keys import parse_key
from tvctl.models import AppList, Device, Discovered, StateReport
from tvctl.runtime import Runtime

Handler = Callable[[Request], Awaitable[Response]]
UPLOAD_HINT = "curl -F archive=@channel.zip …"


def write_all(fd: int, view: memoryview) -> None:
    """Write an upload chunk in place, on the event loop.

    A chunk is at most one socket read (1 MiB, see ``tvctl.daemon.UPLOAD_READ_SIZE``) and lands
    in the page cache in well under a millisecond. Handing each write to a thread cost more than
    it saved on a 2-core machine (the 50 MiB receive of bench/sideload.py took ~0.07 s with thread
    hand-offs, ~0.055 s inline), and the slices are memoryviews of uvicorn's chunk, so nothing is
    copied before the kernel.
    """
    while view:
        view = view[os.write(fd, view):]


def rt(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.rt
    return runtime


async def read_json(request: Request, *, optional: bool = False) -> dict[str, Any]:
    """The body as a JSON object, read with the size limit enforced while streaming."""
    limit = rt(request).settings["daemon.max_body_kb"] * 1024
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        if optional:
            return {}
        raise InvalidJson("This endpoint needs a JSON object body.")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidJson(f"The body is not valid JSON: {exc}.") from exc
    if b"\\u" in raw and not encodes_as_utf8(body):
        # JSON allows "\ud800" on its own; Python then holds a string no file, URL or socket can take.
        raise InvalidJson("The body holds an unpaired surrogate escape (like \\ud800), which is not text.",
                          hint="Escape characters outside the BMP as a surrogate pair, or send them as UTF-8.")
    if not isinstance(body, dict):
        raise InvalidJson(f"The body must be a JSON object, got {type(body).__name__}.")
    return body


class ClientPresence:
    """Whether the client of a request whose body is already read is still connected.

    With the body consumed, the next ASGI ``receive()`` returns only when the connection ends
    (``http.disconnect``). A task waits on it, started only when a command has to queue (the
    uncontended key press pays nothing).
    """

    def __init__(self, request: Request) -> None:
        self._receive = request.receive
        self._gone: asyncio.Event | None = None
        self._watcher: asyncio.Task[None] | None = None

    def left(self) -> asyncio.Event:
        if self._gone is None:
            self._gone = asyncio.Event()
            self._watcher = asyncio.ensure_future(self._watch(self._gone))
        return self._gone

    async def _watch(self, gone: asyncio.Event) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass
        gone.set()

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()


@contextlib.asynccontextmanager
async def client_presence(request: Request) -> AsyncIterator[ClientPresence]:
    presence = ClientPresence(request)
    try:
        yield presence
    finally:
        presence.close()


def encodes_as_utf8(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def field(body: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    if name not in body or body[name] is None:
        if default is ...:
            raise BadRequest(f"Missing field {name!r}.", hint=f"Send a JSON object with {name!r}.")
        return default
    value = body[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise BadRequest(f"Field {name!r} must be {names}, got {value!r}.")
    return value


def reject_unknown(body: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(body) - allowed)
    if extra:
        raise BadRequest(f"Unknown field(s): {', '.join(extra)}.", hint="Allowed: " + ", ".join(sorted(allowed)))


# -- handlers -------------------------------------------------------------------------------------
async def ping(request: Request) -> Response:
    return envelope.ok("pong")


async def status(request: Request) -> Response:
    return envelope.ok(rt(request).status())


async def get_config(request: Request) -> Response:
    return envelope.ok(rt(request).settings.nested())


async def patch_config(request: Request) -> Response:
    body = await read_json(request)
    if not body:
        raise BadRequest("The patch is empty.", hint='Example: {"daemon.cors_enabled": true}')
    return envelope.ok(await rt(request).patch(body))


async def reload_config(request: Request) -> Response:
    return envelope.ok(await rt(request).reload())


async def events(request: Request) -> Response:
    return StreamingResponse(
        rt(request).bus.subscribe(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


LIST_SORT_FIELDS = {"name", "display_name", "model", "host", "first_seen", "last_seen", "id", "kind", "online"}
LIST_FILTER_FIELDS = {"name", "display_name", "platform", "host", "model", "serial", "kind", "online", "id"}


def _int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.lstrip("-").isdigit() or not lo <= int(raw) <= hi:
        raise InvalidQuery(f"{name} must be an integer from {lo} to {hi}, got {raw!r}.")
    return int(raw)


def _bool_param(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise InvalidQuery(f"{name} must be true or false, got {raw!r}.")
    return raw in ("true", "1")


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
                 reverse=_bool_param(request, "sort_reverse"))
    start = _int_param(request, "start", 0, 0, 1_000_000)
    limit = _int_param(request, "limit", 1000, 1, 1000)
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


async def dev_install(request: Request) -> Response:
    """Stream the multipart upload to a temp file (never whole in memory), then sideload it."""
    from python_multipart import MultipartParser
    from python_multipart.multipart import parse_options_header

    runtime = rt(request)
    ident = request.path_params["id"]
    runtime.service.dev_preflight(ident)  # 404 / missing password before reading the upload
    ctype, opts = parse_options_header(request.headers.get("content-type", ""))
    boundary = opts.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise UnsupportedMediaType("Send the channel as multipart/form-data with the file in field 'archive'.",
                                   hint=UPLOAD_HINT)
    limit = runtime.settings["dev.max_archive_mb"] * 1024 * 1024
    folder = runtime.service.dev_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="upload-", suffix=".zip", dir=folder)
    except OSError as exc:
        raise StorageFailed(f"Cannot store the upload in {folder}: {exc.strerror}.") from exc
    tmp = Path(name)
    state: dict[str, Any] = {"field": None, "header": b"", "headers": {}, "archive": False, "size": 0,
                             "ended": False}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["header"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        key = state["header"].lower()
        state["headers"][key] = state["headers"].get(key, b"") + data[start:end]

    def on_header_end() -> None:
        state["header"] = b""

    def on_headers_finished() -> None:
        _, disp = parse_options_header(state["headers"].get(b"content-disposition", b""))
        state["field"] = disp.get(b"name")
        if state["field"] == b"archive":
            state["archive"] = True
        state["headers"] = {}

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["field"] != b"archive":
            return
        state["size"] += end - start
        if state["size"] <= limit:  # beyond it the handler answers 413 once this chunk is parsed
            write_all(fd, memoryview(data)[start:end])

    def on_end() -> None:
        state["ended"] = True

    parser = MultipartParser(boundary, {
        "on_header_field": on_header_field, "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished, "on_part_data": on_part_data, "on_end": on_end,
    })
    try:
        try:
            async for chunk in request.stream():
                parser.write(chunk)
                if state["size"] > limit:
                    raise PayloadTooLarge(
                        f"The archive is larger than dev.max_archive_mb ({limit // 1048576} MiB).",
                        hint="Raise dev.max_archive_mb, or make the channel smaller.")
            parser.finalize()
        except OSError as exc:  # disk full, RLIMIT_FSIZE, I/O error: nothing has been sent yet
            raise StorageFailed(f"Cannot store the upload in {folder}: {exc.strerror}.") from exc
        finally:
            os.close(fd)
        if not state["ended"]:  # python-multipart's finalize() does not insist on the closing boundary
            raise BadRequest("The multipart body ends before its closing boundary; the upload looks cut short.",
                             hint=UPLOAD_HINT)
        if not state["archive"]:
            raise InvalidArchive("The form has no 'archive' file field.", hint=UPLOAD_HINT)
        return envelope.ok(await runtime.service.dev_install(ident, tmp))
    except ValueError as exc:  # python-multipart's framing errors
        raise BadRequest(f"The multipart body is malformed: {exc}.", hint=UPLOAD_HINT) from exc
    finally:
        runtime.service.discard(tmp)  # gone already when it was kept for reload


async def dev_reload(request: Request) -> Response:
    await read_json(request, optional=True)
    return envelope.ok(await rt(request).service.dev_reload(request.path_params["id"]))


async def dev_logs(request: Request) -> Response:
    n = _int_param(request, "lines", 200, 1, 1_000_000)
    since_raw = request.query_params.get("since")
    since = _int_param(request, "since", 0, 0, 1 << 62) if since_raw is not None else None
    follow = _bool_param(request, "follow")
    dev, console = await rt(request).service.dev_console(request.path_params["id"])
    if not follow:
        lines = console.recent(None if since is not None else n, since)
        return envelope.ok({"device": dev.to_dict(), "lines": [ln.to_dict() for ln in lines],
                            "cursor": console.seq, "console": console.state})

    async def stream() -> Any:
        yield b": following\n\n"
        backlog = console.recent(n, since) if since is not None or "lines" in request.query_params else []
        last = 0
        for ln in backlog:
            last = ln.seq
            yield Event("log", ln.to_dict()).sse()
        async for ln in console.follow(None):
            if ln.seq > last:
                yield Event("log", ln.to_dict()).sse()

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


async def screenshot(request: Request) -> Response:
    body, ctype = await rt(request).service.screenshot(request.path_params["id"])
    return Response(body, media_type=ctype, headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


async def dev_screenshot(request: Request) -> Response:
    body, ctype = await rt(request).service.dev_screenshot(request.path_params["id"])
    return Response(body, media_type=ctype, headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


async def openapi(request: Request) -> Response:
    from tvctl.api.openapi import build

    return Response(json.dumps(build(ROUTES)), media_type="application/json")


# -- route table ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    # JSON schema of the request body (a function when it depends on the installed platforms)
    body: dict[str, Any] | Callable[[], dict[str, Any]] | None = None
    body_required: bool = True
    content: str = "application/json"  # response media type on success
    upload: bool = False  # request body is multipart/form-data
    response: Any = None  # the type of the envelope's data on success (a typed model), when it has one
    query: tuple[dict[str, Any], ...] = ()  # OpenAPI parameter objects of the query string (name, schema, …)


KEY = {"type": "string", "minLength": 1, "description": "A key name from docs/api.md or literal:<text>."}
ROUTES: list[Endpoint] = [
    Endpoint("GET", "/v1/ping", ping, "Liveness check; never needs a token."),
    Endpoint("GET", "/v1/daemon/status", status, "Daemon process and listener status."),
    Endpoint("GET", "/v1/config", get_config, "Effective config, secrets redacted."),
    Endpoint("PATCH", "/v1/config", patch_config, "Patch config with flat dotted keys; rewrites the file.",
             lambda: {"type": "object", "minProperties": 1, "propertyNames": {"enum": sorted(config_schema())},
                      "additionalProperties": {"type": ["string", "number", "boolean", "array", "null"]}}),
    Endpoint("POST", "/v1/config/reload", reload_config, "Re-read the config file."),
    Endpoint("GET", "/v1/openapi.json", openapi, "This OpenAPI document."),
    Endpoint("GET", "/v1/events", events, "Server-Sent Events: device_*, config_reloaded, state_changed.",
             content="text/event-stream"),
    Endpoint("GET", "/v1/devices", list_devices, "List known devices (limit, start, sort_by, sort_reverse, filter).",
             response=list[Device], query=(
                 {"name": "limit", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1000}},
                 {"name": "start", "schema": {"type": "integer", "minimum": 0, "maximum": 1_000_000, "default": 0}},
                 {"name": "sort_by", "schema": {"enum": sorted(LIST_SORT_FIELDS), "default": "name"}},
                 {"name": "sort_reverse", "schema": {"enum": ["true", "false", "1", "0"], "default": "false"}},
                 {"name": "filter", "explode": True, "description": "FIELD==v1,v2 (repeatable); FIELD one of "
                  + ", ".join(sorted(LIST_FILTER_FIELDS)),
                  "schema": {"type": "array", "items": {"type": "string", "pattern": "^[a-z_]+==.+$"}}})),
    Endpoint("POST", "/v1/devices", add_device, "Add a device by address (probes it first).",
             {"type": "object", "required": ["host"],
              "properties": {"host": {"type": "string", "minLength": 1, "maxLength": 253,
                                      "description": "An IPv4 address or a host name."},
                             "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                             "platform": {"type": "string", "description": "Probe only as this platform."}}},
             response=Device),
    Endpoint("POST", "/v1/devices/discover", discover,
             "Run discovery now and merge results (Accept: text/event-stream streams each device as found).",
             body_required=False, response=Discovered),
    Endpoint("GET", "/v1/devices/{id}", get_device, "One device by UUID or friendly name.", response=Device),
    Endpoint("PATCH", "/v1/devices/{id}", patch_device, "Rename a device.",
             {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}, response=Device),
    Endpoint("DELETE", "/v1/devices/{id}", delete_device, "Remove a device from the registry.", response=Device),
    Endpoint("GET", "/v1/devices/{id}/state", device_state,
             "Live state: power, active app, media, TV channel, and what the platform adds.", response=StateReport),
    Endpoint("GET", "/v1/devices/{id}/apps", list_apps, "Installed apps (cached).", response=AppList),
    Endpoint("POST", "/v1/devices/{id}/apps/launch", launch_app, "Launch an app by id, name or platform id.",
             {"type": "object", "required": ["app"],
              "properties": {"app": {"type": "string"}, "params": {"type": "object"}}}),
    Endpoint("POST", "/v1/devices/{id}/apps/stop", stop_app, "Stop the active app (exit-app or Home).",
             body_required=False),
    Endpoint("POST", "/v1/devices/{id}/apps/refresh", refresh_apps, "Refresh the app cache from the device.",
             {"type": "object", "properties": {"clear": {"type": "boolean"}}}, body_required=False, response=AppList),
    Endpoint("GET", "/v1/devices/{id}/apps/{app}/icon", app_icon, "An app's icon (cached, with ETag).",
             content="image/*"),
    Endpoint("POST", "/v1/devices/{id}/remote/key", remote_key, "Press one key (optionally held or repeated).",
             {"type": "object", "required": ["key"],
              "properties": {"key": KEY, "hold_ms": {"type": "integer", "minimum": 0, "maximum": 10000},
                             "repeat": {"type": "integer", "minimum": 1, "maximum": 50}}}),
    Endpoint("POST", "/v1/devices/{id}/remote/sequence", remote_sequence, "Press keys in order with a delay.",
             {"type": "object", "required": ["keys"],
              "properties": {"keys": {"type": "array", "items": KEY, "minItems": 1, "maxItems": 100},
                             "delay_ms": {"type": "integer", "minimum": 0, "maximum": 10000, "default": 200}}}),
    Endpoint("POST", "/v1/devices/{id}/dev/install", dev_install, "Sideload a channel zip (multipart field archive).",
             {"type": "object", "required": ["archive"],
              "properties": {"archive": {"type": "string", "format": "binary"}}}, upload=True),
    Endpoint("POST", "/v1/devices/{id}/dev/reload", dev_reload, "Restart the sideloaded channel.",
             body_required=False),
    Endpoint("GET", "/v1/devices/{id}/dev/logs", dev_logs,
             "Recent dev console lines (lines, since); follow=true streams them as SSE.", query=(
                 {"name": "lines", "schema": {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 200}},
                 {"name": "since", "schema": {"type": "integer", "minimum": 0, "maximum": 1 << 62}},
                 {"name": "follow", "schema": {"enum": ["true", "false", "1", "0"], "default": "false"}})),
    Endpoint("GET", "/v1/devices/{id}/screenshot", screenshot, "What the screen shows, where the device can tell.",
             content="image/*"),
    Endpoint("GET", "/v1/devices/{id}/dev/screenshot", dev_screenshot, "Screenshot of the sideloaded channel.",
             content="image/*"),
]


# -- exception handlers ---------------------------------------------------------------------------
async def on_tvctl_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TvctlError)
    return envelope.error(exc)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    err: TvctlError
    if exc.status_code == 404:
        err = RouteNotFound(f"No endpoint at {request.url.path}.")
    elif exc.status_code == 405:
        allowed = exc.headers.get("Allow", "") if exc.headers else ""
        err = MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}.",
                               hint=f"Allowed: {allowed}." if allowed else None)
    else:
        err = BadRequest(str(exc.detail))
    return envelope.error(err, headers=dict(exc.headers) if exc.headers else None)


def build_routes(endpoints: list[Endpoint]) -> list[Route]:
    """One Starlette route per path, dispatching on the method.

    With a route per (method, path), a wrong method got a 405 whose ``Allow`` named only the
    first route's methods (``Allow: GET, HEAD`` on /v1/config, which also takes PATCH).
    """
    by_path: dict[str, dict[str, Handler]] = {}
    for e in endpoints:
        by_path.setdefault(e.path, {})[e.method] = e.handler

    def dispatcher(handlers: dict[str, Handler]) -> Handler:
        async def endpoint(request: Request) -> Response:
            return await handlers["GET" if request.method == "HEAD" else request.method](request)
        return endpoint

    return [Route(path, dispatcher(handlers), methods=list(handlers)) for path, handlers in by_path.items()]


def create_app(runtime: Runtime) -> Starlette:
    app = Starlette(
        routes=build_routes(ROUTES),
        middleware=[Middleware(GuardMiddleware, settings=runtime.get_settings,
                               bound_port=lambda: runtime.http_port)],
        exception_handlers={TvctlError: on_tvctl_error, HTTPException: on_http_exception},
    )
    app.state.rt = runtime
    return app
