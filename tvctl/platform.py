"""The platform boundary: everything a platform declares, and everything the core may ask of a device.

A platform is one ``Adapter`` subclass, found through the ``tvctl.adapters`` entry-point group
(``tvctl.plugins``). Its class attributes and class methods declare what the core needs to
know without knowing the platform: its name and default port; its settings section (``[name]``
in the config file, with its defaults, docs, secrets and restart flags); the credentials it
keeps per device (never returned by the API); keys beyond the common names; how to recognise
its devices in SSDP and mDNS announcements; how to probe an address; and what a given device
can do, as capability strings, so "this device cannot do that" is a checked, reported state
(``unsupported_operation``) rather than an AttributeError. What a platform can do at all is the
interfaces (``Keys``, ``Apps``, ``State``, ``Sessions``, ``Tuner``, ``DeveloperMode``, …) its adapter class
inherits and implements; ``need`` hands the core an adapter as one of them, or raises that error.
The registry, the service, the API and the CLI work from these declarations alone.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Protocol, TypeVar

from tvctl.errors import InvalidKey, SessionNotFound, UnsupportedOperation
from tvctl.fields import Field, S, Section
from tvctl.keys import KEY_NAMES, Key, unknown_key_hint
from tvctl.models import (
    App,
    Device,
    DeviceInfo,
    DeviceState,
    LogLine,
    MdnsService,
    Observation,
    Sighting,
    SsdpReply,
)
from tvctl.operations import Operation
from tvctl.results import (
    ChannelInfo,
    DeleteResult,
    DevRegistry,
    InstallResult,
    KeyResult,
    LaunchResult,
    PackageList,
    PlayRequest,
    PlayResult,
    PointerRequest,
    PointerResult,
    ReloadResult,
    ScreenSession,
    SearchRequest,
    SearchResult,
    SessionListRequest,
    StopResult,
    TuneResult,
)

COMMON_KEYS = frozenset(KEY_NAMES)
NO_CREDENTIALS: Mapping[str, str] = MappingProxyType({})


class Capability(StrEnum):
    KEYS = "keys"
    TEXT = "text"
    APPS = "apps"
    STATE = "state"
    POWER = "power"
    VOLUME = "volume"
    INPUTS = "inputs"
    CHANNELS = "channels"
    FIND_REMOTE = "find-remote"
    SCREENSHOT = "screenshot"
    DEV_INSTALL = "dev-install"
    DEV_LOGS = "dev-logs"
    DEV_SCREENSHOT = "dev-screenshot"
    SEARCH = "search"
    PLAY_MEDIA = "play-media"
    APP_ICONS = "app-icons"
    POINTER = "pointer"
    SESSIONS = "sessions"


class SettingsView(Protocol):
    """What a platform reads of the settings (``tvctl.config.Settings``): a typed section."""

    def section(self, kind: type[S]) -> S: ...


class LogConsole(Protocol):
    """A device's developer log, read by one reader and shared by every client."""

    seq: int  # the number of the newest line
    state: str  # idle | connecting | connected | busy | refused

    @property
    def follower_count(self) -> int: ...

    async def ensure_started(self) -> None:
        """Start reading if not yet; raise (a TvctlError) when the log cannot be read now."""

    def recent(self, n: int | None, since: int | None) -> list[LogLine]:
        """The last ``n`` lines (all when None), or those after ``since``."""

    def follow(self, since: int | None) -> AsyncIterator[LogLine]:
        """Lines as they arrive (after those since ``since``), until the console is closed."""


@dataclass(frozen=True, slots=True)
class AdapterContext:
    settings: Callable[[], SettingsView]  # always the live settings (reload applies at once)
    state_dir: Path
    cache_dir: Path
    # a device's credentials by id: the fields the platform declares that the user has set
    credentials: Callable[[str], Mapping[str, str]] = lambda _device_id: {}
    # told (device id, what it showed) when a device shows itself otherwise than it was probed:
    # another access mode, developer mode switched on or off
    observed: Callable[[str, Observation], None] = lambda _device_id, _seen: None
    # makes the adapter's HTTP/WebSocket client sessions (called with aiohttp.ClientSession's
    # arguments; None: aiohttp.ClientSession), so a test can run an adapter in-process and hand it
    # sessions of its own
    open_session: Callable[..., Any] | None = None


class Adapter:
    # -- declarations ---------------------------------------------------------------------------
    platform: ClassVar[str] = ""
    default_port: ClassVar[int] = 0
    probe_order: ClassVar[int] = 100  # lower is tried first when an address is added without a platform
    # The [<platform>] config section (named like the platform); read it with
    # self.ctx.settings().section(ThatSection).
    settings: ClassVar[type[Section] | None] = None
    # Secrets kept per device (set with PATCH /v1/devices/{id}/credentials, never returned): name -> Field.
    credentials: ClassVar[dict[str, Field]] = {}
    # Options set per device (PATCH /v1/devices/{id} {"options": {…}}), strings: name -> Field.
    options: ClassVar[dict[str, Field]] = {}
    # Config keys that moved into this section: old dotted key -> new dotted key.
    renamed_settings: ClassVar[dict[str, str]] = {}
    # Key names this platform takes; the common names (tvctl.keys.KEY_NAMES) it does not take are
    # answered invalid_key. None: exactly the common names.
    key_names: ClassVar[frozenset[str] | None] = None
    # Operations of this platform's own beyond the core's (tvctl.operations): each is served as a
    # route, a typed-client method, an MCP tool and a CLI verb, and runs as the method of this class
    # named like it, taking the request and returning the result.
    operations: ClassVar[tuple[Operation[Any, Any], ...]] = ()
    ssdp_search_targets: ClassVar[tuple[str, ...]] = ()
    mdns_service_types: ClassVar[tuple[str, ...]] = ()

    def __init__(self, ctx: AdapterContext, device: Device) -> None:
        self.ctx = ctx
        self.device = device

    # -- discovery ----------------------------------------------------------------------------
    @classmethod
    def recognise_ssdp(cls, reply: SsdpReply) -> Sighting | None:
        """Whether an SSDP reply or NOTIFY announces one of this platform's devices (its LOCATION
        is checked by the core)."""
        return None

    @classmethod
    def serial_from_usn(cls, usn: str) -> str | None:
        """The serial an ``ssdp:byebye`` USN names, if it is one of this platform's."""
        return None

    @classmethod
    def recognise_mdns(cls, service: MdnsService) -> Sighting | None:
        return None

    @classmethod
    async def probe(cls, ctx: AdapterContext, host: str, port: int, timeout_s: float, *,
                    credentials: Mapping[str, str] = NO_CREDENTIALS, known: Device | None = None) -> DeviceInfo:
        """Confirm a candidate address is a device of this platform and read its identity.

        ``credentials``: what the user gave when adding it (or has kept for ``known``); ``known``:
        the device already registered at this address, if any (its pinned certificate holds)."""
        raise UnsupportedOperation(f"The {cls.platform} platform cannot probe devices.")

    @classmethod
    def capabilities_for(cls, info: DeviceInfo) -> tuple[str, ...]:
        return ()

    @classmethod
    def present(cls, device: Device, settings: SettingsView) -> Device:
        """``device`` as it is shown now: what the settings or an access mode it showed since its
        probe change about it (the ``wire`` its commands take, capabilities that mode takes away).
        The stored record keeps what the probe found."""
        return device

    # -- checks that need no device -----------------------------------------------------------
    @classmethod
    def check_key(cls, key: Key) -> None:
        """Raise InvalidKey unless this platform takes ``key`` (called before anything is sent)."""
        if key.name == "literal":
            return
        names = cls.key_names if cls.key_names is not None else COMMON_KEYS
        if key.name not in names:
            raise InvalidKey(f"Unknown key {key.name!r} for {cls.platform} devices.",
                             hint=unknown_key_hint(key.name, names))

    # -- life cycle -----------------------------------------------------------------------------
    def update_device(self, device: Device) -> None:
        self.device = device

    def credential(self, name: str) -> str:
        """This device's credential ``name``, or "" when it is not set."""
        return self.ctx.credentials(self.device.id).get(name, "")

    def require(self, cap: Capability, what: str) -> None:
        if cap.value not in self.device.capabilities:
            raise UnsupportedOperation(
                f"{self.device.name} ({self.device.model}, {self.device.kind}) cannot {what}.",
            )

    async def close(self) -> None:
        return None

    def close_streams(self) -> None:
        """End any long-lived client streams this adapter feeds (called on shutdown)."""
        return None


# -- what a device can do: one interface per capability group ------------------------------------
# A platform's adapter class inherits the interfaces it implements (pyatv-style), so what it can do
# is its class, checked by mypy and by ``need``; each interface names the capability strings it
# can give a device (``provides``): a device shows those its probe found that its platform
# implements (``implemented``), less what the mode it shows now takes away (``Adapter.present``).
class Interface(abc.ABC):  # noqa: B024 (a marker base: each interface declares its own abstract methods)
    provides: ClassVar[frozenset[str]] = frozenset()
    cannot: ClassVar[str] = ""  # "<device> {cannot}." says it lacks this interface


class Keys(Interface):
    """Remote keys: named keys (held for ``hold_ms``) and ``literal:`` text, and what keys do."""
    provides = frozenset({Capability.KEYS, Capability.TEXT, Capability.POWER, Capability.VOLUME,
                          Capability.INPUTS, Capability.FIND_REMOTE})
    cannot = "does not accept remote keys"

    @abc.abstractmethod
    async def send_key(self, key: Key, *, hold_ms: int = 0) -> KeyResult: ...


class State(Interface):
    provides = frozenset({Capability.STATE})
    cannot = "does not report state"

    @abc.abstractmethod
    async def state(self) -> DeviceState: ...


class Apps(Interface):
    provides = frozenset({Capability.APPS, Capability.APP_ICONS})
    cannot = "has no apps to list, launch or stop"

    @abc.abstractmethod
    async def list_apps(self) -> list[App]: ...

    @abc.abstractmethod
    async def launch(self, app: App, params: dict[str, str]) -> LaunchResult: ...

    @abc.abstractmethod
    async def stop_app(self) -> StopResult: ...

    @abc.abstractmethod
    async def icon(self, platform_id: str) -> tuple[bytes, str]: ...


class Screenshots(Interface):
    provides = frozenset({Capability.SCREENSHOT})
    cannot = "cannot take screenshots"

    @abc.abstractmethod
    async def screenshot(self, display: int = 0) -> tuple[bytes, str]:
        """What display ``display`` shows (0: the first or only one), as image bytes and their type."""


class Pointing(Interface):
    """A mouse on the screen: move, click, double-click, right-click, scroll."""
    provides = frozenset({Capability.POINTER})
    cannot = "has no pointer to move or click"

    @abc.abstractmethod
    async def pointer(self, request: PointerRequest) -> PointerResult: ...


class Sessions(Interface):
    """A server whose screens are sessions (a remote-desktop server): list them, look at one, end
    one. Its ``Screenshots.screenshot(display)`` shows the session at that place in the list; its
    apps, if any, start sessions."""
    provides = frozenset({Capability.SESSIONS})
    cannot = "has no sessions"

    @abc.abstractmethod
    async def list_sessions(self, request: SessionListRequest) -> list[ScreenSession]: ...

    @abc.abstractmethod
    async def session_screenshot(self, session_id: str, image_format: str | None) -> tuple[bytes, str]:
        """What session ``session_id`` shows, as image bytes and their type (``image_format``: png
        or jpeg, None for the server's default)."""

    @abc.abstractmethod
    async def terminate_session(self, session: ScreenSession) -> None: ...


async def session_at(server: Sessions, display: int, device: str) -> ScreenSession:
    """Screen ``display`` of a server of sessions (``device``, its name): the session at that place
    of its list."""
    listed = await server.list_sessions(SessionListRequest())
    if display >= len(listed):
        raise SessionNotFound(f"{device} has {len(listed)} session(s); there is none at display {display}.",
                              hint="List them with tvctl sessions; display N is the N-th from 0.")
    return listed[display]


class Searching(Interface):
    provides = frozenset({Capability.SEARCH})
    cannot = "cannot search"

    @abc.abstractmethod
    async def search(self, request: SearchRequest) -> SearchResult: ...


class Tuner(Interface):
    provides = frozenset({Capability.CHANNELS})
    cannot = "has no TV tuner (it is not a TV)"

    @abc.abstractmethod
    async def tv_channels(self) -> list[ChannelInfo]: ...

    @abc.abstractmethod
    async def tv_tune(self, channel: str) -> TuneResult: ...


class MediaUrl(Interface):
    provides = frozenset({Capability.PLAY_MEDIA})
    cannot = "cannot play a URL"

    @abc.abstractmethod
    async def play_media(self, request: PlayRequest) -> PlayResult: ...


class DeveloperMode(Interface):
    """Sideloading a package, its registry and log console, and developer screenshots."""
    provides = frozenset({Capability.DEV_INSTALL, Capability.DEV_LOGS, Capability.DEV_SCREENSHOT})
    cannot = "has no developer mode (sideloading, developer logs and screenshots)"

    @classmethod
    @abc.abstractmethod
    def check_archive(cls, path: Path) -> None:
        """Raise InvalidArchive unless ``path`` is something this platform can sideload (blocking)."""

    @abc.abstractmethod
    def sideload_preflight(self) -> None:
        """Checks before an upload is read (credentials configured, …); raise to refuse early."""

    @abc.abstractmethod
    async def dev_install(self, archive: Path, params: Mapping[str, str]) -> InstallResult:
        """Install ``archive``; with ``params``, start it with those launch parameters."""

    @abc.abstractmethod
    async def dev_reload(self, archive: Path | None, params: Mapping[str, str]) -> ReloadResult:
        """Restart the sideloaded package (with ``params`` as its launch parameters); ``archive`` is
        the kept copy, for a device that lost it."""

    @abc.abstractmethod
    async def dev_registry(self) -> DevRegistry: ...

    @abc.abstractmethod
    async def dev_packages(self) -> PackageList: ...

    @abc.abstractmethod
    async def dev_delete(self) -> DeleteResult: ...

    @abc.abstractmethod
    def console(self) -> LogConsole: ...

    @abc.abstractmethod
    async def dev_screenshot(self) -> tuple[bytes, str]: ...


INTERFACES: tuple[type[Interface], ...] = (Keys, State, Apps, Screenshots, Pointing, Sessions, Searching, Tuner,
                                           MediaUrl, DeveloperMode)
Iface = TypeVar("Iface", bound=Interface)


def implemented(cls: type[Adapter]) -> frozenset[str]:
    """The capability strings ``cls`` can give a device: those of the interfaces it implements and
    those its own operations need."""
    own = {op.capability for op in cls.operations if op.capability is not None}
    return frozenset(c for iface in INTERFACES if issubclass(cls, iface) for c in iface.provides) | own


def capabilities(cls: type[Adapter], info: DeviceInfo) -> tuple[str, ...]:
    """What a device ``info`` describes can do: what the platform says of it, as far as the
    platform implements it."""
    can = implemented(cls)
    return tuple(c for c in cls.capabilities_for(info) if c in can)


def need(adapter: Adapter, iface: type[Iface]) -> Iface:
    """``adapter`` as ``iface``; unsupported_operation when its platform does not implement it."""
    if not isinstance(adapter, iface):
        dev = adapter.device
        raise UnsupportedOperation(f"{dev.name} ({dev.model}, {dev.kind}) {iface.cannot}.")
    return adapter


def platform_as(cls: type[Adapter], iface: type[Iface]) -> type[Iface]:
    """The platform class ``cls`` as ``iface`` (for its class methods); unsupported_operation when
    it does not implement it."""
    if not issubclass(cls, iface):
        raise UnsupportedOperation(f"{cls.platform} devices {iface.cannot}.")
    return cls
