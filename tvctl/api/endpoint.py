"""One row of the route table: method, path, handler, what the OpenAPI document says of it, and
what the guard (``security``) needs to know of it (whether it takes an upload, whether it is public)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tvctl.api.bodies import Body, Query

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    # The request body: its declared type (tvctl.api.bodies), or a JSON schema where the body's shape
    # depends on what is installed (a function, called when the document is built)
    body: type[Body] | dict[str, Any] | Callable[[], dict[str, Any]] | None = None
    body_required: bool = True
    content: str = "application/json"  # response media type on success
    # The request body is multipart/form-data: the guard takes that media type on this path, and a
    # body up to dev.max_archive_mb instead of daemon.max_body_kb
    upload: bool = False
    # The type of the envelope's data on success (a typed model), or a function that makes it where
    # it depends on what is installed (the config's sections); every JSON route has one
    response: Any = None
    query: type[Query] | None = None  # the query string's declared type
    public: bool = False  # needs no API token on TCP (the guard reads this)
    enveloped: bool = True  # the JSON success is {"ok": true, "data": …}; False: the payload as it is
