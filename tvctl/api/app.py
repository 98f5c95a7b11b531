"""The Starlette application: the route table and the exception handlers.

Handlers are thin (parse → service → envelope). Each device operation's route comes from the
operation table (``operated``, with the installed platforms' own operations); the rest live by
resource: ``system``, ``devices``, ``remote`` (icons, screenshots, the key sequence's stream),
``dev`` (uploads, logs, developer screenshots). The route table carries each endpoint's summary
and its declared types (the body and query types of ``bodies``, read by ``reading``; the result
type), from which ``/v1/openapi.json`` (``openapi``) and the field tables of docs/api.md
(``doctables``) are generated, so neither can fall behind the routes; and what the guard
(``security``) must know of a route: whether it needs no token (``public``), whether it takes an
upload (``upload``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tvctl.api import envelope, groups, operated
from tvctl.api.bodies import (
    AddDevice,
    DeviceListQuery,
    LogQuery,
    PatchDevice,
    ScreenshotQuery,
    SessionLogin,
)
from tvctl.api.dev import dev_install, dev_logs, dev_screenshot
from tvctl.api.devices import (
    add_device,
    delete_credentials,
    delete_device,
    discover,
    get_credentials,
    get_device,
    list_devices,
    patch_credentials,
    patch_device,
)
from tvctl.api.endpoint import Endpoint, Handler
from tvctl.api.openapi import DOCUMENT as OPENAPI_DOCUMENT
from tvctl.api.remote import app_icon, screenshot
from tvctl.api.security import GuardMiddleware, retry_after
from tvctl.api.sessions import Sessions
from tvctl.api.system import (
    config_change_type,
    config_type,
    events,
    get_config,
    get_config_schema,
    list_platforms,
    openapi,
    patch_config,
    ping,
    reload_config,
    status,
)
from tvctl.api.web import PATHS as WEB_PATHS
from tvctl.api.web import create_session, page
from tvctl.config import schema as config_schema
from tvctl.errors import (
    BadRequest,
    MethodNotAllowed,
    RouteNotFound,
    TvctlError,
)
from tvctl.models import DaemonStatus, Device, Discovered, LogReport
from tvctl.platform import Adapter
from tvctl.plugins import installed
from tvctl.results import (
    ConfigKey,
    CredentialReport,
    InstallResult,
    OperationInfo,
    PlatformInfo,
    Pong,
    SessionResult,
)
from tvctl.runtime import Runtime


def credentials_schema() -> dict[str, Any]:
    """Every installed platform's credential fields (a device takes its own platform's)."""
    names: dict[str, str] = {}
    for cls in installed().values():
        for name, f in cls.credentials.items():
            names.setdefault(name, f"{cls.platform}: {f.doc}")
    value = {"anyOf": [{"type": "string", "minLength": 1, "maxLength": 1024}, {"type": "null"}]}
    return {"type": "object", "minProperties": 1, "additionalProperties": False,
            "properties": {n: {**value, "description": doc} for n, doc in sorted(names.items())}}


def route_table(platforms: Iterable[type[Adapter]] = ()) -> list[Endpoint]:
    """Every route: the system's and the devices' written here, each device operation's from the
    operation table (with ``platforms``' own operations after the core's), then developer mode's."""
    return CORE_ROUTES[:DEVICE_OPERATIONS_AT] + operated.endpoints(platforms) + CORE_ROUTES[DEVICE_OPERATIONS_AT:] \
        + groups.endpoints()


CORE_ROUTES: list[Endpoint] = [
    Endpoint("GET", "/v1/ping", ping, "Liveness check; never needs a token.", response=Pong, public=True),
    Endpoint("GET", "/v1/daemon/status", status, "Daemon process and listener status.", response=DaemonStatus),
    Endpoint("GET", "/v1/config", get_config, "Effective config, secrets redacted.", response=config_type),
    Endpoint("PATCH", "/v1/config", patch_config, "Patch config with flat dotted keys; rewrites the file.",
             lambda: {"type": "object", "minProperties": 1, "propertyNames": {"enum": sorted(config_schema())},
                      "additionalProperties": {"type": ["string", "number", "boolean", "array", "null"]}},
             response=config_change_type),
    Endpoint("POST", "/v1/config/reload", reload_config, "Re-read the config file.", response=config_change_type),
    Endpoint("GET", "/v1/config/schema", get_config_schema,
             "Every config key: type, default, what it does, whether it is secret or needs a restart.",
             response=list[ConfigKey]),
    Endpoint("GET", "/v1/platforms", list_platforms,
             "The installed platforms: default port, the credentials and options a device of each takes.",
             response=list[PlatformInfo]),
    Endpoint("GET", "/v1/operations", operated.list_operations,
             "The operation table: each device operation's route, request fields, CLI words and MCP tool.",
             response=list[OperationInfo]),
    Endpoint("GET", "/v1/openapi.json", openapi, "This OpenAPI document.", response=OPENAPI_DOCUMENT,
             enveloped=False),
    Endpoint("POST", "/v1/session", create_session,
             "Trade daemon.api_token for a session cookie (the web remote; this origin only).", SessionLogin,
             response=SessionResult, public=True),
    Endpoint("GET", "/v1/events", events, "Server-Sent Events: device_*, config_reloaded, state_changed.",
             content="text/event-stream"),
    Endpoint("GET", "/v1/devices", list_devices, "List known devices (limit, start, sort_by, sort_reverse, filter).",
             response=list[Device], query=DeviceListQuery),
    Endpoint("POST", "/v1/devices", add_device, "Add a device by address (probes it first).", AddDevice,
             response=Device),
    Endpoint("POST", "/v1/devices/discover", discover,
             "Run discovery now and merge results (Accept: text/event-stream streams each device as found).",
             body_required=False, response=Discovered),
    Endpoint("GET", "/v1/devices/{id}", get_device, "One device by UUID or friendly name.", response=Device),
    Endpoint("PATCH", "/v1/devices/{id}", patch_device,
             "Rename a device, replace its credentials, or accept its new TLS certificate.", PatchDevice,
             response=Device),
    Endpoint("DELETE", "/v1/devices/{id}", delete_device, "Remove a device from the registry.", response=Device),
    Endpoint("GET", "/v1/devices/{id}/credentials", get_credentials,
             "Which credentials the device's platform takes and which are set (never their values).",
             response=CredentialReport),
    Endpoint("PATCH", "/v1/devices/{id}/credentials", patch_credentials,
             "Set credentials (a string) or forget them (null); kept per device, mode 0600.",
             credentials_schema, response=CredentialReport),
    Endpoint("DELETE", "/v1/devices/{id}/credentials", delete_credentials, "Forget every credential of the device.",
             response=CredentialReport),
    Endpoint("GET", "/v1/devices/{id}/apps/{app}/icon", app_icon, "An app's icon (cached, with ETag).",
             content="image/*"),
    Endpoint("POST", "/v1/devices/{id}/dev/install", dev_install,
             "Sideload a channel zip (multipart field archive; other fields are launch parameters).",
             {"type": "object", "required": ["archive"],
              "properties": {"archive": {"type": "string", "format": "binary"}},
              "additionalProperties": {"type": "string", "maxLength": 1024,
                                       "description": "A launch parameter (contentId, mediaType, …)."}},
             upload=True, response=InstallResult),
    Endpoint("GET", "/v1/devices/{id}/dev/logs", dev_logs,
             "Recent dev console lines (lines, since); follow=true streams them as SSE.", query=LogQuery,
             response=LogReport),
    Endpoint("GET", "/v1/devices/{id}/screenshot", screenshot, "What the screen shows, where the device can tell.",
             content="image/*", query=ScreenshotQuery),
    Endpoint("GET", "/v1/devices/{id}/dev/screenshot", dev_screenshot, "Screenshot of the sideloaded channel.",
             content="image/*"),
]


# Where the operation table's routes go: after the app icon, before the developer routes.
DEVICE_OPERATIONS_AT = next(i for i, e in enumerate(CORE_ROUTES) if e.path == "/v1/devices/{id}/apps/{app}/icon") + 1
ROUTES: list[Endpoint] = route_table()  # the core's (what docs/api.md lists)


# -- exception handlers ---------------------------------------------------------------------------
async def on_tvctl_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TvctlError)
    retry = retry_after(exc)
    return envelope.error(exc, headers={"Retry-After": retry} if retry is not None else None)


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

    routes = [Route(path, dispatcher(handlers), methods=list(handlers)) for path, handlers in by_path.items()]
    return routes + [Route(path, page, methods=["GET"]) for path in WEB_PATHS]  # the web remote


def create_app(runtime: Runtime) -> Starlette:
    sessions = Sessions(runtime.get_settings)
    routes = route_table(service.adapter_classes.values()) if (service := getattr(runtime, "service", None)) else ROUTES
    app = Starlette(
        routes=build_routes(routes),
        middleware=[Middleware(GuardMiddleware, settings=runtime.get_settings,
                               bound_port=lambda: runtime.http_port, sessions=sessions,
                               routes=routes, pages=WEB_PATHS)],
        exception_handlers={TvctlError: on_tvctl_error, HTTPException: on_http_exception},
    )
    app.state.rt = runtime
    app.state.routes = routes
    app.state.sessions = sessions  # the web remote's sessions and the token brake (web, security)
    return app
