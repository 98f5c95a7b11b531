"""RokuAdapter: normalized keys, text, apps, state and power over ECP (TCP 8060)."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote, urlencode

from tvctl_adapters.roku import parse
from tvctl_adapters.roku.devinstall import Installer
from tvctl_adapters.roku.devlog import DevConsole
from tvctl_adapters.roku.errors import DevPasswordMissing
from tvctl_adapters.roku.transport import (
    MAX_APPS,
    MAX_COMMAND_REPLY,
    MAX_DEVICE_INFO,
    MAX_ICON,
    MAX_SMALL_QUERY,
    EcpTransport,
)

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
from tvctl.keys import Key
from tvctl.models import App, Device, DeviceInfo, MdnsService, Sighting, SsdpReply, Unavailable, usable_mac
from tvctl.platform import NO_CREDENTIALS, Adapter, AdapterContext, Capability
from tvctl.results import InstallResult, KeyResult, LaunchResult, ReloadResult, StopResult

_LOGGER = logging.getLogger(__name__)

ECP_PORT = 8060
ARCHIVE_HINT = "Upload a zip file with the channel's manifest at the root of the archive."
# A TV leaving standby answers slowly; a woken TV gets this long per PowerOn attempt.
WAKE_ATTEMPT_TIMEOUT_S = 1.0
# Dev-channel reload (reference §9.6): leaving takes ≤5 s, a fresh start ≤10 s; poll like RTA does.
RELOAD_LEAVE_S = 5.0
RELOAD_START_S = 10.0
RELOAD_POLL_S = 0.1

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
    dev_password: str = setting("", "Developer-mode password (user rokudev) of every Roku that has none of its own "
                                "(set one per device with tvctl device credentials).", secret=True)

CREDENTIALS: dict[str, Field] = {
    "dev_password": Field(str, "", "Developer-mode password (user rokudev) of this Roku.", secret=True),
}


class RokuKeyResult(KeyResult, frozen=True, kw_only=True):
    ecp: str | None = None  # the ECP key code sent (None when the press was skipped)


class RokuAdapter(Adapter):
    platform: ClassVar[str] = "roku"
    default_port: ClassVar[int] = ECP_PORT
    probe_order: ClassVar[int] = 0
    settings: ClassVar[type[Section] | None] = RokuSettings
    credentials: ClassVar[dict[str, Field]] = CREDENTIALS
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
        self.ecp = EcpTransport(device.host, device.port, self._roku().request_timeout_s, device.name)
        self._console: DevConsole | None = None

    def update_device(self, device: Device) -> None:
        super().update_device(device)
        self.ecp.host, self.ecp.port, self.ecp.label = device.host, device.port, device.name

    def close_streams(self) -> None:
        if self._console is not None:
            self._console.close_followers()

    async def close(self) -> None:
        if self._console is not None:
            await self._console.close()
        await self.ecp.close()

    async def _get(self, path: str, limit: int) -> bytes:
        self.ecp.timeout_s = self._roku().request_timeout_s
        resp = await self.ecp.request("GET", path, limit=limit)
        if resp.status != 200:
            raise DeviceBadResponse(f"{self.device.name} answered GET {path} with HTTP {resp.status}.")
        return resp.body

    async def _post(self, path: str, *, timeout_s: float | None = None) -> int:
        self.ecp.timeout_s = self._roku().request_timeout_s
        resp = await self.ecp.request("POST", path, timeout_s=timeout_s, limit=MAX_COMMAND_REPLY)
        if resp.status == 400 and path.startswith(("/keypress/", "/keydown/", "/keyup/")):
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
        transport = EcpTransport(host, port, timeout_s)
        try:
            resp = await transport.request("GET", "/query/device-info", limit=MAX_DEVICE_INFO)
        finally:
            await transport.close()
        if resp.status != 200:
            raise DeviceBadResponse(f"{host}:{port} answered device-info with HTTP {resp.status}; not a Roku?",
                                    hint=f"Nothing answered as a Roku at {host}:{port}. Check the address, that "
                                    "the TV is on, and that 'Control by mobile apps' is not Disabled.")
        return parse.device_info(resp.body)

    @classmethod
    def capabilities_for(cls, info: DeviceInfo) -> tuple[str, ...]:
        if not isinstance(info, parse.RokuInfo):
            raise TypeError(f"expected what RokuAdapter.probe returns, got {type(info).__name__}")
        caps = [Capability.KEYS, Capability.TEXT, Capability.APPS, Capability.STATE]
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
            caps += [Capability.SCREENSHOT, Capability.DEV_INSTALL, Capability.DEV_LOGS, Capability.DEV_SCREENSHOT]
        return tuple(c.value for c in caps)

    # -- keys ---------------------------------------------------------------------------------
    async def send_key(self, key: Key, *, hold_ms: int = 0) -> KeyResult:
        if key.name == "literal":
            for i, ch in enumerate(key.text):
                try:
                    await self._post(f"/keypress/{literal_path(ch)}")
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
            await self._post(f"/keydown/{code}")
            try:
                await asyncio.sleep(hold_ms / 1000)
            finally:
                # Always release, even when cancelled: a missing keyup leaves the key held.
                await asyncio.shield(self._post(f"/keyup/{code}"))
            return RokuKeyResult(device=self.device.name, key=key.name, ecp=code, hold_ms=hold_ms)
        await self._post(f"/keypress/{code}")
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

    async def _power_on(self) -> KeyResult:
        try:
            await self._post("/keypress/PowerOn")
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
                await self._post("/keypress/PowerOn", timeout_s=WAKE_ATTEMPT_TIMEOUT_S)
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

    async def launch(self, app: App, params: dict[str, str]) -> LaunchResult:
        path = f"/launch/{quote(app.platform_id, safe='')}"
        if params:
            path += "?" + urlencode(params, quote_via=quote)
        status = await self._post(path)
        return LaunchResult(device=self.device.name, launched=app, params=params, already_running=status == 202)

    async def stop_app(self) -> StopResult:
        active = parse.active_app(await self._get("/query/active-app", MAX_SMALL_QUERY))
        if active.kind in ("home", "screensaver"):
            return StopResult(device=self.device.name, method="none", stopped=None, note="already on the home screen")
        if self.device.developer_enabled and active.platform_id:
            # exit-app needs OS 13 + dev mode + Enabled; a 2xx means it worked, anything else → Home.
            try:
                resp = await self.ecp.request("POST", f"/exit-app/{quote(active.platform_id, safe='')}",
                                              limit=MAX_SMALL_QUERY)
                if 200 <= resp.status < 300 and b"FAILED" not in resp.body:
                    return StopResult(device=self.device.name, method="exit-app", stopped=active)
            except DeviceError as exc:
                _LOGGER.debug("%s: exit-app failed (%s), falling back to Home", self.device.name, exc.message)
        await self._post("/keypress/Home")
        return StopResult(device=self.device.name, method="home", stopped=active,
                          note="returned to the home screen; apps with Instant Resume stay suspended")

    async def icon(self, platform_id: str) -> tuple[bytes, str]:
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

        async def part(name: str, path: str, limit: int) -> bytes | None:
            try:
                return await self._get(path, limit)
            except DeviceError as exc:
                unavailable.append(Unavailable(name, exc.code, exc.message))
                return None

        info_b, active_b = await asyncio.gather(part("device", "/query/device-info", MAX_DEVICE_INFO),
                                                part("active_app", "/query/active-app", MAX_SMALL_QUERY))
        if info_b is None and active_b is None and all(
            u.code in ("device_unreachable", "device_timeout") for u in unavailable
        ):
            err = DeviceTimeout if unavailable[0].code == "device_timeout" else DeviceUnreachable
            raise err(unavailable[0].reason)
        info = parse.device_info(info_b) if info_b else None
        active = parse.active_app(active_b) if active_b else None
        power_on = info is None or info.power_mode in (None, "PowerOn")
        media = tv = None
        tasks: dict[str, asyncio.Task[bytes | None]] = {}
        async with asyncio.TaskGroup() as tg:
            if power_on and not (active and active.kind == "tv-input"):
                tasks["media"] = tg.create_task(part("media", "/query/media-player", MAX_SMALL_QUERY))
            if info and info.is_tv and active and active.platform_id == "tvinput.dtv":
                tasks["tv"] = tg.create_task(part("tv", "/query/tv-active-channel", MAX_SMALL_QUERY))
        if (b := tasks.get("media")) and b.result():
            media = parse.media_player(b.result() or b"")
        if (b := tasks.get("tv")) and b.result():
            tv = parse.tv_active_channel(b.result() or b"")
        if not power_on:
            unavailable.append(Unavailable("media", "standby", "device is in standby"))
        if info is not None:
            self.device = self.device.evolve(developer_enabled=info.developer_enabled)
        return parse.RokuState(
            power=None if info is None else ("on" if info.power_mode in (None, "PowerOn") else "standby"),
            power_mode=info.power_mode if info else None,
            active_app=active,
            media=media,
            tv=tv,
            unavailable=unavailable,
            ecp_mode=info.ecp_mode if info else None,
        )

    # -- developer mode -----------------------------------------------------------------------
    def _installer(self) -> Installer:
        self.sideload_preflight()
        return Installer(self.device.host, self._roku().installer_port, self._dev_password(),
                         self.device.name)

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

    async def _active_id(self) -> str | None:
        return parse.active_app(await self._get("/query/active-app", MAX_SMALL_QUERY)).platform_id

    async def dev_install(self, archive: Path) -> InstallResult:
        installer = self._installer()
        try:
            had = await self._has_dev_channel()
        except DeviceError:
            had = False  # e.g. Limited mode hides the app list; report "installed"
        return await installer.install(archive, had)

    async def _wait_active(self, want_dev: bool, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if (await self._active_id() == "dev") == want_dev:
                return True
            await asyncio.sleep(RELOAD_POLL_S)
        return False

    async def dev_reload(self, archive: Path | None) -> ReloadResult:
        """Leave the dev channel, wait until it is gone, launch it again, confirm it runs (§9.6)."""
        reinstalled = None
        if not await self._has_dev_channel():
            if archive is None or not self._dev_password():
                raise NoDevChannel(f"{self.device.name} has no sideloaded channel.")
            reinstalled = await self._installer().install(archive, False)
        left = "not-running"
        if await self._active_id() == "dev":
            left = "home"
            if self.device.developer_enabled:
                resp = await self.ecp.request("POST", "/exit-app/dev", limit=MAX_SMALL_QUERY)
                left = "exit-app" if 200 <= resp.status < 300 else "home"
            if left == "home":
                await self._post("/keypress/Home")
            if not await self._wait_active(False, RELOAD_LEAVE_S):
                raise DeviceTimeout(f"The dev channel on {self.device.name} did not stop within {RELOAD_LEAVE_S:g} s.")
        await self._post("/launch/dev")
        if not await self._wait_active(True, RELOAD_START_S):
            raise DeviceTimeout(f"The dev channel on {self.device.name} did not start within {RELOAD_START_S:g} s.",
                                hint="Read tvctl dev logs for compile or runtime errors.")
        return ReloadResult(device=self.device.name, reloaded=True, left_via=left, reinstalled=reinstalled)

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
