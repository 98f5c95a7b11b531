"""PiKVM: the kvmd API that PiKVM serves (and BliKVM boards on PiKVM OS, GL.iNet Comet, NanoKVM
Pro in PiKVM mode): keyboard, absolute mouse, ATX power and the video streamer's snapshots.

HTTPS under ``https://HOST/api`` with the box's self-signed certificate, pinned (SHA-256) when the
device is added and checked on every connection (see tinypilot). Every request carries the user
and password as ``X-KVMD-User`` / ``X-KVMD-Passwd``; for an account with two-factor
authentication the current one-time code (RFC 6238, computed here from ``totp_secret``) is
appended to the password, and a request refused while the code turned over is sent once more
with the new code. Keys are ``/api/hid/events/send_key`` (a full press, or down and up around a
hold), chords ``/api/hid/events/send_shortcut``; text is ``/api/hid/print`` with kvmd's keymap for
the device's layout. Power is the ATX board (``/api/atx``), pointer the absolute mouse
(-32768..32767 on each axis), screenshots ``/api/streamer/snapshot`` (503: no video).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar
from urllib.parse import urlencode

from msgspec import UNSET, Meta, UnsetType
from tvctl_adapters import keyboard
from tvctl_adapters.httpio import MAX_IMAGE, DeviceHttp, Reply, pinned_peer, text_or_none
from tvctl_adapters.keyboard import KeystrokeFailed, KvmState
from tvctl_adapters.pikvm import kvmd, wire

from tvctl.errors import (
    BadRequest,
    DeviceBadResponse,
    NoVideo,
    UnsupportedOperation,
)
from tvctl.fields import Field, Section, setting
from tvctl.keys import Key
from tvctl.models import Device, DeviceInfo, DeviceState
from tvctl.platform import NO_CREDENTIALS, Adapter, AdapterContext, Capability, Keys, Pointing, Screenshots, State
from tvctl.results import KeyResult, PointerRequest, PointerResult

# Power keys: the common names and PiKVM's own, with the ATX request each one is.
POWER_KEYS: dict[str, tuple[str, str]] = {
    "power-on": ("/api/atx/power", "on"),  # presses the power button only when the power LED is off
    "power-off": ("/api/atx/power", "off"),  # a short press (soft off) only when the LED is on
    "power-off-hard": ("/api/atx/power", "off_hard"),  # a 5 s press while the LED is on
    "reset": ("/api/atx/power", "reset_hard"),  # the reset button
    "power": ("/api/atx/click", "power"),  # a short press of the power button, whatever the state
}


@dataclass(frozen=True, slots=True)
class PikvmSettings(Section):
    """The [pikvm] config section."""

    name: ClassVar[str] = "pikvm"
    request_timeout_s: float = setting(5.0, "Timeout of one request to a PiKVM.", min=0.1, max=60)
    keyboard_layout: str = setting("en-US", "Keyboard layout of the computers behind the PiKVMs, for typing text "
                                   "(a device's own keyboard_layout option wins).", check=keyboard.check_layout)


@dataclass(frozen=True, slots=True)
class PikvmInfo(DeviceInfo):
    atx: bool = False  # whether an ATX board is enabled (power keys)


@dataclass(frozen=True, slots=True)
class PikvmState(KvmState):
    """A PiKVM's view of its target: video, the ATX LEDs, and the box itself."""

    resolution: str | None = None  # the video source's, "1920x1080"
    atx: bool = False  # an ATX board is enabled
    power_led: bool | None = None
    hdd_led: bool | None = None
    host_name: str | None = None  # the PiKVM's own host name (/api/info meta.server.host)
    hw_platform: str | None = None  # the board (/api/info hw.platform.base)


class PikvmKeyResult(KeyResult, frozen=True, kw_only=True):
    atx: Annotated[str, Meta(description="Power keys: the ATX request sent (power=on, click=power, …).")] \
        | UnsetType = UNSET
    power_led: Annotated[bool, Meta(description="Power keys: the target's power LED after.")] | UnsetType = UNSET
    hdd_led: Annotated[bool, Meta(description="Power keys: the target's disk LED after.")] | UnsetType = UNSET


class PikvmAdapter(Adapter, Keys, State, Screenshots, Pointing):
    platform: ClassVar[str] = "pikvm"
    default_port: ClassVar[int] = 443
    probe_order: ClassVar[int] = 25  # after TinyPilot (10) and BliKVM (20)
    settings: ClassVar[type[Section] | None] = PikvmSettings
    credentials: ClassVar[dict[str, Field]] = {
        "username": Field(str, "", "The PiKVM user (kvmd's, e.g. admin).", secret=True, prompt="PiKVM user name"),
        "password": Field(str, "", "The PiKVM user's password.", secret=True, prompt="PiKVM password"),
        "totp_secret": Field(str, "", "With two-factor authentication: the base32 secret (/etc/kvmd/totp.secret); "
                                      "the current code is appended to the password.", secret=True,
                             check=wire.check_totp_secret, prompt="PiKVM TOTP secret (empty: none)"),
    }
    options: ClassVar[dict[str, Field]] = {
        "keyboard_layout": Field(str, "", "Keyboard layout of the computer behind this PiKVM, for typing text.",
                                 check=keyboard.check_layout),
    }
    key_names: ClassVar[frozenset[str] | None] = frozenset(
        {*keyboard.COMMON, *POWER_KEYS})  # and KeyboardEvent.code names with modifiers (check_key)

    def __init__(self, ctx: AdapterContext, device: Device) -> None:
        super().__init__(ctx, device)
        self.http = self._http(ctx, device.host, device.port, device.tls_fingerprint, device)

    @staticmethod
    def _http(ctx: AdapterContext, host: str, port: int, fingerprint: str | None, device: Device | None) -> DeviceHttp:
        return DeviceHttp.pinned(ctx.open_session, host, port, ctx.settings().section(PikvmSettings).request_timeout_s,
                                 "The PiKVM", device, fingerprint)

    # -- identity -----------------------------------------------------------------------------
    @classmethod
    async def probe(cls, ctx: AdapterContext, host: str, port: int, timeout_s: float, *,
                    credentials: Mapping[str, str] = NO_CREDENTIALS, known: Device | None = None) -> DeviceInfo:
        seen = await pinned_peer(host, port, timeout_s, f"The PiKVM at {host}:{port}", known)
        http = cls._http(ctx, host, port, seen, known)
        http.timeout_s = timeout_s
        try:
            reply = await kvmd.request(http, credentials, "GET", "/api/auth/check")
            if wire.envelope(reply.body) is None:
                raise DeviceBadResponse(f"{host}:{port} answered /api/auth/check with HTTP {reply.status} and no "
                                        "kvmd reply; not a PiKVM?")
            if reply.status in (401, 403):
                raise kvmd.refused(f"The PiKVM at {host}", reply, credentials)
            kvmd.result_of(reply, http.label, "/api/auth/check")
            info = kvmd.result_of(await kvmd.request(http, credentials, "GET", "/api/info?fields=meta,hw,system"),
                           http.label, "/api/info")
            atx = kvmd.result_of(await kvmd.request(http, credentials, "GET", "/api/atx"), http.label, "/api/atx")
        finally:
            await http.close()
        board = wire.dig(info, "hw", "platform") or {}
        serial = known.serial if known is not None else str(board.get("serial") or f"tls-{seen[:16]}")
        base = str(board.get("base") or "")
        host_name = wire.dig(info, "meta", "server", "host")
        return PikvmInfo(platform="pikvm", serial=serial, model="PiKVM", model_name=f"PiKVM {base}".strip(),
                         vendor="PiKVM", kind="kvm", user_name=str(host_name) if host_name else f"pikvm {host}",
                         software_version=text_or_none(wire.dig(info, "system", "kvmd", "version")),
                         tls_fingerprint=seen, atx=atx.get("enabled") is True)

    @classmethod
    def capabilities_for(cls, info: DeviceInfo) -> tuple[str, ...]:
        caps = [Capability.KEYS.value, Capability.TEXT.value, Capability.SCREENSHOT.value, Capability.STATE.value,
                Capability.POINTER.value]
        if isinstance(info, PikvmInfo) and info.atx:
            caps.append(Capability.POWER.value)
        return tuple(caps)

    @classmethod
    def check_key(cls, key: Key) -> None:
        if key.name in POWER_KEYS:
            return
        keyboard.check_key(key, cls.platform)

    def update_device(self, device: Device) -> None:
        super().update_device(device)
        self.http.follow(device)

    async def close(self) -> None:
        await self.http.close()

    # -- requests -----------------------------------------------------------------------------
    async def _call(self, method: str, path: str, query: Mapping[str, Any] | None = None, *,
                    data: bytes | None = None, limit: int = 64 << 10) -> Reply:
        """One request with the device's credentials; refused credentials are device_auth_failed."""
        self.http.timeout_s = self.ctx.settings().section(PikvmSettings).request_timeout_s
        creds = {k: self.credential(k) for k in self.credentials}
        full = f"{path}?{urlencode(query)}" if query else path
        reply = await kvmd.request(self.http, creds, method, full, data=data, limit=limit)
        if reply.status in (401, 403):
            raise kvmd.refused(self.device.name, reply, creds, self.device.id)
        return reply

    async def _json(self, method: str, path: str, query: Mapping[str, Any] | None = None, *,
                    data: bytes | None = None) -> dict[str, Any]:
        reply = await self._call(method, path, query, data=data)
        return kvmd.result_of(reply, self.device.name, path)

    async def _hid(self, path: str, query: Mapping[str, Any], what: str, *, data: bytes | None = None) -> None:
        reply = await self._call("POST", path, query, data=data)
        if reply.status != 200:
            name, msg = wire.error_of(reply.body)
            raise KeystrokeFailed(f"{self.device.name} could not {what} (HTTP {reply.status}): "
                                  f"{msg or name or 'no reason given'}")

    # -- keys -----------------------------------------------------------------------------------
    def layout(self) -> str:
        return self.device.options.get("keyboard_layout") or self.ctx.settings().section(PikvmSettings).keyboard_layout

    async def send_key(self, key: Key, *, hold_ms: int = 0) -> KeyResult:
        if key.name in POWER_KEYS:
            if hold_ms:
                raise UnsupportedOperation(f"{self.device.name} cannot hold an ATX button for a chosen time.",
                                           hint="Leave out hold_ms; power-off-hard is the long press.")
            return await self._power(key.name)
        if key.name == "literal":
            layout = self.layout()
            keyboard.type_text(key.text, layout)  # refuses an untypable character before anything is sent
            await self._hid("/api/hid/print", {"limit": 0, "keymap": wire.KEYMAPS[layout]}, "type the text",
                            data=key.text.encode())
            return KeyResult(device=self.device.name, key=f"literal:{key.text}", sent=len(key.text))
        chord = keyboard.chord_for(key, self.platform)
        what = f"press {'+'.join(chord.codes)}"
        if hold_ms:
            down: list[str] = []
            try:
                for code in chord.codes:
                    await self._hid("/api/hid/events/send_key", {"key": code, "state": "true"}, what)
                    down.append(code)
                await asyncio.sleep(hold_ms / 1000)
            finally:  # whatever went down comes up, also when a press failed or the request was cancelled
                for code in reversed(down):
                    await self._hid("/api/hid/events/send_key", {"key": code, "state": "false"}, what)
            return KeyResult(device=self.device.name, key=key.given or key.name, hold_ms=hold_ms)
        if chord.modifiers:
            await self._hid("/api/hid/events/send_shortcut", {"keys": ",".join(chord.codes)}, what)
        else:
            await self._hid("/api/hid/events/send_key", {"key": chord.code}, what)
        return KeyResult(device=self.device.name, key=key.given or key.name)

    async def _power(self, name: str) -> PikvmKeyResult:
        self.require(Capability.POWER, "switch its target's power (no ATX board was enabled when it was added)")
        path, value = POWER_KEYS[name]
        param = "action" if path.endswith("/power") else "button"
        reply = await self._call("POST", path, {param: value, "wait": 1})
        if reply.status != 200:
            kvmd.fail(reply, self.device.name, f"{path}?{param}={value}")
        leds = (await self._json("GET", "/api/atx")).get("leds") or {}
        return PikvmKeyResult(device=self.device.name, key=name, atx=f"{path.rsplit('/', 1)[1]}={value}",
                              power_led=leds.get("power") is True, hdd_led=leds.get("hdd") is True)

    # -- screen -----------------------------------------------------------------------------------
    async def screenshot(self, display: int = 0) -> tuple[bytes, str]:
        reply = await self._call("GET", "/api/streamer/snapshot", limit=MAX_IMAGE)
        if reply.status == 503:
            raise NoVideo(f"{self.device.name} receives no video from its target.")
        if reply.status != 200 or not reply.content_type.startswith("image/"):
            raise DeviceBadResponse(f"{self.device.name} answered the snapshot with HTTP {reply.status} "
                                    f"({reply.content_type or 'no content type'}).")
        return reply.body, reply.content_type

    async def _source(self) -> tuple[bool, tuple[int, int] | None]:
        """Whether the streamer has a video signal, and its resolution (kvmd says ``"streamer": null``
        while its streamer is stopped: no signal known)."""
        source = wire.dig(await self._json("GET", "/api/streamer"), "streamer", "source") or {}
        size = source.get("resolution") or {}
        w, h = size.get("width"), size.get("height")
        online = source.get("online") is True
        return online, (w, h) if online and isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0 else None

    async def state(self) -> DeviceState:
        (online, size), atx, info = await asyncio.gather(
            self._source(), self._json("GET", "/api/atx"), self._json("GET", "/api/info", {"fields": "meta,hw"}))
        enabled = atx.get("enabled") is True
        power = wire.dig(atx, "leds", "power") if enabled else None
        hdd = wire.dig(atx, "leds", "hdd") if enabled else None
        return PikvmState(power=None if power is None else ("on" if power else "standby"),
                          power_mode=None if power is None else f"ATX power LED {'on' if power else 'off'}",
                          active_app=None, media=None, tv=None, unavailable=[], video=online,
                          resolution=f"{size[0]}x{size[1]}" if size else None, atx=enabled,
                          power_led=power if isinstance(power, bool) else None,
                          hdd_led=hdd if isinstance(hdd, bool) else None,
                          host_name=text_or_none(wire.dig(info, "meta", "server", "host")),
                          hw_platform=text_or_none(wire.dig(info, "hw", "platform", "base")))

    # -- pointer ----------------------------------------------------------------------------------
    async def pointer(self, request: PointerRequest) -> PointerResult:
        if request.action == "scroll" and not request.dy:
            raise BadRequest("A scroll needs dy, the wheel steps (negative is up).", hint='Add "dy": 3 or "dy": -3.')
        if request.unit == "px":
            _online, size = await self._source()
            if size is None:
                raise NoVideo(f"{self.device.name} has no video (or its streamer is stopped), so there are no "
                              "pixels to point at.",
                              hint="Point with fractions of the screen (unit fraction, tvctl click --fraction).")
            w, h = size
            if request.x > w - 1 or request.y > h - 1:
                raise BadRequest(f"({request.x:g}, {request.y:g}) is outside the {w}x{h} screen.",
                                 hint=f"x is 0 to {w - 1}, y 0 to {h - 1}; or give fractions (unit fraction).")
            fx, fy = wire.pixel_fraction(request.x, w), wire.pixel_fraction(request.y, h)
        else:
            fx, fy = request.x, request.y
        what = f"{request.action} at ({request.x:g}, {request.y:g})"
        await self._hid("/api/hid/events/send_mouse_move",
                        {"to_x": wire.to_absolute(fx), "to_y": wire.to_absolute(fy)}, what)
        if request.action in ("click", "double-click", "right-click"):
            button = "right" if request.action == "right-click" else "left"
            for _ in range(2 if request.action == "double-click" else 1):
                await self._hid("/api/hid/events/send_mouse_button", {"button": button}, what)
        elif request.action == "scroll":
            delta = max(-wire.WHEEL_MAX, min(wire.WHEEL_MAX, -request.dy))  # kvmd: positive scrolls up
            await self._hid("/api/hid/events/send_mouse_wheel", {"delta_x": 0, "delta_y": delta}, what)
        return PointerResult(device=self.device.name, action=request.action, x=round(fx, 6), y=round(fy, 6),
                             dy=request.dy if request.action == "scroll" else UNSET)
