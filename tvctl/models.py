"""Wire-independent data shapes shared by the registry, the service and the adapters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def usable_mac(mac: str | None) -> str | None:
    """``mac`` in lower case, or None when it is no MAC a packet could be sent to: missing, or all
    zeros (which some devices and emulators report when they have none)."""
    if not mac or not mac.replace(":", "").replace("-", "").strip("0"):
        return None
    return mac.lower()


def slugify(text: str) -> str:
    """A URL-safe lower-case name: 'My Living Room TV' -> 'my-living-room-tv'."""
    text = text.lower().replace("'", "").replace("\u2019", "")
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return slug[:63].rstrip("-")


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """Who a device is, as its platform's probe read it. A platform may subclass it to carry what
    only it reads (its capabilities_for gets back what its probe returned)."""

    platform: str
    serial: str
    model: str
    model_name: str
    vendor: str
    kind: str  # tv | stick | box | kvm | signage | …, the platform's word
    user_name: str | None = None
    location: str | None = None
    software_version: str | None = None
    udn: str | None = None
    wake_mac: str | None = None
    developer_enabled: bool = False
    tls_fingerprint: str | None = None  # SHA-256 of the certificate the device served, to pin
    # Who the device lets control it, in the platform's words (a TV's own setting for remote
    # control apps, e.g. enabled | limited | disabled); None when it does not say.
    access_mode: str | None = None

    def display_name(self) -> str:
        return self.user_name or f"{self.vendor} {self.model_name}".strip() or self.serial


@dataclass(frozen=True, slots=True)
class Candidate:
    """A device seen by discovery or named by a user, not yet confirmed."""

    platform: str
    host: str
    port: int
    source: str  # ssdp | mdns | manual
    serial_hint: str | None = None
    wake_mac: str | None = None


@dataclass(frozen=True, slots=True)
class SsdpReply:
    """An SSDP search reply or NOTIFY as it arrived: untrusted. Header names are lower-case."""

    source: str  # the address the datagram came from
    headers: Mapping[str, str]

    def header(self, name: str) -> str:
        return self.headers.get(name, "")


@dataclass(frozen=True, slots=True)
class MdnsService:
    """A resolved mDNS service announcement: untrusted."""

    type: str
    name: str
    properties: Mapping[bytes, bytes | None]
    addresses: tuple[str, ...]
    server: str | None


@dataclass(frozen=True, slots=True)
class Sighting:
    """What a platform recognised as one of its own in an announcement."""

    serial_hint: str | None = None
    wake_mac: str | None = None


@dataclass(frozen=True, slots=True)
class Observation:
    """What a device showed of itself since its last probe (a refusal, a state read): kept beside
    its record until the next probe replaces it. None: not seen."""

    access_mode: str | None = None
    developer_enabled: bool | None = None

    def merged(self, newer: Observation) -> Observation:
        """This, with what ``newer`` saw replacing it field by field."""
        return Observation(
            access_mode=self.access_mode if newer.access_mode is None else newer.access_mode,
            developer_enabled=self.developer_enabled if newer.developer_enabled is None else newer.developer_enabled)

    def applied_to(self, device: Device) -> Device:
        """``device`` with what was seen; ``device`` itself when that changes nothing."""
        merged = Observation(device.access_mode, device.developer_enabled).merged(self)
        if (merged.access_mode, merged.developer_enabled) == (device.access_mode, device.developer_enabled):
            return device
        return device.evolve(access_mode=merged.access_mode, developer_enabled=bool(merged.developer_enabled))


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    name: str
    display_name: str
    platform: str
    host: str
    port: int
    model: str
    serial: str
    kind: str
    wake_mac: str | None
    sources: tuple[str, ...]
    first_seen: float
    last_seen: float
    online: bool
    udn: str | None = None
    software_version: str | None = None
    developer_enabled: bool = False
    capabilities: tuple[str, ...] = field(default_factory=tuple)
    # SHA-256 (hex) of the TLS certificate pinned when the device was added; every connection checks it
    tls_fingerprint: str | None = None
    has_credentials: bool = False  # whether credentials are kept for it (never what they are)
    # per-device options the platform declares (Adapter.options), e.g. a KVM target's keyboard layout
    options: dict[str, str] = field(default_factory=dict, hash=False)
    # The access mode the device reports (DeviceInfo.access_mode), as probed or as a refusal since showed.
    access_mode: str | None = None
    # The connection commands take now, in the platform's words (e.g. http or session); None
    # for platforms with only one. Worked out when the device is shown, never stored.
    wire: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sources"] = list(self.sources)
        d["capabilities"] = list(self.capabilities)
        d["options"] = dict(self.options)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Device:
        known = {f for f in cls.__dataclass_fields__}
        kwargs = {k: v for k, v in d.items() if k in known}
        kwargs["sources"] = tuple(kwargs.get("sources", ()))
        kwargs["capabilities"] = tuple(kwargs.get("capabilities", ()))
        return cls(**kwargs)

    def evolve(self, **changes: Any) -> Device:
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class App:
    id: str  # normalized, e.g. "netflix"
    name: str
    platform_id: str
    type: str | None
    version: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class AppList:
    platform: str
    apps: list[App]
    cached: bool
    # after a refresh: whether the cache was cleared first, and which platform ids came and went
    cleared: bool | None = None
    added: list[str] | None = None
    removed: list[str] | None = None


# -- live state: one typed part per thing a device can tell ------------------------------------
@dataclass(frozen=True, slots=True)
class ActiveApp:
    kind: str  # app | home | screensaver | tv-input
    id: str | None
    name: str
    platform_id: str | None
    screensaver: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class MediaState:
    state: str  # play | pause | close | buffer | none | stop | startup | open | unknown
    error: bool
    app_platform_id: str | None
    position_ms: int | None
    duration_ms: int | None
    live: bool | None


@dataclass(frozen=True, slots=True)
class TvChannel:
    number: str | None
    name: str | None
    input: str | None
    program_title: str | None
    signal_state: str | None


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A part of the state the device refused or lacks, and why."""

    part: str
    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class DeviceState:
    """What a device tells about itself now. A platform may return a subclass with more fields."""

    power: str | None  # on | standby | None when unknown
    power_mode: str | None  # the device's own word
    active_app: ActiveApp | None
    media: MediaState | None
    tv: TvChannel | None
    unavailable: list[Unavailable]
    # One line a person should read with the state, e.g. how the device is controlled when its
    # settings refuse the usual way ("Limited mode — controlled through the mobile-app session").
    control_note: str | None = None


@dataclass(frozen=True, slots=True)
class Group:
    """A named set of devices, acted on together (``POST /v1/groups/{name}/remote/key``, …)."""

    name: str
    devices: tuple[str, ...]  # device ids, in the order they were added

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "devices": list(self.devices)}


@dataclass(frozen=True, slots=True)
class StateReport:
    device: Device
    state: DeviceState


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of a device's developer log, numbered in arrival order (the ``since`` cursor)."""

    seq: int
    time: float
    text: str


@dataclass(frozen=True, slots=True)
class LogReport:
    device: Device
    lines: list[LogLine]
    cursor: int  # the number of the newest line: pass it as since= to read on from there
    console: str  # the reader's state: idle | connecting | connected | busy | refused
    followers: int  # clients following the log right now


@dataclass(frozen=True, slots=True)
class MqttStatus:
    """The MQTT bridge as it is now (tvctl.mqtt)."""

    enabled: bool
    connected: bool
    broker: str | None  # mqtt://host:port (never a user or password)
    node_id: str | None
    connected_for_s: float | None
    last_error: str | None  # why the last connection failed or ended, while that is so


@dataclass(frozen=True, slots=True)
class DaemonStatus:
    pid: int
    version: str
    uptime_s: float
    socket: str | None
    http_enabled: bool
    http_host: str
    http_port: int  # the bound port (the configured one when TCP is off)
    device_count: int
    event_subscribers: int
    default_device: str | None
    config_path: str
    mqtt: MqttStatus


@dataclass(frozen=True, slots=True)
class Discovered:
    """The devices one discovery run confirmed."""

    devices: list[Device]
