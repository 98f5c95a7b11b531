"""Reading requests: the JSON body within its limit, checked against its declared type
(``tvctl.api.bodies``), the query string likewise, and whether the client is still there."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any, TypeVar

import msgspec
from starlette.requests import Request

from tvctl.api.bodies import Body, Query
from tvctl.config import DaemonSettings
from tvctl.errors import (
    BadRequest,
    InvalidJson,
    InvalidQuery,
    PayloadTooLarge,
)
from tvctl.runtime import Runtime

# Deeper than any body the API takes (a launch's params object is three levels down). Python's
# decoder and everything that walks a decoded body recurse, so a body of 1,000 nested arrays
# would otherwise end in a RecursionError (an internal_error) somewhere past this check.
MAX_JSON_DEPTH = 32
_DEPTH_HINT = f"Nest JSON at most {MAX_JSON_DEPTH} levels deep; request bodies are flat objects (docs/api.md)."


def rt(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.rt
    return runtime


async def read_json(request: Request, *, optional: bool = False) -> dict[str, Any]:
    """The body as a JSON object, read with the size limit enforced while streaming."""
    limit = rt(request).settings.section(DaemonSettings).max_body_kb * 1024
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
    except RecursionError:
        raise InvalidJson("The body nests JSON arrays or objects too deeply.", hint=_DEPTH_HINT) from None
    if json_depth(body) > MAX_JSON_DEPTH:
        raise InvalidJson(f"The body nests JSON arrays or objects more than {MAX_JSON_DEPTH} levels deep.",
                          hint=_DEPTH_HINT)
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


def json_depth(value: Any) -> int:
    """How deeply arrays and objects nest in a decoded JSON value (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            depth += 1
            deepest = max(deepest, depth)
            stack.extend((x, depth) for x in item if isinstance(x, dict | list))
    return deepest


def encodes_as_utf8(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


B = TypeVar("B", bound=Body)
Q = TypeVar("Q", bound=Query)


async def read_body(request: Request, kind: type[B], *, optional: bool = False,
                    path: Mapping[str, str] | None = None) -> B:
    """The body as ``kind``, checked against its declaration (types, bounds, unknown fields);
    ``path``: fields the route's path carries (a field given both ways is refused)."""
    raw = await read_json(request, optional=optional or bool(path))
    if path:
        twice = sorted(set(raw) & set(path))
        if twice:
            raise BadRequest(f"{', '.join(twice)} is given by the path; leave it out of the body.")
        raw = {**raw, **path}
    return convert_body(raw, kind)


def convert_body(raw: dict[str, Any], kind: type[B]) -> B:
    """A JSON object as the request ``kind``, checked against its declaration (types, bounds,
    unknown fields), each problem said as the HTTP API says it (the MQTT bridge's commands too)."""
    allowed = kind.__struct_fields__
    extra = sorted(set(raw) - set(allowed))
    if extra:  # every unknown field named at once (msgspec stops at the first)
        raise BadRequest(f"Unknown field(s): {', '.join(extra)}.", hint="Allowed: " + ", ".join(allowed) + ".")
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as exc:
        m = _AT.search(str(exc))
        where = m.group(1) if m else ""
        for pattern, check in kind.text_checks.items():
            if re.fullmatch(pattern, where) and isinstance(value := _at(raw, where), str):
                check(value)  # raises the precise error
        raise BadRequest(_say(exc, "field"), hint=_example(kind)) from None


def _at(doc: Any, path: str) -> Any:
    """The value at a msgspec error path such as ``keys[2]``."""
    for name, index in re.findall(r"(\w+)|\[(\d+)\]", path):
        try:
            doc = doc[name] if name else doc[int(index)]
        except (KeyError, IndexError, TypeError):
            return None
    return doc


def read_query(request: Request, kind: type[Q]) -> Q:
    """The query string as ``kind``; a parameter given twice counts only where it is a list."""
    fields = _query_fields(kind)
    params = request.query_params
    extra = sorted(set(params) - set(fields))
    if extra:
        raise InvalidQuery(f"Unknown query parameter(s): {', '.join(extra)}.",
                           hint="This endpoint takes " + ", ".join(fields) + ".")
    raw: dict[str, Any] = {}
    for name in params:
        if isinstance(fields[name], msgspec.inspect.ListType):
            raw[name] = params.getlist(name)
            continue
        raw[name] = value = params[name]
        if _is_int(fields[name]) and not _INT_TEXT.fullmatch(value):
            raise InvalidQuery(f"{name} must be an integer written in digits, got {value!r}.",
                               hint=_example(kind))
    try:
        return msgspec.convert(raw, kind, strict=False)
    except msgspec.ValidationError as exc:
        raise InvalidQuery(_say(exc, "parameter"), hint="See this endpoint's parameters in docs/api.md.") from None


@functools.cache
def _query_fields(kind: type[Query]) -> dict[str, msgspec.inspect.Type]:
    """A query type's parameters and their types (inspecting a type costs more than a request)."""
    info = msgspec.inspect.type_info(kind)
    assert isinstance(info, msgspec.inspect.StructType)
    return {f.encode_name: f.type for f in info.fields}


_INT_TEXT = re.compile(r"-?[0-9]{1,19}")
_AT = re.compile(r" - at `\$\.?([^`]*)`$")


def _is_int(t: msgspec.inspect.Type) -> bool:
    if isinstance(t, msgspec.inspect.UnionType):
        return any(_is_int(x) for x in t.types)
    return isinstance(t, msgspec.inspect.IntType)


def _say(exc: msgspec.ValidationError, what: str) -> str:
    """msgspec's "Expected `int` >= 1 - at `$.port`" as "Field 'port': expected `int` >= 1."."""
    text = str(exc)
    m = _AT.search(text)
    if m is None:
        missing = re.fullmatch(r"Object missing required field `(\w+)`", text)
        return f"Missing {what} {missing.group(1)!r}." if missing else text + "."
    problem = text[: m.start()]
    return f"{what.capitalize()} {m.group(1)!r}: {problem[:1].lower()}{problem[1:]}."


def _example(kind: type[msgspec.Struct]) -> str:
    info = msgspec.inspect.type_info(kind)
    assert isinstance(info, msgspec.inspect.StructType)
    required = [f.encode_name for f in info.fields if f.required]
    optional = [f.encode_name for f in info.fields if not f.required]
    said = (["Required: " + ", ".join(required)] if required else []) + \
        (["optional: " + ", ".join(optional)] if optional else [])
    return "; ".join(said) + ". Bounds and types are in /v1/openapi.json."
