"""RokuAdapter: normalized keys, text, apps, state and power over ECP (TCP 8060)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import socket
import time
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote, unquote, urlencode

import msgspec
from msgspec import json as mjson
from tvctl_adapters.roku import parse
from tvctl_adapters.roku.devinstall import Installer
from tvctl_adapters.roku.devlog import DevConsole
from tvctl_adapters.roku.errors import DevModeDisabled, DevNotKeyed, DevPasswordMissing, EcpLimitedMode
from tvctl_adapters.roku.search import load_steps
from tvctl_adapters.roku.session import OPEN_TIMEOUT_S, EcpSession
from tvctl_adapters.roku.transport import (
    KEY_PATHS,
    MAX_APPS,
    MAX_COMMAND_REPLY,
    MAX_DEVICE_INFO,
    MAX_ICON,
    MAX_SMALL_QUERY,
    EcpTransport,
)

from tvctl import results
from tvctl.config import DevSettings
from tvctl.errors import (
    DevAppNotActive,
    DeviceBadResponse,
    DeviceError,
    DeviceTimeout,
    DeviceUnreachable,
    InvalidArchive,
    InvalidKey,
    NoDevChannel,
    TvctlError,
    UnsupportedOperation,
)
from tvctl.fields import Field, Section, ipv4_address, setting
from tvctl.keys import Key, unknown_key_hint
from tvctl.models import (
    ActiveApp,
    App,
    Device,
    DeviceInfo,
    MdnsService,
    Observation,
    Sighting,
    SsdpReply,
    Unavailable,
    usable_mac,
)
from tvctl.platform import (
    NO_CREDENTIALS,
    Adapter,
    AdapterContext,
    Apps,
    Capability,
    DeveloperMode,
    Keys,
    MediaUrl,
    Screenshots,
    Searching,
    SettingsView,
    State,
    Tuner,
)

_LOGGER = logging.getLogger(__name__)

ECP_PORT = 8060
ARCHIVE_HINT = "Upload a zip file with the channel's manifest at the root of the archive."
# A TV leaving standby answers slowly; a woken TV gets this long per PowerOn attempt.
WAKE_ATTEMPT_TIMEOUT_S = 1.0
# Dev-channel reload (reference §9.6): leaving takes ≤5 s, a fresh start ≤10 s; poll like RTA does.
RELOAD_LEAVE_S = 5.0
RELOAD_START_S = 10.0
RELOAD_POLL_S = 0.1
# The Play on Roku input (reference §5.5): t is the media type, u the URL.
PLAY_ON_ROKU = "15985"
MEDIA_TYPE_CODE = {"video": "v", "audio": "a", "photo": "p"}
# The antenna input, launched with the channel to tune (reference §5.3).
TUNER_INPUT = "tvinput.dtv"

ECP_KEYS: dict[str, str] = {
    "home": "Home", "back": "Back", "up": "Up", "down": "Down", "left": "Left", "right": "Right",
    "select": "Select", "play": "Play", "pause": "Play", "play-pause": "Play",
    # Roku has no Stop or Skip key: Back closes the player in channels, Fwd skips ahead.
    "stop": "Back", "rewind": "Rev", "fast-forward": "Fwd", "replay": "InstantReplay", "skip": "Fwd",
    "volume-up": "VolumeUp", "volume-down": "VolumeDown", "mute": "VolumeMute",
    "power": "Power", "power-on": "PowerOn", "power-off": "PowerOff",
    "channel-up": "ChannelUp", "channel-down": "ChannelDown",
    "input-hdmi1": "InputHDMI1", "input-hdmi2": "InputHDMI2", "input-hdmi3": "InputHDMI3",
    "input-hdmi4": "InputHDMI4", "input-av": "InputAV1", "input-tuner": "InputTuner",
    "search": "Search", "info": "Info", "options": "Info",
    "backspace": "Backspace", "enter": "Enter", "find-remote": "FindRemote",
}  # fmt: skip

# ECP key codes a Roku takes beyond those the common names map to (reference §5.1).
EXTRA_ECP_CODES = ("Sleep",)
# Each ECP code as the common name that stands for it (for gating and for what the result says);
# Play and Fwd stand for the toggle and the skip-ahead, not for play/skip's checks.
COMMON_FOR_CODE: dict[str, str] = {
    **{code: name for name, code in reversed(ECP_KEYS.items())},
    "Play": "play-pause", "Fwd": "fast-forward", "Back": "back", "Info": "info",
}
# ECP codes by their lower-case spelling: Roku's own names are taken in any case.
ECP_CODES: dict[str, str] = {code.lower(): code for code in (*ECP_KEYS.values(), *EXTRA_ECP_CODES)}
LIT_RE = re.compile(r"(?i)lit_(.+)")


def roku_key(key: Key) -> Key | None:
    """``key`` as this platform reads it: a common name, literal text, or an ECP code; None if none.

    Roku's own spellings are accepted: ``VolumeUp`` → volume-up, ``Lit_a`` → literal "a" (its
    character may be percent-encoded UTF-8, as ECP writes it), ``Sleep`` → the ECP code itself.
    """
    if key.name == "literal" or key.name in ECP_KEYS:
        return key
    given = key.given or key.name
    lit = LIT_RE.fullmatch(given)
    if lit:
        try:
            text = unquote(lit.group(1), errors="strict")
        except UnicodeDecodeError:
            return None
        return Key("literal", text, given=given) if len(text) == 1 else None
    code = ECP_CODES.get(given.lower())
    if code is None:
        return None
    common = COMMON_FOR_CODE.get(code)
    return Key(common, given=given) if common else Key(code, given=given)


# key name -> (capability it needs, what the error says the device cannot do)
GATED: dict[str, tuple[Capability, str]] = {
    **{k: (Capability.INPUTS, "switch TV inputs (it is not a Roku TV)")
       for k in ("input-hdmi1", "input-hdmi2", "input-hdmi3", "input-hdmi4", "input-av", "input-tuner")},
    **{k: (Capability.CHANNELS, "change TV channels (it is not a Roku TV)") for k in ("channel-up", "channel-down")},
    **{k: (Capability.VOLUME, "control volume (it says supports-audio-volume-control is false)")
       for k in ("volume-up", "volume-down", "mute")},
    **{k: (Capability.POWER, "switch power (it says supports-tv-power-control is false)")
       for k in ("power", "power-on", "power-off")},
    "find-remote": (Capability.FIND_REMOTE, "find its remote"),
}


def literal_path(char: str) -> str:
    """``Lit_`` + the percent-encoded UTF-8 of one code point (only RFC 3986 unreserved stay)."""
    return "Lit_" + quote(char, safe="")


def magic_packet(mac: str) -> bytes:
    raw = bytes.fromhex(mac.replace(":", "").replace("-", ""))
    if len(raw) != 6 or not any(raw):
        raise UnsupportedOperation(f"Wake-on-LAN MAC {mac!r} is not a MAC address.")
    return b"\xff" * 6 + raw * 16


# Queries the ecp-2 session carries: the HTTP path and the session's request name.
SESSION_QUERIES: dict[str, str] = {
    "/query/device-info": "query-device-info", "/query/active-app": "query-active-app",
    "/query/apps": "query-apps", "/query/media-player": "query-media-player",
    "/query/tv-channels": "query-tv-channels", "/query/tv-active-channel": "query-tv-active-channel",
    "/query/audio-device": "query-audio-device",
}  # fmt: skip
SESSION_KEY_REQUESTS = {"keypress": "key-press", "keydown": "key-down", "keyup": "key-up"}
# Access modes in which plain ECP refuses keys and most queries, so the session carries them.
RESTRICTED_MODES = ("limited", "disabled")
CONTROLS = ("auto", "http", "session")
# What developer mode gives (follows the device's developer-enabled at each probe and state read).
DEVELOPER_CAPABILITIES = (Capability.SCREENSHOT, Capability.DEV_INSTALL, Capability.DEV_LOGS,
                          Capability.DEV_SCREENSHOT)
DEVELOPER_CAPS = frozenset(c.value for c in DEVELOPER_CAPABILITIES)
# What only plain ECP carries: a device in a restricted mode is shown without these capabilities.
PLAIN_ECP_ONLY = frozenset({Capability.SEARCH.value, Capability.PLAY_MEDIA.value, Capability.APP_ICONS.value})
CONTROL_DOC = ("How commands reach a Roku: auto (plain ECP over HTTP while the set allows it, the "
               "authenticated ecp-2 session of Roku's mobile app once it is in Limited or Disabled mode), "
               "http (plain ECP only) or session (always the ecp-2 session).")


def _control(value: str) -> str | None:
    return None if value in CONTROLS else "expected auto, http or session"


def _control_option(value: str) -> str | None:
    return None if value in ("", *CONTROLS) else "expected auto, http or session (empty: the roku.control setting)"


SSDP_ST = "roku:ecp"
WAKEUP_MAC_RE = re.compile(r"MAC=([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5})")
@dataclass(frozen=True, slots=True)
class RokuSettings(Section):
    """The [roku] config section."""

    name: ClassVar[str] = "roku"
    request_timeout_s: float = setting(5.0, "Timeout of one ECP request.", min=0.05, max=60)
    wol_broadcast: str = setting("255.255.255.255", "Where Wake-on-LAN magic packets are sent.", check=ipv4_address)
    wol_port: int = setting(9, "UDP port of Wake-on-LAN packets.", min=1, max=65535)
    wol_wait_s: float = setting(15.0, "How long power-on waits for a woken TV to answer.", min=0.1, max=120)
    installer_port: int = setting(80, "Port of the developer-mode installer.", min=1, max=65535)
    console_port: int = setting(8085, "Port of the developer-mode log console.", min=1, max=65535)
    search_wait_s: float = setting(3.0, "How long a search waits for the app in front to change (strategy auto "
                                   "tries the app's own search when it does not).", min=0.1, max=30)
    search_steps_file: str = setting("", "A TOML file of in-app search steps; its apps replace the built-in ones "
                                     "(see search_steps.toml in the package).")
    dev_password: str = setting("", "Developer-mode password (user rokudev) of every Roku that has none of its own "
                                "(set one per device with tvctl device credentials).", secret=True)
    control: str = setting("auto", CONTROL_DOC + " A device's own control option overrides it.", check=_control)

CREDENTIALS: dict[str, Field] = {
    "dev_password": Field(str, "", "Developer-mode password (user rokudev) of this Roku.", secret=True,
                          prompt="Roku developer-mode password"),
}


OPTIONS: dict[str, Field] = {
    "control": Field(str, "", CONTROL_DOC + " Empty: the roku.control setting.", check=_control_option),
}


class RokuKeyResult(results.KeyResult, frozen=True, kw_only=True):
    ecp: str | None = None  # the ECP key code sent (None when the press was skipped)


class RokuAdapter(Adapter, Keys, State, Apps, Screenshots, Searching, Tuner, MediaUrl, DeveloperMode):
    platform: ClassVar[str] = "roku"
    default_port: ClassVar[int] = ECP_PORT
    probe_order: ClassVar[int] = 0
    settings: ClassVar[type[Section] | None] = RokuSettings
    credentials: ClassVar[dict[str, Field]] = CREDENTIALS
    options: ClassVar[dict[str, Field]] = OPTIONS
    renamed_settings: ClassVar[dict[str, str]] = {"dev.roku_password": "roku.dev_password"}
    key_names: ClassVar[frozenset[str] | None] = frozenset(ECP_KEYS)
    ssdp_search_targets: ClassVar[tuple[str, ...]] = (SSDP_ST,)
    # Rokus publish no ECP service over mDNS; AirPlay-capable models and Roku TVs announce these,
    # with TXT integrator=Roku and the serial number as the host name.
    mdns_service_types: ClassVar[tuple[str, ...]] = ("_airplay._tcp.local.", "_display._tcp.local.")

    def _roku(self) -> RokuSettings:
        """The [roku] section as it is now (a reload applies at once)."""
        return self.ctx.settings().section(RokuSettings)

    def __init__(self, ctx: AdapterContext, device: Device) -> None:
        super().__init__(ctx, device)
        self.ecp = EcpTransport(device.host, device.port, self._roku().request_timeout_s, device.name,
                                open_session=ctx.open_session)
        # Commands (keys, launches) have connections of their own: a person pressing a key never
        # waits behind the queries a busy dashboard keeps in flight.
        self.commands = EcpTransport(device.host, device.port, self._roku().request_timeout_s, device.name,
                                     open_session=ctx.open_session)
        self.session = EcpSession(device.host, device.port, device.name, open_session=ctx.open_session)
        self._console: DevConsole | None = None

    def update_device(self, device: Device) -> None:
        super().update_device(device)
        for t in (self.ecp, self.commands):
            t.host, t.port, t.label = device.host, device.port, device.name
        if (self.session.host, self.session.port) != (device.host, device.port):
            self.session.host, self.session.port = device.host, device.port
            if self.session.is_open:  # the old address: the next command opens a session to the new one
                asyncio.get_running_loop().create_task(self.session.close())
        self.session.label = device.name

    # -- which wire ---------------------------------------------------------------------------
    @classmethod
    def control_of(cls, device: Device, settings: SettingsView) -> str:
        """auto | http | session: the device's control option, else roku.control."""
        return device.options.get("control") or settings.section(RokuSettings).control

    @classmethod
    def wire_for(cls, device: Device, settings: SettingsView) -> str:
        """http | session: the connection ``device``'s commands take now."""
        control = cls.control_of(device, settings)
        if control != "auto":
            return control
        return "session" if device.access_mode in RESTRICTED_MODES else "http"

    @classmethod
    def present(cls, device: Device, settings: SettingsView) -> Device:
        """With its wire and the developer capabilities its developer mode gives now; in Limited or
        Disabled mode without what only plain ECP carries."""
        caps = tuple(c for c in device.capabilities if c not in DEVELOPER_CAPS)
        if device.developer_enabled:
            caps += tuple(c.value for c in DEVELOPER_CAPABILITIES)
        if device.access_mode in RESTRICTED_MODES:
            caps = tuple(c for c in caps if c not in PLAIN_ECP_ONLY)
        wire = cls.wire_for(device, settings)
        if (wire, caps) == (device.wire, device.capabilities):
            return device
        return device.evolve(wire=wire, capabilities=caps)

    def _wire(self) -> str:
        return self.wire_for(self.device, self.ctx.settings())

    def _learn(self, mode: str | None, developer_enabled: bool | None = None) -> None:
        """The device showed its access mode (device-info, or a refusal) or developer mode (device-info):
        remember it until its next probe, and tell the registry, so capabilities follow."""
        seen = Observation(access_mode=mode or None, developer_enabled=developer_enabled)
        shown = seen.applied_to(self.device)
        if shown is self.device:
            return
        if shown.access_mode != self.device.access_mode:
            _LOGGER.info("%s: ECP network access is %s", self.device.name, shown.access_mode)
        self.device = shown
        self.ctx.observed(self.device.id, seen)

    def _switches(self, refusal: EcpLimitedMode) -> bool:
        """Whether a plain-ECP refusal moves this command to the session (control auto), having
        learned the mode it shows. With control http the refusal is the answer."""
        self._learn(refusal.mode)
        return self.control_of(self.device, self.ctx.settings()) == "auto"

    def _http_only(self, what: str) -> None:
        """Refuse at once what only plain ECP carries when the set's access mode refuses plain ECP."""
        mode = self.device.access_mode
        if mode in RESTRICTED_MODES:
            raise EcpLimitedMode(f"{self.device.name} cannot {what} while its ECP network access is {mode}: only "
                                 "plain ECP carries it, and the mobile-app session tvctl uses in this mode does "
                                 "not.", details={"mode": mode})

    def _timeout(self) -> float:
        return self._roku().request_timeout_s

    def close_streams(self) -> None:
        if self._console is not None:
            self._console.close_followers()

    async def close(self) -> None:
        if self._console is not None:
            await self._console.close()
        await self.session.close()
        await self.ecp.close()
        await self.commands.close()

    async def _get(self, path: str, limit: int) -> bytes:
        """A query, over the wire in use; a plain-ECP refusal moves it to the session (control auto)."""
        request = SESSION_QUERIES.get(path)
        if request is not None and self._wire() == "session":
            return await self._session_query(request, limit)
        try:
            return await self._http_get(path, limit)
        except EcpLimitedMode as refusal:
            if request is None or not self._switches(refusal):
                raise
        return await self._session_query(request, limit)

    async def _session_query(self, request: str, limit: int) -> bytes:
        reply = await self.session.request(request, timeout_s=self._timeout())
        if not reply.ok:
            status = int(reply.status) if reply.status.isdigit() else 0
            raise DeviceBadResponse(f"{self.device.name} answered ecp-2 {request} with status {reply.status} "
                                    f"{reply.status_msg}".rstrip() + ".", details={"status": status})
        body = reply.body()
        if len(body) > limit:
            raise DeviceBadResponse(f"{self.device.name}'s ecp-2 reply to {request} is over {limit} bytes.")
        return body

    async def _http_get(self, path: str, limit: int) -> bytes:
        self.ecp.timeout_s = self._timeout()
        resp = await self.ecp.request("GET", path, limit=limit)
        if resp.status != 200:
            raise DeviceBadResponse(f"{self.device.name} answered GET {path} with HTTP {resp.status}.",
                                    details={"status": resp.status})
        return resp.body

    async def _key(self, action: str, key: str, *, literal: bool = False, timeout_s: float | None = None) -> int:
        """Press (keypress), hold (keydown) or release (keyup) an ECP key code, or one character
        (``literal``), over the wire in use; a plain-ECP refusal moves it to the session (control
        auto): a refused key was not pressed, so it is sent once, on the session."""
        if self._wire() == "session":
            return await self._session_key(action, key, literal, timeout_s)
        try:
            return await self._post(f"/{action}/{literal_path(key) if literal else key}", timeout_s=timeout_s)
        except EcpLimitedMode as refusal:
            if not self._switches(refusal):
                raise
        return await self._session_key(action, key, literal, timeout_s)

    async def _session_key(self, action: str, key: str, literal: bool, timeout_s: float | None) -> int:
        name = "Lit_" + key if literal else key  # nothing is percent-encoded on this wire
        request = SESSION_KEY_REQUESTS[action]
        timeout = timeout_s if timeout_s is not None else self._timeout()
        reply = await self.session.request(request, {"param-key": name}, timeout_s=timeout,
                                           open_timeout_s=min(OPEN_TIMEOUT_S, max(timeout, 1.0)))
        if reply.status == "400":
            raise InvalidKey(f"{self.device.name} rejected the key {name!r} ({reply.status_msg or 'status 400'}).")
        if not reply.ok:
            raise DeviceBadResponse(f"{self.device.name} answered ecp-2 {request} {name!r} with status "
                                    f"{reply.status} {reply.status_msg}".rstrip() + ".")
        return int(reply.status) if reply.status.isdigit() else 200

    async def _launch(self, app_id: str, params: Mapping[str, str]) -> int:
        """Launch an app (with deep-link ``params``) over the wire in use."""
        if self._wire() == "session":
            return await self._session_launch(app_id, params)
        path = f"/launch/{quote(app_id, safe='')}"
        if params:
            path += "?" + urlencode(dict(params), quote_via=quote)
        try:
            return await self._post(path)
        except EcpLimitedMode as refusal:
            if not self._switches(refusal):
                raise
        return await self._session_launch(app_id, params)

    async def _session_launch(self, app_id: str, params: Mapping[str, str]) -> int:
        # Deep-link parameters travel as one JSON object in a string (as Roku's own clients send them).
        frame = {"param-channel-id": app_id}
        if params:
            frame["param-params"] = mjson.encode(dict(params)).decode()
        reply = await self.session.request("launch", frame, timeout_s=self._timeout())
        if reply.status == "400" and params:
            says = reply.status_msg or "status 400"
            raise UnsupportedOperation(
                f"{self.device.name} refused launch parameters over the mobile-app session ({says}).",
                hint="Launch without parameters, or set Network access to Enabled on the Roku so they go over "
                     "plain ECP.")
        if not reply.ok:
            raise DeviceBadResponse(f"{self.device.name} answered ecp-2 launch {app_id} with status {reply.status} "
                                    f"{reply.status_msg}".rstrip() + ".")
        return int(reply.status) if reply.status.isdigit() else 200

    async def _post(self, path: str, *, timeout_s: float | None = None) -> int:
        self.commands.timeout_s = self._timeout()
        resp = await self.commands.request("POST", path, timeout_s=timeout_s, limit=MAX_COMMAND_REPLY)
        if resp.status == 400 and path.startswith(KEY_PATHS):
            raise InvalidKey(f"{self.device.name} rejected the key in {path}.")
        if not 200 <= resp.status < 300:
            raise DeviceBadResponse(f"{self.device.name} answered POST {path} with HTTP {resp.status}.")
        return resp.status

    # -- discovery ----------------------------------------------------------------------------
    @classmethod
    def recognise_ssdp(cls, reply: SsdpReply) -> Sighting | None:
        target = reply.header("st") or reply.header("nt")
        usn = reply.header("usn")
        if SSDP_ST not in target and SSDP_ST not in usn:
            return None
        mac = WAKEUP_MAC_RE.search(reply.header("wakeup"))
        return Sighting(serial_hint=cls.serial_from_usn(usn), wake_mac=usable_mac(mac.group(1)) if mac else None)

    @classmethod
    def serial_from_usn(cls, usn: str) -> str | None:
        marker = f"{SSDP_ST}:"
        return (usn.split(marker, 1)[1].strip() or None) if marker in usn else None

    @classmethod
    def recognise_mdns(cls, service: MdnsService) -> Sighting | None:
        integrator = (service.properties.get(b"integrator") or b"").decode("utf-8", "replace")
        if integrator.lower() != "roku":
            return None
        serial = service.server.split(".", 1)[0] if service.server else None
        return Sighting(serial_hint=serial or None)

    @classmethod
    def check_archive(cls, path: Path) -> None:
        """A readable zip with ``manifest`` at its root (blocking; run in a thread)."""
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise InvalidArchive(f"The upload is not a readable zip file ({exc}).",
                                 hint=ARCHIVE_HINT) from exc
        if "manifest" not in names:
            nested = [n for n in names if n.endswith("/manifest")]
            where = f" (found {nested[0]!r}: zip the folder's contents, not the folder)" if nested else ""
            raise InvalidArchive(f"The zip has no 'manifest' at its root{where}.", hint=ARCHIVE_HINT)

    @classmethod
    async def probe(cls, ctx: AdapterContext, host: str, port: int, timeout_s: float, *,
                    credentials: Mapping[str, str] = NO_CREDENTIALS, known: Device | None = None) -> DeviceInfo:
        transport = EcpTransport(host, port, timeout_s, open_session=ctx.open_session)
        try:
            resp = await transport.request("GET", "/query/device-info", limit=MAX_DEVICE_INFO)
        except EcpLimitedMode:  # Disabled mode: plain ECP answers 401 to every query
            return await cls._probe_disabled(transport, host, port, timeout_s)
        finally:
            await transport.close()
        if resp.status != 200:
            raise DeviceBadResponse(f"{host}:{port} answered device-info with HTTP {resp.status}; not a Roku?",
                                    hint=f"Nothing answered as a Roku at {host}:{port}. Check the address, that "
                                    "the TV is on, and that 'Control by mobile apps' is not Disabled.")
        return parse.device_info(resp.body)

    @classmethod
    async def _probe_disabled(cls, transport: EcpTransport, host: str, port: int, timeout_s: float) -> parse.RokuInfo:
        """Who a Roku in Disabled mode is: device-info over the ecp-2 session, else what its UPnP
        description (GET /, which that mode still answers) tells."""
        session = EcpSession(host, port, open_session=transport.open_session)
        try:
            reply = await session.request("query-device-info", timeout_s=timeout_s,
                                          open_timeout_s=min(OPEN_TIMEOUT_S, timeout_s))
            if reply.ok:
                info = parse.device_info(reply.body())
                return info if info.access_mode else dataclasses.replace(info, access_mode="disabled")
            first: TvctlError = DeviceBadResponse(f"{host}:{port} answered ecp-2 query-device-info with status "
                                                  f"{reply.status}.")
        except TvctlError as exc:
            first = exc
        finally:
            await session.close()
        _LOGGER.info("%s:%d: no device-info over the ecp-2 session (%s); reading its UPnP description",
                     host, port, first.message)
        try:
            resp = await transport.request("GET", "/", limit=MAX_DEVICE_INFO)
            desc = parse.upnp_description(resp.body) if resp.status == 200 else None
        except TvctlError:
            desc = None
        if desc is None or not desc.serial:
            raise first.restated(hint=f"{host}:{port} is a Roku whose ECP network access is Disabled, and its "
                                      f"mobile-app session failed too. {first.hint}") from first
        is_tv = "roku tv" in (desc.friendly_name or "").lower()  # the description has no is-tv
        return parse.RokuInfo(
            platform="roku", serial=desc.serial, udn=(desc.udn or "").removeprefix("uuid:") or None,
            model=desc.model_number or "", model_name=desc.model_name or "", vendor=desc.manufacturer or "Roku",
            user_name=None, kind="tv" if is_tv else "box", is_tv=is_tv, access_mode="disabled")

    @classmethod
    def capabilities_for(cls, info: DeviceInfo) -> tuple[str, ...]:
        if not isinstance(info, parse.RokuInfo):
            raise TypeError(f"expected what RokuAdapter.probe returns, got {type(info).__name__}")
        caps = [Capability.KEYS, Capability.TEXT, Capability.APPS, Capability.STATE, Capability.SEARCH,
                Capability.PLAY_MEDIA, Capability.APP_ICONS]
        if info.is_tv:
            caps += [Capability.INPUTS, Capability.CHANNELS]
        # Refused only when the device says it cannot: when it says nothing (older firmware,
        # streambars, players that forward over HDMI-CEC) the key is sent.
        if info.is_tv or info.supports_audio_volume_control is not False:
            caps.append(Capability.VOLUME)
        if info.is_tv or info.supports_tv_power_control is not False:
            caps.append(Capability.POWER)
        if info.supports_find_remote:
            caps.append(Capability.FIND_REMOTE)
        if info.developer_enabled:
            caps += DEVELOPER_CAPABILITIES
        return tuple(c.value for c in caps)

    # -- keys ---------------------------------------------------------------------------------
    @classmethod
    def check_key(cls, key: Key) -> None:
        if roku_key(key) is None:
            given = key.given or key.name
            # suggest in the spelling the client used: tvctl's lower-case names, or Roku's CamelCase
            names = list(ECP_KEYS) if given == given.lower() else [*ECP_CODES.values(), *ECP_KEYS]
            raise InvalidKey(f"Unknown key {given!r} for roku devices.", hint=unknown_key_hint(given, names))

    async def send_key(self, key: Key, *, hold_ms: int = 0) -> results.KeyResult:
        read = roku_key(key)
        if read is None:
            raise InvalidKey(f"Unknown key {key.given or key.name!r} for roku devices.")
        key = read
        if key.name in EXTRA_ECP_CODES:  # an ECP code with no common name: sent as it is
            await self._key("keypress", key.name)
            return RokuKeyResult(device=self.device.name, key=key.name, ecp=key.name)
        if key.name == "literal":
            for i, ch in enumerate(key.text):
                try:
                    await self._key("keypress", ch, literal=True)
                except TvctlError as exc:
                    raise exc.restated(f"{exc.message} ({i} of {len(key.text)} characters were sent.)",
                                       sent=i, total=len(key.text)) from exc
            return RokuKeyResult(device=self.device.name, key=f"literal:{key.text}", sent=len(key.text))
        gate = GATED.get(key.name)
        if gate is not None:
            self.require(*gate)
        if key.name == "power-on":
            return await self._power_on()
        if key.name in ("play", "pause"):
            skip = await self._play_pause_noop(key.name)
            if skip:
                return RokuKeyResult(device=self.device.name, key=key.name, skipped=skip)
        code = ECP_KEYS[key.name]
        if hold_ms > 0:
            await self._key("keydown", code)
            try:
                await asyncio.sleep(hold_ms / 1000)
            finally:
                # Always release, even when cancelled: a missing keyup leaves the key held.
                await asyncio.shield(self._key("keyup", code))
            return RokuKeyResult(device=self.device.name, key=key.name, ecp=code, hold_ms=hold_ms)
        await self._key("keypress", code)
        return RokuKeyResult(device=self.device.name, key=key.name, ecp=code)

    async def _play_pause_noop(self, want: str) -> str | None:
        """Roku only toggles: return why pressing Play would do the wrong thing, else None."""
        try:
            media = parse.media_player(await self._get("/query/media-player", MAX_SMALL_QUERY))
        except DeviceError:
            return None  # cannot tell (e.g. Limited mode): toggle as asked
        if want == "pause" and media.state != "play":
            return f"media is not playing (state {media.state})"
        if want == "play" and media.state == "play":
            return "media is already playing"
        return None

    async def _power_on(self) -> results.KeyResult:
        try:
            await self._key("keypress", "PowerOn")
            return RokuKeyResult(device=self.device.name, key="power-on", ecp="PowerOn", wol=False)
        except (DeviceUnreachable, DeviceTimeout) as exc:
            first: TvctlError = exc
        mac = self.device.wake_mac
        if not mac:
            raise DeviceUnreachable(
                f"{self.device.name} did not answer PowerOn and no Wake-on-LAN MAC is known.",
                hint="Enable Fast TV start on the TV so its network stays up in standby.",
            ) from first
        settings = self._roku()
        deadline = time.monotonic() + settings.wol_wait_s
        last: TvctlError = first
        while time.monotonic() < deadline:
            self._send_wol(mac, settings.wol_broadcast, settings.wol_port)
            await asyncio.sleep(0.2)  # give the NIC a moment before knocking again
            try:
                await self._key("keypress", "PowerOn", timeout_s=WAKE_ATTEMPT_TIMEOUT_S)
                return RokuKeyResult(device=self.device.name, key="power-on", ecp="PowerOn", wol=True, mac=mac)
            except (DeviceUnreachable, DeviceTimeout) as exc:
                last = exc
                await asyncio.sleep(0.3)
        raise DeviceUnreachable(
            f"{self.device.name} did not wake up within {settings.wol_wait_s:g} s of Wake-on-LAN "
            f"to {mac}: {last.message}",
            hint="Enable Fast TV start (network standby) on the TV, or check roku.wol_broadcast.",
        )

    @staticmethod
    def _send_wol(mac: str, broadcast: str, port: int) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            s.sendto(magic_packet(mac), (broadcast, port))

    # -- apps ---------------------------------------------------------------------------------
    async def list_apps(self) -> list[App]:
        return parse.apps(await self._get("/query/apps", MAX_APPS))

    async def launch(self, app: App, params: dict[str, str]) -> results.LaunchResult:
        status = await self._launch(app.platform_id, params)
        return results.LaunchResult(device=self.device.name, launched=app, params=params, already_running=status == 202)

    async def stop_app(self) -> results.StopResult:
        active = await self._active()
        if active.kind in ("home", "screensaver"):
            return results.StopResult(device=self.device.name, method="none", stopped=None,
                                      note="already on the home screen")
        if self.device.developer_enabled and active.platform_id and self._wire() == "http":
            # exit-app needs OS 13 + dev mode + Enabled; a 2xx means it worked, anything else → Home.
            try:
                resp = await self.commands.request("POST", f"/exit-app/{quote(active.platform_id, safe='')}",
                                              limit=MAX_SMALL_QUERY)
                if 200 <= resp.status < 300 and b"FAILED" not in resp.body:
                    return results.StopResult(device=self.device.name, method="exit-app", stopped=active)
            except DeviceError as exc:
                _LOGGER.debug("%s: exit-app failed (%s), falling back to Home", self.device.name, exc.message)
        await self._key("keypress", "Home")
        return results.StopResult(device=self.device.name, method="home", stopped=active,
                          note="returned to the home screen; apps with Instant Resume stay suspended")

    async def icon(self, platform_id: str) -> tuple[bytes, str]:
        self._http_only("serve app icons")
        resp = await self.ecp.request("GET", f"/query/icon/{quote(platform_id, safe='')}", limit=MAX_ICON)
        if resp.status != 200 or not resp.body:
            raise DeviceBadResponse(f"{self.device.name} has no icon for app {platform_id}.")
        if not resp.content_type.startswith("image/"):
            raise DeviceBadResponse(f"{self.device.name} answered the icon of app {platform_id} with "
                                    f"{resp.content_type or 'no content type'}, not an image.")
        return resp.body, resp.content_type

    # -- state --------------------------------------------------------------------------------
    async def state(self) -> parse.RokuState:
        unavailable: list[Unavailable] = []
        failed: dict[str, DeviceError] = {}

        async def part(name: str, path: str, limit: int) -> bytes | None:
            try:
                return await self._get(path, limit)
            except DeviceError as exc:
                unavailable.append(Unavailable(name, exc.code, exc.message))
                failed[name] = exc
                return None

        info_b, active_b = await asyncio.gather(part("device", "/query/device-info", MAX_DEVICE_INFO),
                                                part("active_app", "/query/active-app", MAX_SMALL_QUERY))
        # A reply that came but cannot be read is an unavailable part like one cut short or over its
        # limit; only when neither device-info nor active-app could be had is the read an error.
        info = active = None
        try:
            info = parse.device_info(info_b) if info_b else None
        except DeviceBadResponse as exc:
            unavailable.append(Unavailable("device", exc.code, exc.message))
            failed["device"] = exc
        try:
            active = parse.active_app(active_b) if active_b else None
        except DeviceBadResponse as exc:
            unavailable.append(Unavailable("active_app", exc.code, exc.message))
            failed["active_app"] = exc
        if "device" in failed and "active_app" in failed:
            raise failed["device"]
        power_on = info is None or info.power_mode in (None, "PowerOn")
        if info is not None:  # a set switched between modes, or into developer mode, is seen at the next read
            self._learn(info.access_mode, info.developer_enabled)
        media = tv = None
        audio = parse.AudioDevice(None, None)
        tasks: dict[str, asyncio.Task[bytes | None]] = {}
        async with asyncio.TaskGroup() as tg:
            if power_on and not (active and active.kind == "tv-input"):
                tasks["media"] = tg.create_task(part("media", "/query/media-player", MAX_SMALL_QUERY))
            if info and info.is_tv and active and active.platform_id == "tvinput.dtv":
                tasks["tv"] = tg.create_task(part("tv", "/query/tv-active-channel", MAX_SMALL_QUERY))
            if power_on and info and info.access_mode is not None:
                # Firmware that reports its access mode (OS 14.1+) has query/audio-device; older does not.
                tasks["audio"] = tg.create_task(part("audio", "/query/audio-device", MAX_SMALL_QUERY))
        if (b := tasks.get("media")) and b.result():
            media = parse.media_player(b.result() or b"")
        if (b := tasks.get("tv")) and b.result():
            tv = parse.tv_active_channel(b.result() or b"")
        if (b := tasks.get("audio")) and b.result():
            audio = parse.audio_device(b.result() or b"")
        if not power_on:
            unavailable.append(Unavailable("media", "standby", "device is in standby"))
        wire = self._wire()
        mode = self.device.access_mode
        note = None
        if wire == "session" and mode in RESTRICTED_MODES:
            note = f"{mode.capitalize()} mode — controlled through the mobile-app session"
        elif wire == "session":
            note = "controlled through the mobile-app session"
        return parse.RokuState(
            power=None if info is None else ("on" if info.power_mode in (None, "PowerOn") else "standby"),
            power_mode=info.power_mode if info else None,
            active_app=active,
            media=media,
            tv=tv,
            unavailable=unavailable,
            ecp_mode=info.access_mode if info else mode,
            wire=wire,
            volume=audio.volume,
            muted=audio.muted,
            control_note=note,
        )

    # -- developer mode -----------------------------------------------------------------------
    def _installer(self) -> Installer:
        self.sideload_preflight()
        return Installer(self.device.host, self._roku().installer_port, self._dev_password(),
                         self.device.name, open_session=self.ctx.open_session)

    def _dev_password(self) -> str:
        """The device's own developer password, else the one in roku.dev_password."""
        return self.credential("dev_password") or self._roku().dev_password

    def sideload_preflight(self) -> None:
        if not self._dev_password():
            raise DevPasswordMissing(f"No developer password is set for {self.device.name}; its installer needs one.",
                                     hint=f"Set it: tvctl -d {self.device.name} device credentials --set dev_password "
                                          "(or roku.dev_password in the config, for every Roku).")

    async def _has_dev_channel(self) -> bool:
        return any(a.platform_id == "dev" for a in await self.list_apps())

    async def _active(self) -> ActiveApp:
        return parse.active_app(await self._get("/query/active-app", MAX_SMALL_QUERY))

    async def _active_id(self) -> str | None:
        return (await self._active()).platform_id

    async def _wait_until(self, done: Callable[[ActiveApp], bool], timeout_s: float) -> tuple[ActiveApp, bool]:
        """Poll active-app (as RTA does) until ``done`` holds or ``timeout_s`` passes: the last answer,
        and whether it held."""
        deadline = time.monotonic() + timeout_s
        while True:
            now = await self._active()
            if done(now):
                return now, True
            if time.monotonic() >= deadline:
                return now, False
            await asyncio.sleep(RELOAD_POLL_S)

    async def dev_install(self, archive: Path, params: Mapping[str, str]) -> results.InstallResult:
        """Install; with ``params``, the device is told not to start it (dev_autolaunch=0) and it is
        launched with them instead, so the developer lands on the screen the parameters name."""
        installer = self._installer()
        try:
            had = await self._has_dev_channel()
        except DeviceError:
            had = False  # e.g. Limited mode hides the app list; report "installed"
        result = await installer.install(archive, had, autolaunch=not params)
        if not params:
            return result
        await self._launch_dev(params)
        return msgspec.structs.replace(result, launched=dict(params))

    async def _launch_dev(self, params: Mapping[str, str]) -> None:
        """Launch the dev channel (with deep-link ``params``) and wait until it is in front."""
        await self._launch("dev", params)
        _, started = await self._wait_until(lambda a: a.platform_id == "dev", RELOAD_START_S)
        if not started:
            raise DeviceTimeout(f"The dev channel on {self.device.name} did not start within {RELOAD_START_S:g} s.",
                                hint="Read tvctl dev logs for compile or runtime errors.")

    async def dev_reload(self, archive: Path | None, params: Mapping[str, str]) -> results.ReloadResult:
        """Leave the dev channel, wait until it is gone, launch it again, confirm it runs (§9.6)."""
        reinstalled = None
        if not await self._has_dev_channel():
            if archive is None or not self._dev_password():
                raise NoDevChannel(f"{self.device.name} has no sideloaded channel.")
            reinstalled = await self._installer().install(archive, False)
        left = "not-running"
        if await self._active_id() == "dev":
            left = "home"
            if self.device.developer_enabled and self._wire() == "http":
                resp = await self.commands.request("POST", "/exit-app/dev", limit=MAX_SMALL_QUERY)
                left = "exit-app" if 200 <= resp.status < 300 else "home"
            if left == "home":
                await self._key("keypress", "Home")
            _, left_it = await self._wait_until(lambda a: a.platform_id != "dev", RELOAD_LEAVE_S)
            if not left_it:
                raise DeviceTimeout(f"The dev channel on {self.device.name} did not stop within {RELOAD_LEAVE_S:g} s.")
        await self._launch_dev(params)
        result = results.ReloadResult(device=self.device.name, reloaded=True, left_via=left, reinstalled=reinstalled)
        return msgspec.structs.replace(result, params=dict(params)) if params else result

    async def dev_registry(self) -> results.DevRegistry:
        """The sideloaded channel's registry (query/registry/dev: OS 12+, developer mode)."""
        self._http_only("read the developer registry")
        try:
            reply = parse.dev_registry(await self._get("/query/registry/dev", MAX_SMALL_QUERY))
        except DeviceBadResponse as exc:
            details = exc.details or {}
            reason = str(details.get("device_says", ""))
            if not reason:
                if details.get("status") == 404:  # firmware before OS 12 has no such query
                    raise UnsupportedOperation(f"{self.device.name} does not answer query/registry (it needs "
                                               "Roku OS 12 or later in developer mode).") from exc
                raise
            if "not keyed" in reason.lower():
                raise DevNotKeyed(f"{self.device.name} has no developer key, so it keeps no registry for the "
                                  f"dev channel (it says: {reason}).") from exc
            if "not found" in reason.lower():
                if not self.device.developer_enabled:
                    raise DevModeDisabled(f"{self.device.name} is not in developer mode, so it has no dev "
                                          f"channel registry (it says: {reason}).") from exc
                raise NoDevChannel(f"{self.device.name} has no sideloaded channel, so there is no registry to "
                                   f"read (it says: {reason}).") from exc
            raise
        return results.DevRegistry(device=self.device.name, dev_id=reply.dev_id, space_available=reply.space_available,
                           sections=[results.RegistrySection(name, [results.RegistryItem(k, v) for k, v in items])
                                     for name, items in reply.sections])

    async def dev_packages(self) -> results.PackageList:
        return results.PackageList(device=self.device.name, packages=await self._installer().packages())

    async def dev_delete(self) -> results.DeleteResult:
        installer = self._installer()
        try:
            had = await self._has_dev_channel()
        except DeviceError:
            had = True  # cannot tell (Limited mode): ask the installer anyway
        messages = await installer.delete()
        return results.DeleteResult(device=self.device.name, deleted=had and not await self._has_dev_channel(),
                            messages=messages)

    # -- search, live TV, media -----------------------------------------------------------------
    async def search(self, request: results.SearchRequest) -> results.SearchResult:
        """ECP search/browse, the app's own search (steps from data), or browse then in-app (auto)."""
        self._http_only("search")
        settings = self._roku()
        app = request.app
        steps = None
        if app is not None and request.strategy != "browse":
            steps = load_steps(settings.search_steps_file).get(app.platform_id)
            if steps is None and request.strategy == "in-app":
                raise UnsupportedOperation(
                    f"No in-app search steps are known for {app.name} ({app.platform_id}).",
                    hint=f"Add [apps.{app.platform_id}] to the file named by roku.search_steps_file, or use "
                         "strategy browse.")
            for step in steps.steps if steps else ():
                if step.key is not None:
                    type(self).check_key(step.key)
        if request.strategy == "in-app" and app is None:
            raise UnsupportedOperation("The in-app search strategy needs an app.",
                                       hint='Name one: {"keyword": …, "app": "youtube", "strategy": "in-app"}.')
        tried: list[str] = []
        if request.strategy in ("browse", "auto"):
            tried.append("browse")
            before = await self._active()
            query: dict[str, str] = {"keyword": request.keyword}
            if request.type:
                query["type"] = request.type
            if request.season is not None:
                query["season"] = str(request.season)
            if app is not None:
                query["provider-id"] = app.platform_id
                if request.launch:
                    query["launch"] = "true"
            await self._post("/search/browse?" + urlencode(query, quote_via=quote))
            after, changed = await self._wait_until(
                lambda a: (a.kind, a.platform_id) != (before.kind, before.platform_id), settings.search_wait_s)
            if changed or request.strategy == "browse" or steps is None:
                note = None
                if not changed and request.strategy == "auto" and app is not None:
                    note = (f"the app in front did not change, and no in-app search steps are known for "
                            f"{app.name} ({app.platform_id})")
                result = results.SearchResult(device=self.device.name, keyword=request.keyword, strategy="browse",
                                      tried=tried, app=app, changed=changed, active_app=after)
                return msgspec.structs.replace(result, note=note) if note else result
        assert app is not None and steps is not None
        tried.append("in-app")
        await self._launch(app.platform_id, {})
        _, in_front = await self._wait_until(lambda a: a.platform_id == app.platform_id, RELOAD_START_S)
        if not in_front:
            raise DeviceTimeout(f"{app.name} did not come to the front on {self.device.name} within "
                                f"{RELOAD_START_S:g} s, so its search was not opened.")
        sent = 0
        for step in steps.steps:
            if step.kind == "wait":
                await asyncio.sleep(step.wait_ms / 1000)
                continue
            key = step.key if step.kind == "key" else Key("literal", request.keyword)
            assert key is not None
            await self.send_key(key)
            sent += 1
        return results.SearchResult(device=self.device.name, keyword=request.keyword, strategy="in-app", tried=tried,
                            app=app, changed=True, active_app=await self._active(), steps=sent)

    async def tv_channels(self) -> list[results.ChannelInfo]:
        self.require(Capability.CHANNELS, "list TV channels (it is not a Roku TV)")
        return parse.tv_channels(await self._get("/query/tv-channels", MAX_APPS))

    async def tv_tune(self, channel: str) -> results.TuneResult:
        """Launch the antenna input with the channel (python-rokuecp's ch, chan and lcn)."""
        self.require(Capability.CHANNELS, "tune TV channels (it is not a Roku TV)")
        name = None
        try:
            name = next((c.name for c in await self.tv_channels() if c.number == channel), None)
        except DeviceError as exc:  # the line-up only names the channel; tuning goes on without it
            _LOGGER.debug("%s: no channel line-up (%s)", self.device.name, exc.message)
        await self._launch(TUNER_INPUT, {"ch": channel, "chan": channel, "lcn": channel})
        return results.TuneResult(device=self.device.name, channel=channel, name=name, input=TUNER_INPUT)

    async def play_media(self, request: results.PlayRequest) -> results.PlayResult:
        """Play a URL through the Play on Roku input (input/15985)."""
        self._http_only("play a URL (Play on Roku)")
        query = {"t": MEDIA_TYPE_CODE[request.type], "u": request.url}
        if request.type == "video":
            query |= {"videoName": request.title} if request.title else {}
            query |= {"videoFormat": request.format} if request.format else {}
        elif request.type == "audio":
            query |= {"songname": request.title} if request.title else {}
            query |= {"songformat": request.format} if request.format else {}
        await self._post(f"/input/{PLAY_ON_ROKU}?" + urlencode(query, quote_via=quote))
        result = results.PlayResult(device=self.device.name, url=request.url, type=request.type)
        if request.title:
            result = msgspec.structs.replace(result, title=request.title)
        if request.format:
            result = msgspec.structs.replace(result, format=request.format)
        return result

    def console(self) -> DevConsole:
        if self._console is None:
            s = self.ctx.settings
            self._console = DevConsole(self.device.host, lambda: s().section(RokuSettings).console_port,
                                       lambda: s().section(DevSettings).log_buffer_lines, self.device.name)
        return self._console

    async def screenshot(self, display: int = 0) -> tuple[bytes, str]:
        """Rokus take screenshots only of a sideloaded channel in front (developer mode)."""
        self.require(Capability.SCREENSHOT, "take screenshots (only a Roku in developer mode can)")
        return await self.dev_screenshot()

    async def dev_screenshot(self) -> tuple[bytes, str]:
        installer = self._installer()
        if await self._active_id() != "dev":
            raise DevAppNotActive(f"The sideloaded channel is not in front on {self.device.name}.")
        return await installer.screenshot()
