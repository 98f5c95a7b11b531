"""What an action on a device answers, as typed results.

An adapter returns one of these; the service completes what only it knows (how often a key was
repeated, the delay of a sequence) and the API encodes it as it is, so the OpenAPI document names
these types. A field that is ``UNSET`` is left out of the JSON: a platform reports only what it
did. A platform may return a subclass with more fields (such as the code it sent for a key).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from tvctl.models import ActiveApp, App

if TYPE_CHECKING:
    from tvctl.operations import Operation


class KeyResult(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    key: Annotated[str, Meta(description="The key name, or literal:<text>.")]
    repeat: int = 1
    sent: Annotated[int, Meta(description="Characters typed, for literal:<text>.")] | UnsetType = UNSET
    hold_ms: Annotated[int, Meta(description="How long the key was held down.")] | UnsetType = UNSET
    skipped: Annotated[str, Meta(description="Why nothing was sent (the press would do the opposite).")] \
        | UnsetType = UNSET
    wol: Annotated[bool, Meta(description="Power-on: whether Wake-on-LAN was needed.")] | UnsetType = UNSET
    mac: Annotated[str, Meta(description="The MAC the Wake-on-LAN packets went to.")] | UnsetType = UNSET


PointerAction = Literal["move", "click", "double-click", "right-click", "scroll"]


class PointerRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Where to move the pointer and what to do there, as the adapter gets it."""
    x: float
    y: float
    unit: Literal["px", "fraction"] = "px"  # px: pixels of the screen as the last screenshot showed it
    action: PointerAction = "click"
    dy: int = 0  # scroll: wheel steps, negative is up


class PointerResult(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    action: PointerAction
    x: Annotated[float, Meta(description="Where, as a fraction of the screen's width (0 to 1).")]
    y: Annotated[float, Meta(description="Where, as a fraction of the screen's height (0 to 1).")]
    dy: int | UnsetType = UNSET


class SequenceResult(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    sent: int
    delay_ms: int


class ScreenSession(msgspec.Struct, frozen=True, kw_only=True):
    """One session of a server whose screens are sessions (a remote-desktop server)."""
    id: Annotated[str, Meta(description="The server's id of the session.")]
    name: Annotated[str, Meta(description="Its name (the bookmark or command it was started from).")]
    user: Annotated[str, Meta(description="Who started it.")]
    geometry: Annotated[str, Meta(description="Width x height, or rootless.")] | None = None
    clients: Annotated[int, Meta(description="Viewers connected now.")] | None = None
    started: Annotated[str, Meta(description="When it started, as the server writes it.")] | None = None
    display: Annotated[str, Meta(description="Its X display on the server.")] | None = None


class SessionListRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Which sessions to list, as the adapter gets it: the list grammar of GET /v1/devices."""
    start: int = 0
    limit: int | None = None
    sort_by: str | None = None
    sort_reverse: bool = False
    filter: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (field, values): OR within one, AND across


class SessionList(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    sessions: list[ScreenSession]


class TerminateResult(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    terminated: ScreenSession


class LaunchResult(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    launched: App
    params: dict[str, str]
    already_running: bool | UnsetType = UNSET
    session: Annotated[ScreenSession, Meta(description="The session it started, on a server of sessions.")] \
        | UnsetType = UNSET


class StopResult(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    method: Annotated[str, Meta(description="How it was stopped: the platform's word (exit-app, home) or none.")]
    stopped: ActiveApp | None
    note: str | UnsetType = UNSET


class InstallMessage(msgspec.Struct, frozen=True):
    type: Annotated[str, Meta(description="success, info or error")]
    text: str


class InstallResult(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    result: Literal["installed", "replaced", "identical"]
    messages: list[InstallMessage]
    bytes: Annotated[int, Meta(description="The package bytes sent.")]
    launched: Annotated[dict[str, str], Meta(description="The launch parameters it was started with.")] \
        | UnsetType = UNSET


class ReloadResult(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    reloaded: bool
    left_via: Annotated[str, Meta(description="How the running package was left: exit-app, home or not-running.")]
    reinstalled: Annotated[InstallResult, Meta(description="The kept package, when the device had lost it.")] \
        | None = None
    params: Annotated[dict[str, str], Meta(description="The launch parameters it was started with.")] \
        | UnsetType = UNSET


class CredentialField(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    about: str
    set: bool  # whether a value is kept for this device (the value itself is never returned)


class CredentialReport(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    platform: str
    fields: list[CredentialField]


class PlatformCredential(msgspec.Struct, frozen=True, kw_only=True):
    """A credential a platform keeps per device, as a client asks for it (never a value)."""

    name: str
    about: str
    secret: Annotated[bool, Meta(description="Ask for it without echo; never take it from a command line.")]
    prompt: Annotated[str, Meta(description="The words to ask for it with (its name when the platform gives none).")]


class PlatformOption(msgspec.Struct, frozen=True, kw_only=True):
    """An option a platform takes per device (PATCH /v1/devices/{id} {"options": {…}})."""

    name: str
    about: str


class PlatformInfo(msgspec.Struct, frozen=True, kw_only=True):
    """An installed platform: what a client needs to add and set up its devices."""

    platform: str
    default_port: int
    credentials: list[PlatformCredential]
    options: list[PlatformOption]


# -- search, live TV, media ---------------------------------------------------------------------
SearchStrategy = Literal["browse", "in-app", "auto"]


class SearchRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What the service hands a platform to search for (the app already matched to an installed one)."""

    keyword: str
    app: App | None = None
    type: str | None = None
    season: int | None = None
    launch: bool = False
    strategy: SearchStrategy = "auto"


class SearchResult(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    keyword: str
    strategy: Annotated[Literal["browse", "in-app"], Meta(description="The strategy that was used last.")]
    tried: Annotated[list[str], Meta(description="Every strategy tried, in order.")]
    app: App | None
    changed: Annotated[bool, Meta(description="Whether the app in front changed (browse) or the steps ran (in-app).")]
    active_app: Annotated[ActiveApp | None, Meta(description="What was in front afterwards.")]
    steps: Annotated[int, Meta(description="Keys sent by the in-app steps.")] | UnsetType = UNSET
    note: Annotated[str, Meta(description="Why the search may not have shown results.")] | UnsetType = UNSET


class ChannelInfo(msgspec.Struct, frozen=True, kw_only=True):
    number: Annotated[str, Meta(description="Major.minor, as the TV numbers it (5.1).")]
    name: str | None
    type: Annotated[str | None, Meta(description="The TV's word: air-digital, air-analog, …")]
    hidden: Annotated[bool, Meta(description="Hidden by the user in the TV's channel list.")]


class ChannelList(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    channels: list[ChannelInfo]


class TuneResult(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    channel: str
    name: Annotated[str | None, Meta(description="The channel's name, when the TV's line-up has it.")]
    input: Annotated[str, Meta(description="The input that was launched for it.")]


MediaType = Literal["video", "audio", "photo"]


class PlayRequest(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    type: MediaType = "video"
    title: str | None = None
    format: str | None = None


class PlayResult(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    url: str
    type: MediaType
    title: str | UnsetType = UNSET
    format: str | UnsetType = UNSET


# -- developer mode: registry, packages ---------------------------------------------------------
class RegistryItem(msgspec.Struct, frozen=True):
    key: str
    value: str


class RegistrySection(msgspec.Struct, frozen=True):
    name: str
    items: list[RegistryItem]


class DevRegistry(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    dev_id: Annotated[str | None, Meta(description="The developer id the device is keyed with.")]
    space_available: Annotated[int | None, Meta(description="Bytes left for the registry.")]
    sections: list[RegistrySection]


class InstalledPackage(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    app_type: Annotated[str, Meta(description="channel, or dcl (a component library).")]
    file_name: str | None
    file_type: Annotated[str | None, Meta(description="zip or squashfs.")]
    location: str | None
    md5: str | None
    size: Annotated[int | None, Meta(description="Bytes.")]


class PackageList(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    packages: list[InstalledPackage]


class DeleteResult(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    deleted: Annotated[bool, Meta(description="Whether a sideloaded package was there and is gone now.")]
    messages: list[InstallMessage]


# -- config ---------------------------------------------------------------------------------------
ConfigValue = str | int | float | bool | list[str]


class ConfigKey(msgspec.Struct, frozen=True, kw_only=True):
    """One config key as the schema declares it (what a client needs to convert and explain a value)."""

    key: Annotated[str, Meta(description="section.name")]
    type: Literal["boolean", "integer", "number", "string", "list"]
    default: ConfigValue
    about: str
    secret: Annotated[bool, Meta(description="Never shown; give it through a prompt, not a command line.")]
    restart: Annotated[bool, Meta(description="Takes effect after a daemon restart.")]
    min: float | None = None
    max: float | None = None


# -- the daemon itself ----------------------------------------------------------------------------
Pong = Literal["pong"]  # GET /v1/ping


class SessionResult(msgspec.Struct, frozen=True, kw_only=True):
    """POST /v1/session: the cookie is in the Set-Cookie header, never in the body."""

    session: Annotated[Literal["created"], Meta(description="A session cookie was set.")]


# -- the operation table, as GET /v1/operations shows it ---------------------------------------------
class OperationField(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    type: Annotated[str, Meta(description="The JSON type: string, integer, number, boolean, array, object.")]
    required: bool
    description: str | None = None
    choices: list[str] | None = None  # the values a string field takes, where it is one of a few
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None


class OperationInfo(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    method: Literal["GET", "POST", "DELETE"]
    path: str
    summary: str
    capability: str | None
    cli: list[str]
    cli_args: list[str]
    timeout_s: float
    mcp: Literal["read", "control", "dev"] | None
    tool: Annotated[str, Meta(description="The MCP tool's name.")]
    read_only: bool
    destructive: bool
    remote: bool
    fields: list[OperationField]  # the request's, as a form or a command line asks for them


def _json_type(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """The field's schema with a nullable union and references resolved to the one concrete type."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"]
            if len(options) == 1:
                return {**_json_type(options[0], components),
                        **({"description": schema["description"]} if "description" in schema else {})}
            return {"type": "string"}
    return schema


def fields_of(kind: type[Any] | None) -> list[OperationField]:
    if kind is None:
        return []
    (schema,), components = msgspec.json.schema_components([kind], ref_template="{name}")
    own = components[schema["$ref"]] if "$ref" in schema else schema
    required = set(own.get("required", ()))
    out = []
    for name, spec in own.get("properties", {}).items():
        s = _json_type(spec, components)
        enum = s.get("enum")
        out.append(OperationField(
            name=name, type=str(s.get("type", "string")) if enum is None else "string", required=name in required,
            description=s.get("description") or spec.get("description"),
            choices=[str(v) for v in enum] if enum is not None else None,
            minimum=s.get("minimum"), maximum=s.get("maximum"), pattern=s.get("pattern")))
    return out


def operation_info(op: Operation[Any, Any]) -> OperationInfo:
    return OperationInfo(name=op.name, method=op.method, path=op.route, summary=op.summary, capability=op.capability,
                         cli=list(op.cli), cli_args=list(op.cli_args), timeout_s=op.timeout_s, mcp=op.mcp,
                         tool=op.tool or op.name, read_only=op.read_only, destructive=op.destructive, remote=op.remote,
                         fields=fields_of(op.request_type()))


class MemberError(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    code: str
    message: str
    hint: str | None = None
    details: dict[str, Any] | None = None


class MemberResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One member's answer to a group action: its result, or its error as the envelope says it."""
    device: str
    ok: bool
    data: Annotated[Any, Meta(description="The member's result, as the device route answers it.")] = None
    error: MemberError | None = None


class GroupResult(msgspec.Struct, frozen=True, kw_only=True):
    group: str
    results: Annotated[list[MemberResult], Meta(description="One per member, in the group's order.")]
