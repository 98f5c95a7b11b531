"""The operation table served: a route for each operation (``tvctl.operations``), and the table
itself at ``GET /v1/operations``.

Every operation's route reads its request the one way (a GET's query string, a POST's body,
checked against the declared type), runs it and answers its result in the envelope: one of the
core's through ``CORE``, from the request's words to the ``DeviceService`` method that does it
(matching an app by name, pressing a key ``repeat`` times); a platform's own through
``DeviceService.perform``, straight to its adapter method. Only the
key sequence keeps a handler of its own, for its progress stream.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tvctl.api import envelope
from tvctl.api.bodies import check_media_url
from tvctl.api.endpoint import Endpoint, Handler
from tvctl.api.reading import client_presence, read_body, read_json, read_query, rt
from tvctl.api.remote import remote_sequence
from tvctl.keys import parse_key
from tvctl.operations import (
    DEV_DELETE,
    DEV_PACKAGES,
    DEV_REGISTRY,
    DEV_RELOAD,
    LAUNCH_APP,
    LIST_APPS,
    LIST_SESSIONS,
    PLAY_MEDIA,
    POINTER,
    PRESS_KEY,
    PRESS_KEYS,
    REFRESH_APPS,
    SEARCH,
    SEQUENCE_DELAY_MS,
    STATE,
    STOP_APP,
    TERMINATE_SESSION,
    TV_CHANNELS,
    TV_TUNE,
    Operation,
    declared,
)
from tvctl.results import PlayRequest, PointerRequest, SessionListRequest, operation_info
from tvctl.service import Caller, DeviceService

# Operations whose route is more than "read the request, perform, answer": their own handler.
OWN_HANDLERS: dict[str, Handler] = {PRESS_KEYS.name: remote_sequence}

Perform = Callable[[DeviceService, str, Any, Caller | None], Awaitable[Any]]


def _text(params: Mapping[str, object] | None) -> dict[str, str]:
    return {k: str(v) for k, v in (params or {}).items()}


def _filters(given: list[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``FIELD==v1,v2`` filters as (field, values)."""
    return tuple((f, tuple(v for v in values.split(","))) for f, _, values in (g.partition("==") for g in given))


# The core's operations: each from its request's words to the service call that does it. A
# platform's own operations go through DeviceService.perform to their adapter method.
CORE: dict[str, Perform] = {
    STATE.name: lambda s, i, r, c: s.state(i),
    LIST_APPS.name: lambda s, i, r, c: s.apps(i),
    REFRESH_APPS.name: lambda s, i, r, c: s.apps(i, refresh=True, clear=bool(r.clear)),
    LAUNCH_APP.name: lambda s, i, r, c: s.launch(i, r.app, _text(r.params), c),
    STOP_APP.name: lambda s, i, r, c: s.stop_app(i, c),
    PRESS_KEY.name: lambda s, i, r, c: s.send_key(i, parse_key(r.key), r.hold_ms or 0, r.repeat or 1, c),
    # served by its own handler (remote_sequence, for its progress stream); this is the plain way,
    # for the other ways in (the MQTT bridge)
    PRESS_KEYS.name: lambda s, i, r, c: s.send_sequence(
        i, [parse_key(k) for k in r.keys], SEQUENCE_DELAY_MS if r.delay_ms is None else r.delay_ms, c),
    SEARCH.name: lambda s, i, r, c: s.search(i, r.keyword, app=r.app, type=r.type, season=r.season,
                                             launch=bool(r.launch), strategy=r.strategy or "auto", caller=c),
    TV_CHANNELS.name: lambda s, i, r, c: s.tv_channels(i),
    TV_TUNE.name: lambda s, i, r, c: s.tv_tune(i, r.channel, c),
    PLAY_MEDIA.name: lambda s, i, r, c: s.play_media(i, PlayRequest(
        url=check_media_url(r.url), type=r.type or "video", title=r.title, format=r.format), c),
    POINTER.name: lambda s, i, r, c: s.pointer(i, PointerRequest(
        x=r.x, y=r.y, unit=r.unit or "px", action=r.action or "click", dy=r.dy or 0), c),
    LIST_SESSIONS.name: lambda s, i, r, c: s.sessions(i, SessionListRequest(
        start=r.start, limit=r.limit, sort_by=r.sort_by, sort_reverse=r.sort_reverse, filter=_filters(r.filter))),
    TERMINATE_SESSION.name: lambda s, i, r, c: s.terminate_session(i, r.session, c),
    DEV_RELOAD.name: lambda s, i, r, c: s.dev_reload(i, _text(r.params)),
    DEV_REGISTRY.name: lambda s, i, r, c: s.dev_registry(i),
    DEV_PACKAGES.name: lambda s, i, r, c: s.dev_packages(i),
    DEV_DELETE.name: lambda s, i, r, c: s.dev_delete(i),
}


def performer(op: Operation[Any, Any]) -> Perform:
    """How ``op`` is done for one device: the core's implementation, else its platform's adapter
    method (every way in takes this one path: a device's route, a group's, the MQTT bridge)."""
    return CORE.get(op.name) or (lambda s, i, r, c: s.perform(op, i, r, c))


async def read_request(request: Request, op: Operation[Any, Any]) -> Any:
    """``op``'s request as this HTTP request carries it: a GET's query string, a POST's body (with
    the fields its path carries); None for an operation that takes none."""
    kind = op.request_type()
    if op.method == "GET":
        return read_query(request, kind) if kind is not None else None
    if kind is not None:
        return await read_body(request, kind, optional=not op.body_required, path={
            name: request.path_params[name] for name in op.path_fields})
    if op.method == "POST":
        await read_json(request, optional=True)  # any JSON object, or none, is taken and ignored
    return None


def handler_for(op: Operation[Any, Any]) -> Handler:
    """The route handler of ``op``: read its request, perform it, answer its result."""
    perform = performer(op)

    async def handle(request: Request) -> Response:
        body = await read_request(request, op)
        service = rt(request).service
        ident = request.path_params["id"]
        if op.read_only:
            return envelope.ok(await perform(service, ident, body, None))
        async with client_presence(request) as caller:
            return envelope.ok(await perform(service, ident, body, caller))

    handle.__name__ = handle.__qualname__ = op.name  # the OpenAPI operationId
    return handle


def endpoints(platforms: Any) -> list[Endpoint]:
    """A route for each declared operation (``platforms``: the adapter classes whose own
    operations join the core's)."""
    out = []
    for op in declared(platforms):
        kind = op.request_type()
        # a request its path carries whole has no body to document (the path's fields are parameters)
        in_body = kind is not None and op.method != "GET" and not set(kind.__struct_fields__) <= set(op.path_fields)
        out.append(Endpoint(op.method, op.route, OWN_HANDLERS.get(op.name) or handler_for(op), op.summary,
                            body=kind if in_body else None, body_required=op.body_required and not op.path_fields,
                            query=kind if op.method == "GET" else None, response=op.result_type()))
    return out


# -- GET /v1/operations ---------------------------------------------------------------------------
async def list_operations(request: Request) -> Response:
    return envelope.ok([operation_info(op) for op in declared(rt(request).service.adapter_classes.values())])
