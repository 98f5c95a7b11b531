"""One row of the route table: method, path, handler, and what the OpenAPI document says of it."""

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
    upload: bool = False  # request body is multipart/form-data
    response: Any = None  # the type of the envelope's data on success (a typed model), when it has one
    query: type[Query] | None = None  # the query string's declared type
