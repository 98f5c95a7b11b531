"""BliKVM (API v1.4.0 and earlier): KVM over IP on plain HTTP.

Log in at ``/login_api`` with ``{"username", "password"}``; the answer is HTTP 200 either way, and
only ``status`` 1 means success. ``/keyboard`` takes ``{"keycodes": [...]}``: one request is one
keyboard report, every code pressed together and then released (a chord), so a sequence or text
is one request per key. The document sends both as GET with a JSON body; a server that wants
POST (405) gets POST from then on. Key names are the document's list (``PrtSc`` where browsers say
``PrintScreen``) plus the eight modifiers; a name outside it would be silently dropped by the
device, so it is refused before sending. Snapshots are uStreamer's ``:8008/snapshot``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from tvctl_adapters import keyboard
from tvctl_adapters.httpio import MAX_IMAGE, DeviceHttp, Reply
from tvctl_adapters.keyboard import KeystrokeFailed, KvmState

from tvctl.errors import (
    DeviceAuthFailed,
    DeviceBadResponse,
    DeviceTimeout,
    DeviceUnreachable,
    NoVideo,
    UnsupportedOperation,
)
from tvctl.fields import Field, Section, setting
from tvctl.keys import Key
from tvctl.models import Device, DeviceInfo, DeviceState
from tvctl.platform import NO_CREDENTIALS, Adapter, AdapterContext, Capability, Keys, Screenshots, State
from tvctl.results import KeyResult

_LOGGER = logging.getLogger(__name__)

# The codes the v1 server knows: its document's list (HID usages 4..99 but 50) and the modifiers.
KNOWN: frozenset[str] = frozenset(
    code for code, usage in keyboard.CODES.items() if (4 <= usage <= 99 and usage != 50) or usage >= 224)
WIRE_NAME = {"PrintScreen": "PrtSc"}  # where the BliKVM spelling differs from KeyboardEvent.code


@dataclass(frozen=True, slots=True)
class BliKvmSettings(Section):
    """The [blikvm] config section."""

    name: ClassVar[str] = "blikvm"
    request_timeout_s: float = setting(5.0, "Timeout of one request to a BliKVM.", min=0.1, max=60)
    snapshot_port: int = setting(8008, "Port of the BliKVM's video streamer (snapshots).", min=1, max=65535)
    keyboard_layout: str = setting("en-US", "Keyboard layout of the computers behind the BliKVMs, for typing text "
                                   "(a device's own keyboard_layout option wins).", check=keyboard.check_layout)


class BliKvmAdapter(Adapter, Keys, State, Screenshots):
    platform: ClassVar[str] = "blikvm"
    default_port: ClassVar[int] = 80
    probe_order: ClassVar[int] = 20
    settings: ClassVar[type[Section] | None] = BliKvmSettings
    credentials: ClassVar[dict[str, Field]] = {
        "username": Field(str, "", "The BliKVM web user.", secret=True, prompt="BliKVM user name"),
        "password": Field(str, "", "The BliKVM web password.", secret=True, prompt="BliKVM password"),
    }
    options: ClassVar[dict[str, Field]] = {
        "keyboard_layout": Field(str, "", "Keyboard layout of the computer behind this BliKVM, for typing text.",
                                 check=keyboard.check_layout),
    }

    def __init__(self, ctx: AdapterContext, device: Device) -> None:
        super().__init__(ctx, device)
        s = ctx.settings().section(BliKvmSettings)
        self.http = DeviceHttp(f"http://{device.host}:{device.port}", s.request_timeout_s, device.name,
                               open_session=ctx.open_session)
        self.snap = DeviceHttp(f"http://{device.host}:{s.snapshot_port}", s.request_timeout_s,
                               f"{device.name}'s video streamer", open_session=ctx.open_session)
        self._token: str | None = None
        self._method = "GET"  # as the document says; POST once the server answers 405

    # -- identity -----------------------------------------------------------------------------
    @classmethod
    async def probe(cls, ctx: AdapterContext, host: str, port: int, timeout_s: float, *,
                    credentials: Mapping[str, str] = NO_CREDENTIALS, known: Device | None = None) -> DeviceInfo:
        http = DeviceHttp(f"http://{host}:{port}", timeout_s, f"The BliKVM at {host}:{port}",
                          open_session=ctx.open_session)
        try:
            await cls._login(http, credentials, "GET")
        finally:
            await http.close()
        serial = known.serial if known is not None else f"{host}:{port}"
        return DeviceInfo(platform="blikvm", serial=serial, model="BliKVM", model_name="BliKVM", vendor="BliKVM",
                          kind="kvm", user_name=f"blikvm {host}")

    @staticmethod
    async def _send(http: DeviceHttp, path: str, body: dict[str, Any], method: str,
                    token: str | None = None) -> tuple[Reply, str]:
        """GET with a JSON body as documented; a 405 switches to POST. Returns the reply and the method
        that worked."""
        headers = {"Authorization": f"Bearer {token}"} if token else None
        data = json.dumps(body).encode()
        ctype = {"Content-Type": "application/json", **(headers or {})}
        reply = await http.request(method, path, data=data, headers=ctype)
        if reply.status == 405 and method == "GET":
            method = "POST"
            reply = await http.request(method, path, data=data, headers=ctype)
        return reply, method

    @classmethod
    async def _login(cls, http: DeviceHttp, credentials: Mapping[str, str], method: str) -> tuple[str, str]:
        if not credentials.get("username") or not credentials.get("password"):
            raise DeviceAuthFailed(f"{http.label} needs a user name and password to log in.",
                                   hint='Give them when adding it: {"credentials": {"username": …, "password": …}}.')
        reply, method = await cls._send(http, "/login_api", {"username": credentials["username"],
                                                             "password": credentials["password"]}, method)
        doc = _json(reply, http.label, "login")
        if reply.status != 200 or doc.get("status") != 1:
            said = doc.get("info") or reply.text() or reply.status
            raise DeviceAuthFailed(f"{http.label} refused the login: {said}.",
                                   hint="Check the user name and password kept for it (credentials).")
        token = (doc.get("data") or {}).get("token") if isinstance(doc.get("data"), dict) else None
        if not isinstance(token, str) or not token:
            raise DeviceBadResponse(f"{http.label}'s login answer carries no token.")
        return token, method

    @classmethod
    def capabilities_for(cls, info: DeviceInfo) -> tuple[str, ...]:
        return (Capability.KEYS.value, Capability.TEXT.value, Capability.SCREENSHOT.value, Capability.STATE.value)

    @classmethod
    def check_key(cls, key: Key) -> None:
        keyboard.check_key(key, cls.platform, KNOWN)

    def update_device(self, device: Device) -> None:
        super().update_device(device)
        self.http.label, self.snap.label = device.name, f"{device.name}'s video streamer"
        self.http.base = f"http://{device.host}:{device.port}"  # it may have moved (a new address)

    async def close(self) -> None:
        await self.http.close()
        await self.snap.close()

    # -- keys ---------------------------------------------------------------------------------
    def _creds(self) -> dict[str, str]:
        return {"username": self.credential("username"), "password": self.credential("password")}

    async def _chord(self, chord: keyboard.Chord) -> None:
        codes = [WIRE_NAME.get(c, c) for c in chord.codes]
        self.http.timeout_s = self.ctx.settings().section(BliKvmSettings).request_timeout_s
        for attempt in (0, 1):
            if self._token is None:
                self._token, self._method = await self._login(self.http, self._creds(), self._method)
            reply, self._method = await self._send(self.http, "/keyboard", {"keycodes": codes}, self._method,
                                                   self._token)
            if reply.status in (401, 403) and not attempt:
                self._token = None  # a new login, once
                continue
            doc = _json(reply, self.device.name, "keyboard")
            if reply.status != 200 or doc.get("status") != 1:
                raise KeystrokeFailed(f"{self.device.name} did not type {'+'.join(codes)}: "
                                      f"{doc.get('info') or reply.text() or reply.status}")
            return

    def layout(self) -> str:
        return self.device.options.get("keyboard_layout") or \
            self.ctx.settings().section(BliKvmSettings).keyboard_layout

    async def send_key(self, key: Key, *, hold_ms: int = 0) -> KeyResult:
        if hold_ms:
            raise UnsupportedOperation(f"{self.device.name} cannot hold a key down (one BliKVM request presses "
                                       "and releases).", hint="Leave out hold_ms.")
        if key.name == "literal":
            chords = keyboard.type_text(key.text, self.layout(), KNOWN)  # all checked before the first is sent
            await keyboard.press_each(chords, self._chord)
            return KeyResult(device=self.device.name, key=f"literal:{key.text}", sent=len(key.text))
        await self._chord(keyboard.chord_for(key, self.platform))
        return KeyResult(device=self.device.name, key=key.given or key.name)

    # -- screen -------------------------------------------------------------------------------
    async def screenshot(self, display: int = 0) -> tuple[bytes, str]:
        s = self.ctx.settings().section(BliKvmSettings)
        self.snap.base = f"http://{self.device.host}:{s.snapshot_port}"
        try:
            reply = await self.snap.request("GET", "/snapshot", limit=MAX_IMAGE)
        except (DeviceUnreachable, DeviceTimeout) as exc:
            # The streamer has a port of its own: the usual "is the TV powered" hint would point the wrong way.
            raise exc.restated(
                hint=f"Snapshots come from the BliKVM's video streamer at port {s.snapshot_port} "
                     "(blikvm.snapshot_port). If the BliKVM is on and serves them on another port: "
                     "tvctl config set blikvm.snapshot_port PORT.") from exc
        if reply.status != 200 or not reply.body:
            raise NoVideo(f"{self.device.name}'s streamer gave no picture (HTTP {reply.status}).")
        if not reply.content_type.startswith("image/"):
            raise DeviceBadResponse(f"{self.device.name}'s snapshot is {reply.content_type or 'untyped'}, "
                                    "not an image.")
        return reply.body, reply.content_type

    async def state(self) -> DeviceState:
        try:
            await self.screenshot()
            video = True
        except NoVideo:
            video = False
        return KvmState(power=None, power_mode=None, active_app=None, media=None, tv=None, unavailable=[],
                        video=video)


def _json(reply: Reply, label: str, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(reply.body) if reply.body else {}
    except ValueError:
        doc = {}
    if not isinstance(doc, dict):
        raise DeviceBadResponse(f"{label}'s {what} answer is not a JSON object.")
    return doc
