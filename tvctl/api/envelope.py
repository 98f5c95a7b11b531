"""The /v1 envelope: ``{"ok": true, "data": …}`` / ``{"ok": false, "error": {code, message, hint}}``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
from starlette.responses import Response, StreamingResponse

from tvctl.errors import TvctlError
from tvctl.events import Event


def _dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON; ``data`` may hold the typed models (dataclasses) as they are."""
    return msgspec.json.encode(obj)


def ok(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_dumps({"ok": True, "data": data}), status, headers, media_type="application/json")


def error(exc: TvctlError, headers: dict[str, str] | None = None) -> Response:
    return Response(_dumps({"ok": False, "error": exc.to_dict()}), exc.status, headers,
                    media_type="application/json")


def error_body(exc: TvctlError) -> bytes:
    return _dumps({"ok": False, "error": exc.to_dict()})


def progress_stream(greeting: str, updates: asyncio.Queue[Event | None], run: asyncio.Future[Any],
                    data: Callable[[Any], Any] = lambda result: result) -> StreamingResponse:
    """Server-Sent Events for long work: each event ``run`` puts in ``updates`` as it goes, then
    ``done`` with the envelope of its result (``data`` shapes it). A client that leaves cancels
    ``run``."""
    run.add_done_callback(lambda _t: updates.put_nowait(None))

    async def stream() -> AsyncIterator[bytes]:
        try:
            yield f": {greeting}\n\n".encode()
            while (event := await updates.get()) is not None:
                yield event.sse()
            try:
                result: dict[str, Any] = {"ok": True, "data": data(run.result())}
            except TvctlError as exc:
                result = {"ok": False, "error": exc.to_dict()}
            yield Event("done", result).sse()
        finally:
            run.cancel()

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
