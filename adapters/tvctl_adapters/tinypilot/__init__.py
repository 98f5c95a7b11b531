"""TinyPilot KVM over IP: the screen and USB keyboard of whatever HDMI device it is plugged into.

REST under ``https://HOST/api/v1`` with the device's self-signed certificate, pinned (SHA-256)
when the device is added and checked on every connection. Authorisation is a Pro API key when
one is kept for the device (``Authorization: Bearer``), else a token from ``POST /api/v1/auth``
(sent without an ``Origin`` header); tokens die when the TinyPilot restarts, so a 401 or 403 gets
one fresh token and one retry. Keys are ``/api/v1/keystroke`` (a code plus modifier flags, one
request per key); text goes to ``/api/v1/paste`` where the firmware has it (404 → typed key by
key for the device's keyboard layout). ``/api/v1/screenshot`` is the screen, 204 when there is
no video.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from tvctl_adapters import keyboard
from tvctl_adapters.httpio import MAX_IMAGE, DeviceHttp, Reply, pinned_peer
from tvctl_adapters.keyboard import KeystrokeFailed, KvmState

from tvctl.errors import (
    DeviceAuthFailed,
    DeviceBadResponse,
    NoVideo,
    UnsupportedOperation,
)
from tvctl.fields import Field, Section, setting
from tvctl.keys import Key
from tvctl.models import Device, DeviceInfo, DeviceState
from tvctl.platform import NO_CREDENTIALS, Adapter, AdapterContext, Capability, Keys, Screenshots, State
from tvctl.results import KeyResult

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TinyPilotSettings(Section):
    """The [tinypilot] config section."""

    name: ClassVar[str] = "tinypilot"
    request_timeout_s: float = setting(5.0, "Timeout of one request to a TinyPilot.", min=0.1, max=60)
    keyboard_layout: str = setting("en-US", "Keyboard layout of the computers behind the TinyPilots, for typing "
                                   "text (a device's own keyboard_layout option wins).", check=keyboard.check_layout)


def _pem_file(path: str) -> str | None:
    if not Path(path).is_absolute() or not Path(path).is_file():
        return "an absolute path to a readable PEM file on the daemon's machine"
    return None


class TinyPilotAdapter(Adapter, Keys, State, Screenshots):
    platform: ClassVar[str] = "tinypilot"
    default_port: ClassVar[int] = 443
    probe_order: ClassVar[int] = 10
    settings: ClassVar[type[Section] | None] = TinyPilotSettings
    credentials: ClassVar[dict[str, Field]] = {
        "api_key": Field(str, "", "A TinyPilot Pro API key; without one, tokens come from /api/v1/auth.",
                         secret=True, prompt="TinyPilot Pro API key"),
    }
    options: ClassVar[dict[str, Field]] = {
        "keyboard_layout": Field(str, "", "Keyboard layout of the computer behind this TinyPilot, for typing text.",
                                 check=keyboard.check_layout),
        "ca_file": Field(str, "", "A CA certificate (PEM file) that signs this TinyPilot's certificate; when set, any "
                                  "certificate it signs is taken instead of the pinned one.", check=_pem_file),
    }

    def __init__(self, ctx: AdapterContext, device: Device) -> None:
        super().__init__(ctx, device)
        self.http = self._http(ctx, device.host, device.port, device.tls_fingerprint, device)
        self._token: str | None = None
        self._paste: bool | None = None  # whether the firmware has /api/v1/paste (None: not known yet)

    @staticmethod
    def _http(ctx: AdapterContext, host: str, port: int, fingerprint: str | None, device: Device | None) -> DeviceHttp:
        return DeviceHttp.pinned(ctx.open_session, host, port,
                                 ctx.settings().section(TinyPilotSettings).request_timeout_s, "The TinyPilot", device,
                                 fingerprint, ca_file=device.options.get("ca_file", "") if device is not None else "")

    # -- identity -----------------------------------------------------------------------------
    @classmethod
    async def probe(cls, ctx: AdapterContext, host: str, port: int, timeout_s: float, *,
                    credentials: Mapping[str, str] = NO_CREDENTIALS, known: Device | None = None) -> DeviceInfo:
        seen = await pinned_peer(host, port, timeout_s, f"The TinyPilot at {host}:{port}", known,
                                 by_ca=known is not None and bool(known.options.get("ca_file")))
        http = cls._http(ctx, host, port, seen, known)
        http.timeout_s = timeout_s
        try:
            token = await cls._authorise(http, credentials.get("api_key", ""))
            reply = await http.request("GET", "/api/v1/screenshot", headers={"Authorization": f"Bearer {token}"},
                                       limit=MAX_IMAGE)
        finally:
            await http.close()
        if reply.status in (401, 403):
            raise DeviceAuthFailed(f"The TinyPilot at {host} refused the API key: {reply.text() or reply.status}.",
                                   hint="Give the key the TinyPilot shows under Settings → API as credentials.api_key.")
        if reply.status not in (200, 204):
            raise DeviceBadResponse(f"{host}:{port} answered the screenshot request with HTTP {reply.status}; "
                                    "not a TinyPilot with its REST API enabled?")
        serial = known.serial if known is not None else f"tls-{seen[:16]}"
        return DeviceInfo(platform="tinypilot", serial=serial, model="TinyPilot", model_name="TinyPilot",
                          vendor="TinyPilot", kind="kvm", user_name=f"tinypilot {host}", tls_fingerprint=seen)

    @staticmethod
    async def _authorise(http: DeviceHttp, api_key: str) -> str:
        """The bearer to send: the API key, or a fresh token (asked without an Origin header)."""
        if api_key:
            return api_key
        reply = await http.request("POST", "/api/v1/auth", skip_auto_headers=("Origin",))
        if reply.status != 200:
            raise DeviceAuthFailed(f"{http.label} gave no API token (HTTP {reply.status}): "
                                   f"{reply.text() or 'no reason given'}.",
                                   hint="Its REST API needs an Enterprise licence, and no web password "
                                        "(or give it a Pro API key as credentials).")
        try:
            import json

            token = json.loads(reply.body)["token"]
        except (ValueError, KeyError, TypeError) as exc:
            raise DeviceBadResponse(f"{http.label}'s token reply is not {{\"token\": …}}.") from exc
        if not isinstance(token, str) or not token:
            raise DeviceBadResponse(f"{http.label}'s token reply is not {{\"token\": …}}.")
        return token

    @classmethod
    def capabilities_for(cls, info: DeviceInfo) -> tuple[str, ...]:
        return (Capability.KEYS.value, Capability.TEXT.value, Capability.SCREENSHOT.value, Capability.STATE.value)

    @classmethod
    def check_key(cls, key: Key) -> None:
        keyboard.check_key(key, cls.platform)

    def update_device(self, device: Device) -> None:
        super().update_device(device)
        self.http.follow(device)  # it may have moved (a new address)
        self.http.ca_file = device.options.get("ca_file", "")

    async def close(self) -> None:
        await self.http.close()

    # -- requests -----------------------------------------------------------------------------
    async def _call(self, method: str, path: str, *, json: object = None, limit: int = 64 << 10) -> Reply:
        """One authorised request; a 401/403 on a token (the TinyPilot restarted) gets a new token
        and one retry. A refused API key is device_auth_failed with the device's own words."""
        api_key = self.credential("api_key")
        self.http.timeout_s = self.ctx.settings().section(TinyPilotSettings).request_timeout_s
        for attempt in (0, 1):
            if self._token is None or api_key:
                self._token = await self._authorise(self.http, api_key)
            reply = await self.http.request(method, path, json=json, limit=limit,
                                            headers={"Authorization": f"Bearer {self._token}"})
            if reply.status not in (401, 403):
                return reply
            self._token = None
            if api_key or attempt:
                break
            _LOGGER.info("%s: token refused (HTTP %d), fetching a new one", self.device.name, reply.status)
        what = "API key" if api_key else "fresh token"
        raise DeviceAuthFailed(f"{self.device.name} refused its {what} (HTTP {reply.status}): "
                               f"{reply.text() or 'no reason given'}.",
                               hint=f"Set the right key: PATCH /v1/devices/{self.device.id} "
                                    '{"credentials": {"api_key": "…"}}.' if api_key else
                               "Turn off the web password on the TinyPilot, or give it a Pro API key.")

    async def _press(self, chord: keyboard.Chord) -> None:
        flags = {FLAG[m]: True for m in chord.modifiers}
        reply = await self._call("POST", "/api/v1/keystroke", json={"code": chord.code, **flags})
        if reply.status != 200:
            raise KeystrokeFailed(f"{self.device.name} could not press {'+'.join(chord.codes)} "
                                  f"(HTTP {reply.status}): {reply.text() or 'no reason given'}")

    # -- operations ---------------------------------------------------------------------------
    def layout(self) -> str:
        return self.device.options.get("keyboard_layout") or \
            self.ctx.settings().section(TinyPilotSettings).keyboard_layout

    async def send_key(self, key: Key, *, hold_ms: int = 0) -> KeyResult:
        if hold_ms:
            raise UnsupportedOperation(f"{self.device.name} cannot hold a key down (TinyPilot's API presses and "
                                       "releases in one request).", hint="Leave out hold_ms.")
        if key.name == "literal":
            return await self._type(key.text)
        chord = keyboard.chord_for(key, self.platform)
        await self._press(chord)
        return KeyResult(device=self.device.name, key=key.given or key.name)

    async def _type(self, text: str) -> KeyResult:
        layout = self.layout()
        chords = keyboard.type_text(text, layout)  # refuses an untypable character before anything is sent
        if self._paste is not False:
            reply = await self._call("POST", "/api/v1/paste", json={"text": text, "language": layout})
            if reply.status == 200:
                self._paste = True
                return KeyResult(device=self.device.name, key=f"literal:{text}", sent=len(text))
            if reply.status not in (404, 405):
                raise KeystrokeFailed(f"{self.device.name} could not paste the text (HTTP {reply.status}): "
                                      f"{reply.text() or 'no reason given'}")
            self._paste = False  # older firmware: type it key by key
        await keyboard.press_each(chords, self._press)
        return KeyResult(device=self.device.name, key=f"literal:{text}", sent=len(text))

    async def screenshot(self, display: int = 0) -> tuple[bytes, str]:
        reply = await self._call("GET", "/api/v1/screenshot", limit=MAX_IMAGE)
        if reply.status == 204:
            raise NoVideo(f"{self.device.name} receives no video from its target.")
        if reply.status != 200 or not reply.content_type.startswith("image/"):
            raise DeviceBadResponse(f"{self.device.name} answered the screenshot with HTTP {reply.status} "
                                    f"({reply.content_type or 'no content type'}).")
        return reply.body, reply.content_type

    async def state(self) -> DeviceState:
        reply = await self._call("GET", "/api/v1/screenshot", limit=MAX_IMAGE)
        if reply.status not in (200, 204):
            raise DeviceBadResponse(f"{self.device.name} answered the screenshot with HTTP {reply.status}.")
        return KvmState(power=None, power_mode=None, active_app=None, media=None, tv=None, unavailable=[],
                        video=reply.status == 200)


FLAG = {"ShiftLeft": "shiftLeft", "ShiftRight": "shiftRight", "AltLeft": "altLeft", "AltRight": "altRight",
        "ControlLeft": "ctrlLeft", "ControlRight": "ctrlRight", "MetaLeft": "metaLeft", "MetaRight": "metaRight"}
