"""The operation table: every device operation, declared once.

An ``Operation`` names what a device can be asked to do and everything each way in needs to know
of it: the route under ``/v1/devices/{id}`` and its method, the request type (the body of a
POST, the query of a GET) and the result type (the envelope's data), the capability it needs,
the CLI words that run it and how long a client waits for its answer, and whether the MCP server
offers it as a tool (which tier, read-only or destructive) and the web remote as a form.

From the table come the daemon's routes and so the OpenAPI document and docs/api.md's tables
(``tvctl.api.operated``), ``GET /v1/operations`` (what the web remote and the CLI read to offer
an operation they have no words of their own for), the typed client's methods
(``tvctl.typedclient``) and the MCP server's tools (``tvctl.mcpserve``). The core's operations
are ``OPERATIONS``; a platform adds its own in ``Adapter.operations`` and implements each as the
adapter method of the same name, taking the request and returning the result.

This module imports nothing beyond the standard library: the CLI reads it on every start. The
request and result types of the core's operations are therefore named as ``"module:Type"``
strings and imported on first use; a platform may give the types themselves.
"""

from __future__ import annotations

import importlib

# typing costs the CLI about 3 ms of start-up, and at run time Operation only needs a base that
# takes parameters: the real Generic and TypeVar are for the type checker alone (as in tvctl.cli).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Generic, Literal, TypeVar

    from tvctl.api.bodies import (
        DevReload,
        KeyPress,
        KeySequence,
        LaunchApp,
        PlayMedia,
        Pointer,
        RefreshApps,
        Search,
        SessionQuery,
        TerminateSession,
        TvTune,
    )
    from tvctl.models import AppList, StateReport
    from tvctl.results import (
        ChannelList,
        DeleteResult,
        DevRegistry,
        KeyResult,
        LaunchResult,
        PackageList,
        PlayResult,
        PointerResult,
        ReloadResult,
        SearchResult,
        SequenceResult,
        SessionList,
        StopResult,
        TerminateResult,
        TuneResult,
    )

    Tier = Literal["read", "control", "dev"]
else:
    class Generic:  # Operation[...] at run time is the class itself
        def __class_getitem__(cls, _params: object) -> type:
            return cls

    def TypeVar(name: str) -> str:  # stands in for typing.TypeVar
        return name

Req = TypeVar("Req")
Res = TypeVar("Res")
TIERS: tuple[Tier, ...] = ("read", "control", "dev")
DEVICE_ROUTE = "/v1/devices/{id}"

# How long a client waits for an answer by default: a queued wait (daemon.queue_wait_s, 10 s by
# default) and one slow device request, with room to spare, so a slow command is never taken for
# a dead daemon.
ANSWER_S = 60.0
SEQUENCE_DELAY_MS = 200  # the pause between the keys of a sequence when none is given


def _load(ref: type[Any] | str | None) -> Any:
    if not isinstance(ref, str):
        return ref
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


class Operation(Generic[Req, Res]):
    """One device operation. A plain class, not a dataclass: the CLI imports this module on every
    start, and dataclasses (with inspect) would cost it about 10 ms."""

    __slots__ = ("body_required", "capability", "cli", "cli_args", "destructive", "mcp", "method", "name", "path",
                 "path_fields", "read_only", "remote", "request", "result", "summary", "timeout_s", "tool")

    def __init__(self, name: str, method: Literal["GET", "POST", "DELETE"], path: str, summary: str,
                 result: type[Res] | str, request: type[Req] | str | None = None, *, body_required: bool = True,
                 capability: str | None = None, cli: tuple[str, ...] = (), cli_args: tuple[str, ...] = (),
                 timeout_s: float = ANSWER_S, mcp: Tier | None = None, read_only: bool = False,
                 destructive: bool = False, remote: bool = False, tool: str | None = None) -> None:
        self.name = name  # the operation's id: the typed client's method, the MCP tool, a platform's adapter method
        self.method = method
        self.path = path  # under /v1/devices/{id}
        # the request fields the path carries (/sessions/{session}/terminate), in order: read once,
        # not at every request
        self.path_fields = tuple(p[1:-1] for p in path.split("/") if p.startswith("{") and p.endswith("}"))
        self.summary = summary  # one line: the OpenAPI summary, the tool's and the form's description
        self.result = result  # the envelope's data ("module:Type" is imported on first use)
        self.request = request  # a POST's body, a GET's query string (tvctl.api.bodies)
        self.body_required = body_required
        self.capability = capability  # a platform's own operations are refused to devices without it
        self.cli = cli  # the words that run it: ("tv", "tune") is tvctl tv tune
        self.cli_args = cli_args  # request fields the CLI takes as positional words, in order
        self.timeout_s = timeout_s  # how long a client waits for the answer
        self.mcp = mcp  # the MCP tier that offers it as a tool; None: no tool
        self.read_only = read_only  # changes nothing on the device
        self.destructive = destructive  # removes something that cannot be had back by asking again
        self.remote = remote  # the web remote offers a form for it
        self.tool = tool  # the MCP tool's name, where it is not the operation's

    def __repr__(self) -> str:
        return f"Operation({self.name!r}, {self.method} {self.route})"

    @property
    def route(self) -> str:
        return DEVICE_ROUTE + self.path

    def request_type(self) -> type[Req] | None:
        loaded: type[Req] | None = _load(self.request)
        return loaded

    def result_type(self) -> type[Res]:
        loaded: type[Res] = _load(self.result)
        return loaded


STATE: Operation[None, StateReport] = Operation(
    "device_state", "GET", "/state",
    "Live state: power, active app, media, TV channel, and what the platform adds.",
    "tvctl.models:StateReport", cli=("state",), mcp="read", read_only=True)
LIST_APPS: Operation[None, AppList] = Operation(
    "list_apps", "GET", "/apps", "Installed apps (cached).", "tvctl.models:AppList", capability="apps",
    cli=("apps",), mcp="read", read_only=True)
REFRESH_APPS: Operation[RefreshApps, AppList] = Operation(
    "refresh_apps", "POST", "/apps/refresh", "Refresh the app cache from the device.", "tvctl.models:AppList",
    "tvctl.api.bodies:RefreshApps", body_required=False, capability="apps", cli=("apps", "refresh"),
    read_only=True)
LAUNCH_APP: Operation[LaunchApp, LaunchResult] = Operation(
    "launch_app", "POST", "/apps/launch", "Launch an app by id, name or platform id.",
    "tvctl.results:LaunchResult", "tvctl.api.bodies:LaunchApp", capability="apps", cli=("apps", "launch"),
    cli_args=("app",), mcp="control")
STOP_APP: Operation[None, StopResult] = Operation(
    "stop_app", "POST", "/apps/stop", "Stop the active app (exit-app or Home).", "tvctl.results:StopResult",
    body_required=False, cli=("apps", "stop"), mcp="control")
PRESS_KEY: Operation[KeyPress, KeyResult] = Operation(
    "remote_key", "POST", "/remote/key", "Press one key (optionally held or repeated).",
    "tvctl.results:KeyResult", "tvctl.api.bodies:KeyPress", capability="keys", cli=("key",), cli_args=("key",))
PRESS_KEYS: Operation[KeySequence, SequenceResult] = Operation(
    "remote_sequence", "POST", "/remote/sequence", "Press keys in order with a delay.",
    "tvctl.results:SequenceResult", "tvctl.api.bodies:KeySequence", capability="keys", cli=("seq",),
    cli_args=("keys",))
SEARCH: Operation[Search, SearchResult] = Operation(
    "search", "POST", "/search",
    "Search for a title: the device's search (browse), the app's own (in-app), or browse then in-app.",
    "tvctl.results:SearchResult", "tvctl.api.bodies:Search", capability="search", cli=("search",),
    cli_args=("keyword",), timeout_s=ANSWER_S + 240.0,  # in-app steps launch an app and wait between screens
    mcp="control", remote=True)
TV_CHANNELS: Operation[None, ChannelList] = Operation(
    "tv_channels", "GET", "/tv/channels", "The TV tuner's channel line-up.", "tvctl.results:ChannelList",
    capability="channels", cli=("tv", "channels"), mcp="read", read_only=True)
TV_TUNE: Operation[TvTune, TuneResult] = Operation(
    "tv_tune", "POST", "/tv/tune", "Tune the TV tuner to a channel.", "tvctl.results:TuneResult",
    "tvctl.api.bodies:TvTune", capability="channels", cli=("tv", "tune"), cli_args=("channel",), mcp="control",
    remote=True)
PLAY_MEDIA: Operation[PlayMedia, PlayResult] = Operation(
    "play_media", "POST", "/media/play", "Play a video, audio or photo URL on the device.",
    "tvctl.results:PlayResult", "tvctl.api.bodies:PlayMedia", capability="play-media", cli=("play",),
    cli_args=("url",), mcp="control", remote=True)
POINTER: Operation[Pointer, PointerResult] = Operation(
    "pointer", "POST", "/pointer", "Move the pointer to a point of the screen and click, or scroll there.",
    "tvctl.results:PointerResult", "tvctl.api.bodies:Pointer", capability="pointer", cli=("click",),
    cli_args=("x", "y"), mcp="control", tool="click")
LIST_SESSIONS: Operation[SessionQuery, SessionList] = Operation(
    "list_sessions", "GET", "/sessions",
    "The sessions of a server whose screens are sessions, with the list grammar of GET /v1/devices.",
    "tvctl.results:SessionList", "tvctl.api.bodies:SessionQuery", capability="sessions", cli=("sessions",),
    mcp="read", read_only=True)
TERMINATE_SESSION: Operation[TerminateSession, TerminateResult] = Operation(
    "terminate_session", "POST", "/sessions/{session}/terminate", "End a session (by id or name).",
    "tvctl.results:TerminateResult", "tvctl.api.bodies:TerminateSession", capability="sessions",
    cli=("sessions", "terminate"), cli_args=("session",), mcp="control", destructive=True)
DEV_RELOAD: Operation[DevReload, ReloadResult] = Operation(
    "dev_reload", "POST", "/dev/reload", "Restart the sideloaded channel (optionally with launch parameters).",
    "tvctl.results:ReloadResult", "tvctl.api.bodies:DevReload", body_required=False, capability="dev-install",
    cli=("dev", "reload"), timeout_s=ANSWER_S + 150.0, mcp="dev", destructive=True)
DEV_REGISTRY: Operation[None, DevRegistry] = Operation(
    "dev_registry", "GET", "/dev/registry", "The sideloaded channel's registry.", "tvctl.results:DevRegistry",
    capability="dev-install", cli=("dev", "registry"), mcp="dev", read_only=True)
DEV_PACKAGES: Operation[None, PackageList] = Operation(
    "dev_packages", "GET", "/dev/packages", "What the developer installer lists as installed.",
    "tvctl.results:PackageList", capability="dev-install", cli=("dev", "packages"), mcp="dev", read_only=True)
DEV_DELETE: Operation[None, DeleteResult] = Operation(
    "dev_delete", "DELETE", "/dev/channel", "Remove the sideloaded channel.", "tvctl.results:DeleteResult",
    capability="dev-install", cli=("dev", "delete"), destructive=True)

# The core's operations, in the order the route table lists them.
OPERATIONS: tuple[Operation[Any, Any], ...] = (
    STATE, LIST_APPS, LAUNCH_APP, STOP_APP, REFRESH_APPS, PRESS_KEY, PRESS_KEYS, SEARCH, TV_CHANNELS, TV_TUNE,
    PLAY_MEDIA, POINTER, LIST_SESSIONS, TERMINATE_SESSION, DEV_RELOAD, DEV_REGISTRY, DEV_PACKAGES, DEV_DELETE,
)


# What a group takes (POST /v1/groups/{name}/<the operation's path>): what acts on a device and makes
# sense for many at once.
GROUP_OPERATIONS: tuple[Operation[Any, Any], ...] = (PRESS_KEY, PRESS_KEYS, LAUNCH_APP, STOP_APP, SEARCH, TV_TUNE,
                                                     PLAY_MEDIA)
GROUP_ROUTE = "/v1/groups/{name}"


def by_name(ops: tuple[Operation[Any, Any], ...] | list[Operation[Any, Any]]) -> dict[str, Operation[Any, Any]]:
    return {op.name: op for op in ops}


def declared(platforms: Any) -> list[Operation[Any, Any]]:
    """The core's operations, then each platform's own (``Adapter.operations``; ``platforms``: the
    adapter classes). A platform's operation whose name or route another one has already taken is
    left out (the first declaration stands)."""
    out = list(OPERATIONS)
    names = {op.name for op in out}
    routes = {(op.method, op.path) for op in out}
    for cls in platforms:
        for op in getattr(cls, "operations", ()):
            if op.name in names or (op.method, op.path) in routes:
                continue
            out.append(op)
            names.add(op.name)
            routes.add((op.method, op.path))
    return out
