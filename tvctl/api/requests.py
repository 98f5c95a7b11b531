"""Reading requests: the JSON body within its limit, fields, query parameters, and whether the
client is still there. Shared by every handler module."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request

from tvctl.errors import (
    BadRequest,
    InvalidJson,
    InvalidQuery,
    PayloadTooLarge,
)
from tvctl.runtime import Runtime


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


def int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.lstrip("-").isdigit() or not lo <= int(raw) <= hi:
        raise InvalidQuery(f"{name} must be an integer from {lo} to {hi}, got {raw!r}.")
    return int(raw)


def bool_param(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise InvalidQuery(f"{name} must be true or false, got {raw!r}.")
    return raw in ("true", "1")
