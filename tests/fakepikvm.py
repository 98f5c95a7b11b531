"""A fake PiKVM (kvmd), written from pikvm/pikvm docs/api.md and, where the document is silent,
kvmd's handlers: real HTTPS on 127.0.0.1 with a certificate made at test time (tests/fakekvm.py's
``make_certificate``), stateful and recording every request.

What it keeps: the user and password (and a TOTP secret, whose current code must follow the
password), the ATX board (enabled or not; its power and HDD LEDs follow the power actions), the
video signal (on or off: the snapshot answers 503 and the streamer's source goes offline), the
keys held down, and every key, text, mouse and ATX event that reached the target. Answers are
kvmd's envelope: ``{"ok": true, "result": {…}}`` or ``{"ok": false, "result": {"error", "error_msg"}}``
with 401 (no credentials), 403 (wrong ones), 400 (bad parameter, ATX disabled), 503 (no video).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.fakekvm import JPEG_SCREEN, HttpsFake

# kvmd's keymap.csv web_name column: the keys send_key and send_shortcut take.
KVMD_KEYS = frozenset(
    [f"Key{c}" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"] + [f"Digit{d}" for d in "1234567890"]
    + [f"F{n}" for n in range(1, 25)] + [f"Numpad{d}" for d in "1234567890"]
    + ["Enter", "Escape", "Backspace", "Tab", "Space", "Minus", "Equal", "BracketLeft", "BracketRight",
       "Backslash", "Semicolon", "Quote", "Backquote", "Comma", "Period", "Slash", "CapsLock", "PrintScreen",
       "Insert", "Home", "PageUp", "Delete", "End", "PageDown", "ArrowRight", "ArrowLeft", "ArrowDown", "ArrowUp",
       "ControlLeft", "ShiftLeft", "AltLeft", "MetaLeft", "ControlRight", "ShiftRight", "AltRight", "MetaRight",
       "Pause", "ScrollLock", "NumLock", "ContextMenu", "NumpadDivide", "NumpadMultiply", "NumpadSubtract",
       "NumpadAdd", "NumpadEnter", "NumpadDecimal", "Power", "IntlBackslash", "IntlYen", "IntlRo", "KanaMode",
       "Convert", "NonConvert", "AudioVolumeMute", "AudioVolumeUp", "AudioVolumeDown"])
KEYMAPS = ("de", "en-gb", "en-us", "fr")  # a few of kvmd's keymaps (/api/hid/keymaps)


def rfc6238(secret: str, now: float) -> str:
    """The fake's own TOTP (HMAC-SHA1, 30 s, 6 digits), as pyotp computes it."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(now) // 30), hashlib.sha1).digest()
    o = mac[-1] & 15
    return str((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1_000_000).zfill(6)


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: str


def _ok(result: dict[str, Any] | None = None) -> web.Response:
    return web.json_response({"ok": True, "result": result or {}})


def _fail(status: int, error: str, msg: str) -> web.Response:
    return web.json_response({"ok": False, "result": {"error": error, "error_msg": msg}}, status=status)


def _bool(value: str) -> bool:
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise ValueError(value)


class FakePikvm(HttpsFake):
    def __init__(self, folder: Path, *, username: str = "admin", password: str = "admin",
                 totp_secret: str | None = None, atx: bool = True, host: str = "127.0.0.1",
                 netns: str | None = None) -> None:
        super().__init__(folder, "pikvm", host=host, netns=netns)
        self.username, self.password, self.totp_secret = username, password, totp_secret
        self.atx = atx  # an ATX board is enabled
        self.power_led = False
        self.hdd_led = False
        self.video = True
        self.screen = (JPEG_SCREEN, "image/jpeg")  # what the snapshot shows (a test may put an image here)
        self.streamer_running = True  # kvmd stops its streamer when no client watches: "streamer": null
        self.resolution = (1280, 720)
        self.host_name = "pikvm-lab"
        self.requests: list[Seen] = []
        self.events: list[tuple[Any, ...]] = []  # what reached the target, in order
        self.stamps: list[float] = []  # time.monotonic() of each event
        self.down: set[str] = set()  # keys held down now
        self._lock = threading.Lock()
        self.key_event = threading.Event()  # set on each key or mouse event

    def paths(self) -> list[str]:
        with self._lock:
            return [f"{r.method} {r.path}" + (f"?{'&'.join(f'{k}={v}' for k, v in r.query.items())}"
                                              if r.query else "") for r in self.requests]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self.events.clear()
            self.stamps.clear()

    # -- the API ------------------------------------------------------------------------------
    def _authorised(self, request: web.Request) -> web.Response | None:
        user, passwd = request.headers.get("X-KVMD-User"), request.headers.get("X-KVMD-Passwd")
        if user is None or passwd is None:
            return _fail(401, "UnauthorizedError", "Unauthorized")
        want = self.password + (rfc6238(self.totp_secret, time.time()) if self.totp_secret else "")
        if user != self.username or passwd != want:
            return _fail(403, "ForbiddenError", "Forbidden")
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = (await request.read()).decode("utf-8", "replace")
        with self._lock:
            self.requests.append(Seen(request.method, request.path, dict(request.query), dict(request.headers),
                                      body))
        if not request.path.startswith("/api/"):
            return web.Response(status=404, text="Not Found")
        refused = self._authorised(request)
        if refused is not None:
            return refused
        route = (request.method, request.path.removeprefix("/api"))
        handler = ROUTES.get(route)
        if handler is None:
            return web.Response(status=404 if route[1] not in {p for _, p in ROUTES} else 405)
        try:
            return handler(self, request.query, body)
        except (KeyError, ValueError) as exc:
            return _fail(400, "ValidatorError", f"Bad parameter: {exc}")

    def _event(self, *event: Any) -> None:
        with self._lock:
            self.events.append(event)
            self.stamps.append(time.monotonic())
        self.key_event.set()

    def auth_check(self, q: Any, body: str) -> web.Response:
        return _ok()

    def info(self, q: Any, body: str) -> web.Response:
        return _ok({
            "meta": {"server": {"host": self.host_name}, "kvm": {}},
            "hw": {"platform": {"base": "Raspberry Pi 4 Model B Rev 1.5", "board": "rpi4", "model": "v3",
                                "serial": "10000000C8DA432D", "type": "rpi", "video": "hdmi"}},
            "system": {"kvmd": {"version": "4.94"}},
        })

    def streamer(self, q: Any, body: str) -> web.Response:
        w, h = self.resolution
        if not self.streamer_running:
            return _ok({"features": {"h264": True, "quality": True, "resolution": False},
                        "snapshot": {"saved": None}, "streamer": None})
        return _ok({"features": {"h264": True, "quality": True, "resolution": False},
                    "snapshot": {"saved": None},
                    "streamer": {"source": {"captured_fps": 30 if self.video else 0, "online": self.video,
                                            "resolution": {"width": w, "height": h} if self.video else
                                            {"width": 0, "height": 0}}}})

    def snapshot(self, q: Any, body: str) -> web.StreamResponse:
        if not self.video or not self.streamer_running:
            return _fail(503, "UnavailableError", "Service Unavailable")
        image, ctype = self.screen
        return web.Response(body=image, content_type=ctype)

    def send_key(self, q: Any, body: str) -> web.Response:
        key = q["key"]
        if key not in KVMD_KEYS:
            raise ValueError(f"Keyboard key {key!r} is not in the keymap")
        if "state" in q:
            state = _bool(q["state"])
            (self.down.add if state else self.down.discard)(key)
            self._event("key", key, state)
        else:
            self._event("key", key, True)
            self._event("key", key, False)
        return _ok()

    def send_shortcut(self, q: Any, body: str) -> web.Response:
        keys = [k for k in q["keys"].split(",") if k]
        for k in keys:
            if k not in KVMD_KEYS:
                raise ValueError(f"Keyboard key {k!r} is not in the keymap")
        self._event("shortcut", *keys)
        return _ok()

    def print_text(self, q: Any, body: str) -> web.Response:
        keymap = q.get("keymap", "de")
        if keymap not in KEYMAPS:
            raise ValueError(f"keymap {keymap!r}")
        limit = int(q.get("limit", 1024))
        self._event("print", body[:limit] if limit > 0 else body, keymap)
        return _ok()

    def mouse_move(self, q: Any, body: str) -> web.Response:
        x, y = (max(-32768, min(32767, int(q[k]))) for k in ("to_x", "to_y"))
        self._event("move", x, y)
        return _ok()

    def mouse_button(self, q: Any, body: str) -> web.Response:
        button = q["button"]
        if button not in ("left", "middle", "right", "up", "down"):
            raise ValueError(f"Mouse button {button!r}")
        if "state" in q:
            self._event("button", button, _bool(q["state"]))
        else:
            self._event("button", button, True)
            self._event("button", button, False)
        return _ok()

    def mouse_wheel(self, q: Any, body: str) -> web.Response:
        dx, dy = (max(-127, min(127, int(q[k]))) for k in ("delta_x", "delta_y"))
        self._event("wheel", dx, dy)
        return _ok()

    def atx_state(self, q: Any, body: str) -> web.Response:
        leds = {"power": self.power_led, "hdd": self.hdd_led} if self.atx else {"power": False, "hdd": False}
        return _ok({"enabled": self.atx, "busy": False, "leds": leds})

    def atx_power(self, q: Any, body: str) -> web.Response:
        action = q["action"]
        if action not in ("on", "off", "off_hard", "reset_hard"):
            raise ValueError(f"ATX power action {action!r}")
        if not self.atx:
            return _fail(400, "AtxDisabledError", "ATX is disabled")
        if action == "on" and not self.power_led:
            self.power_led, self.hdd_led = True, True
        elif action in ("off", "off_hard") and self.power_led:
            self.power_led, self.hdd_led = False, False
        elif action == "reset_hard":
            self.hdd_led = True
        self._event("atx", action)
        return _ok()

    def atx_click(self, q: Any, body: str) -> web.Response:
        button = q["button"]
        if button not in ("power", "power_long", "reset"):
            raise ValueError(f"ATX button {button!r}")
        if not self.atx:
            return _fail(400, "AtxDisabledError", "ATX is disabled")
        if button == "power":
            self.power_led = not self.power_led
            self.hdd_led = self.power_led
        elif button == "power_long":
            self.power_led = self.hdd_led = False
        self._event("atx-click", button)
        return _ok()


ROUTES: dict[tuple[str, str], Callable[[FakePikvm, Any, str], web.StreamResponse]] = {
    ("GET", "/auth/check"): FakePikvm.auth_check,
    ("GET", "/info"): FakePikvm.info,
    ("GET", "/streamer"): FakePikvm.streamer,
    ("GET", "/streamer/snapshot"): FakePikvm.snapshot,
    ("POST", "/hid/events/send_key"): FakePikvm.send_key,
    ("POST", "/hid/events/send_shortcut"): FakePikvm.send_shortcut,
    ("POST", "/hid/print"): FakePikvm.print_text,
    ("POST", "/hid/events/send_mouse_move"): FakePikvm.mouse_move,
    ("POST", "/hid/events/send_mouse_button"): FakePikvm.mouse_button,
    ("POST", "/hid/events/send_mouse_wheel"): FakePikvm.mouse_wheel,
    ("GET", "/atx"): FakePikvm.atx_state,
    ("POST", "/atx/power"): FakePikvm.atx_power,
    ("POST", "/atx/click"): FakePikvm.atx_click,
}
