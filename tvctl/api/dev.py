"""Handlers of developer mode: the streamed sideload upload, reload, logs, screenshot."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from msgspec import UNSET
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tvctl.api import envelope
from tvctl.api.bodies import LogQuery
from tvctl.api.reading import read_query, rt
from tvctl.config import DevSettings
from tvctl.errors import (
    BadRequest,
    InvalidArchive,
    PayloadTooLarge,
    StorageFailed,
    UnsupportedMediaType,
)
from tvctl.events import Event
from tvctl.models import LogReport

UPLOAD_HINT = "curl -F archive=@channel.zip [-F contentId=…] …"
# Form fields besides the archive are launch parameters: a few, and short.
MAX_PARAMS = 32
MAX_PARAM_BYTES = 1024


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
    limit = runtime.settings.section(DevSettings).max_archive_mb * 1024 * 1024
    folder = runtime.service.archives.folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="upload-", suffix=".zip", dir=folder)
    except OSError as exc:
        raise StorageFailed(f"Cannot store the upload in {folder}: {exc.strerror}.") from exc
    tmp = Path(name)
    state: dict[str, Any] = {"field": None, "header": b"", "headers": {}, "archive": False, "size": 0,
                             "ended": False}
    params: dict[bytes, bytearray] = {}  # every other field: a launch parameter

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
        elif state["field"]:
            params.setdefault(state["field"], bytearray())
        state["headers"] = {}

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["field"] != b"archive":
            value = params.get(state["field"])
            if value is not None and len(value) <= MAX_PARAM_BYTES:
                value += data[start:end]
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
        return envelope.ok(await runtime.service.dev_install(ident, tmp, launch_params(params)))
    except ValueError as exc:  # python-multipart's framing errors
        raise BadRequest(f"The multipart body is malformed: {exc}.", hint=UPLOAD_HINT) from exc
    finally:
        runtime.service.archives.discard(tmp)  # gone already when it was kept for reload


def launch_params(fields: dict[bytes, bytearray]) -> dict[str, str]:
    """The upload's other form fields as launch parameters, checked."""
    if len(fields) > MAX_PARAMS:
        raise BadRequest(f"The form has {len(fields)} fields besides the archive; at most {MAX_PARAMS} are taken.",
                         hint=UPLOAD_HINT)
    out: dict[str, str] = {}
    for name, value in fields.items():
        try:
            key, text = name.decode("utf-8"), bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("A launch parameter in the form is not UTF-8 text.", hint=UPLOAD_HINT) from None
        if len(value) > MAX_PARAM_BYTES:
            raise BadRequest(f"Launch parameter {key!r} is longer than {MAX_PARAM_BYTES} bytes.", hint=UPLOAD_HINT)
        out[key] = text
    return out


async def dev_logs(request: Request) -> Response:
    q = read_query(request, LogQuery)
    n, follow = q.lines, q.follow
    since = None if q.since is UNSET else q.since
    dev, console = await rt(request).service.dev_console(request.path_params["id"])
    if not follow:
        lines = console.recent(None if since is not None else n, since)
        return envelope.ok(LogReport(device=dev, lines=lines, cursor=console.seq, console=console.state,
                                     followers=console.follower_count))

    async def stream() -> Any:
        yield b": following\n\n"
        backlog = console.recent(n, since) if since is not None or "lines" in request.query_params else []
        last = 0
        for ln in backlog:
            last = ln.seq
            yield Event("log", ln).sse()
        async for ln in console.follow(None):
            if ln.seq > last:
                yield Event("log", ln).sse()

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


async def dev_screenshot(request: Request) -> Response:
    body, ctype = await rt(request).service.dev_screenshot(request.path_params["id"])
    return Response(body, media_type=ctype, headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
