"""A fake Roku: real HTTP and the ``ecp-2`` WebSocket on 127.0.0.1:0, answering from the recorded fixtures, stateful.

It runs its own event loop in a background thread, so the daemon under test (a separate
process) and the test code (sync or async) both talk to it over real sockets. Keys and
launches change ``active-app`` and ``media-player`` (volume keys change ``volume`` and ``muted``);
``mode`` makes it misbehave on cue:

* ``"limited"`` — ECP Limited mode: 403 with the recorded body for keys, apps, media, icons, TV
* ``"hang"``    — accept the request and never answer
* ``"garbage"`` — 200 with a body that is not XML
* ``"asleep"``  — drop every connection until a Wake-on-LAN magic packet for its MAC arrives
  on its UDP ``wol_port`` (then it wakes up, like a TV with network standby off)

How replies to GETs go on the wire is set by ``framing`` (``None``: aiohttp's own, ``"length"``,
``"chunked"`` or ``"close"``: written by hand), ``segment`` (bytes per write, each write
followed by a short pause, so the daemon sees the reply in many reads even on loopback) and
``cut_at`` (send that many body bytes of a reply that declared more, then close).

``access`` plays the OS 14.1+ setting "Control by mobile apps → Network access" over plain HTTP,
as the TCL captures in ``fixtures/roku/ecp2/`` show it; device-info's ``<ecp-setting-mode>`` (where
the recorded kind has one) follows it:

* ``"enabled"``, ``"permissive"`` — everything answers
* ``"limited"``  — keys 403 with no body (an unknown key name is judged first: 400); apps,
  media-player, icons, ``tv-*``, audio-device and every other command 403 with the recorded text;
  device-info, active-app and ``GET /`` answer
* ``"disabled"`` — every ``/query/…`` and every POST 401 with no body; ``GET /`` answers

``GET /`` is the UPnP device description, carrying the fake's serial number and UDN.

The ``ecp-2`` session (``/ecp-session`` on the same port, subprotocol ``ecp-2``; ``session_enabled``
False makes it a plain 404) answers in every access mode: a fresh challenge, ``authenticate``
checked against ``session_key`` (a wrong answer is refused as ``session_refusal`` says: ``"status"``
a 401 reply then close, ``"close"``, or ``"silent"``), then key-press/-down/-up, ``launch``
(``param-channel-id``, ``param-params`` a JSON string; last params in ``launch_params``) and the
``query-*`` requests, each carrying the document HTTP would serve. Cues: ``drop_every`` (close a
session after its Nth reply), ``session_hang`` (authenticate, then never answer), ``ws_inject``
(frames sent, and taken off the list, before the next reply); ``drop_sessions()`` cuts every
session, ``close_sessions()`` closes each with a close frame.

What reached it, for the test thread: ``requests`` (HTTP), ``ws_frames`` (each frame received,
parsed; ``{"raw": text}`` when not a JSON object), ``wire_log`` (``("http", "POST /keypress/Home")``,
``("ws", "key-press Home")``, in order over both wires; the WebSocket upgrade itself is not logged),
``key_events()`` (the key events answered 2xx as ``(wire, action, key)``, ``Lit_`` characters decoded),
``sessions_opened`` and ``sessions_open``. ``wait_until(predicate)`` blocks until they say so;
``clear()`` empties the logs (not the counters).

A companion ``FakeSsdp`` answers M-SEARCH on a loopback UDP port.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import io
import json
import os
import random
import re
import socket
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote_to_bytes

from aiohttp import BodyPartReader, WSMsgType, web

FIXTURES = Path(__file__).parent / "fixtures" / "roku"


def fx(rel: str) -> bytes:
    return (FIXTURES / rel).read_bytes()


@dataclass(frozen=True)
class Kind:
    """One recorded device kind: which fixture files it answers with."""

    name: str
    device_info: str
    apps: str
    is_tv: bool
    dev: bool = False


KINDS = {
    "stick": Kind("stick", "device-info/stick_roku-stick-3500X_os10.0.0.xml", "apps/box_apps.xml", False),
    "box": Kind("box", "device-info/box_roku-express-3900X_os9.2.0.xml", "apps/box_apps-with-type-subtype.xml", False),
    "tv": Kind("tv", "device-info/tv_onn-7820X_os9.2.0.xml", "apps/tv_apps-with-inputs.xml", True),
    "devbox": Kind("devbox", "device-info/box_roku-ultra-4660X_os9.3.0_devmode-redacted.xml", "apps/box_apps.xml",
                   False, dev=True),
    # TCL Roku TV 32S357 on OS 15.3.4 (network access Enabled); its device-info says developer-enabled true.
    "tcl": Kind("tcl", "ecp2/tcl-roku-tv-32s357-enabled/device-info.xml", "ecp2/tcl-roku-tv-32s357-enabled/apps.xml",
                is_tv=True, dev=True),
}
# GET / (UPnP device description): the kind's own recording where there is one, else a TV's or a box's.
DESCRIPTIONS = {"tcl": "ecp2/tcl-roku-tv-32s357-disabled/device-description.xml"}
DESCRIPTION_TV = "upnp/root-description_tv_sharp-7000X.xml"
DESCRIPTION_BOX = "upnp/root-description_box_roku-express-3900X.xml"

LIMITED_BLOCKED = ("/keypress/", "/keydown/", "/keyup/", "/query/media-player", "/query/apps", "/query/icon/",
                   "/query/tv-")

# -- network access modes (``access``) and the ecp-2 session ------------------------------------------
ACCESS_MODES = ("enabled", "limited", "disabled", "permissive")
LIMITED_REFUSAL = "ecp2/tcl-roku-tv-32s357-15-3-4/limited-refusal.txt"
# What Limited mode refuses over HTTP besides keys: apps, media-player and icon are captured; tv-* and
# audio-device as the reference lists them.
ACCESS_LIMITED_QUERIES = ("/query/apps", "/query/media-player", "/query/icon/", "/query/tv-", "/query/audio-device")
KEY_ROUTE = re.compile(r"^/(keypress|keydown|keyup)/(.*)$")
# Roku's button names; devices match them case-insensitively.
BUTTONS = ("Home", "Rev", "Fwd", "Play", "Select", "Left", "Right", "Down", "Up", "Back", "InstantReplay", "Info",
           "Backspace", "Search", "Enter", "FindRemote", "VolumeDown", "VolumeMute", "VolumeUp", "PowerOff", "PowerOn",
           "Power", "ChannelUp", "ChannelDown", "InputTuner", "InputHDMI1", "InputHDMI2", "InputHDMI3", "InputHDMI4",
           "InputAV1", "Sleep")
_BUTTON = {b.lower(): b for b in BUTTONS}
HTTP_ACTIONS = {"keypress": "press", "keydown": "down", "keyup": "up"}
WS_ACTIONS = {"key-press": "press", "key-down": "down", "key-up": "up"}
SESSION_PATH = "/ecp-session"
SESSION_KEY = "F3A278B8-1C6F-44A9-9D89-F1979CA4C6F1"  # the fixed key of reference roku-ecp2.md §2
# Documents served by GET /query/<name>; the session's query-<name> serves these and textedit-state.
HTTP_DOCUMENTS = ("device-info", "apps", "active-app", "media-player", "tv-active-channel", "tv-channels",
                  "audio-device")
WS_DOCUMENTS = (*HTTP_DOCUMENTS, "textedit-state")
AUDIO_DEVICE = "ecp2/tcl-roku-tv-32s357-15-3-4/query-audio-device-response.json"  # base64 in content-data
TEXTEDIT_STATE = "ecp2/tcl-roku-tv-32s357-enabled/ws-query-textedit-state-response.json"
XML_UTF8 = 'text/xml; charset="utf-8"'  # as the TCL set writes it, quotes included
WS_STATUS = {"200": "OK", "202": "Accepted", "400": "Bad Request", "401": "Unauthorized", "404": "Not Found"}


def key_name(sent: str) -> str | None:
    """The key a device understands ``sent`` as (a button name in any case, or ``Lit_`` and exactly one
    character), spelled canonically; None when it answers 400."""
    if sent[:4].lower() == "lit_":
        return "Lit_" + sent[4:] if len(sent) == 5 else None
    return _BUTTON.get(sent.lower())


def _http_key(segment: str) -> str | None:
    """``key_name`` of an HTTP path segment, which is percent-decoded first (UTF-8)."""
    try:
        return key_name(unquote_to_bytes(segment).decode("utf-8"))
    except UnicodeDecodeError:
        return None


def _recorded_content(rel: str) -> bytes:
    """The document a recorded ecp-2 reply carries (its base64 ``content-data``)."""
    return base64.b64decode(json.loads(fx(rel))["content-data"])


# A tiny valid PNG (1x1) for icons.
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@dataclass
class Request:
    method: str
    raw_path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)


class FakeRoku:
    def __init__(self, kind: str = "tv", *, host: str = "127.0.0.1", port: int = 0, device_info: bytes | None = None,
                 apps: bytes | None = None, serial: str | None = None, netns: str | None = None) -> None:
        self.kind = KINDS[kind]
        self.netns = netns  # serve from inside this network namespace (tests/shapedlink.py)
        self.host = host
        self.device_info_xml = device_info if device_info is not None else fx(self.kind.device_info)
        if serial is not None:  # several distinct devices of one recorded kind
            self.device_info_xml = re.sub(rb"<serial-number>[^<]*</serial-number>",
                                          f"<serial-number>{serial}</serial-number>".encode(), self.device_info_xml)
        self.apps_xml = apps if apps is not None else fx(self.kind.apps)
        self.mode = "normal"
        self.requests: list[Request] = []
        self.active: tuple[str | None, str] = (None, "Roku")  # (id, name); None id = home
        self.media_state = "close"
        self.position_ms = 0
        pm = re.search(rb"<power-mode>([^<]+)</power-mode>", self.device_info_xml)
        self.power_mode = pm.group(1).decode() if pm else "PowerOn"
        self.wol_packets: list[bytes] = []
        self.framing: str | None = None
        self.segment = 0
        self.cut_at: int | None = None
        self.delay_s = 0.0  # wait this long before answering any ECP request (a slow device)
        self.icon = (PNG_1X1, "image/png")  # (body, content type) of every app icon
        self.screenshot = (JPEG_STUB, "image/jpeg")
        self.screenshot_page = "devinstaller/screenshot_ok_jpg.html"  # the installer's page naming the image
        self.port = port
        self.wol_port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._hang = threading.Event()
        self._wol_transport: asyncio.DatagramTransport | None = None
        self._lock = threading.RLock()  # guards what the test thread reads; wait_until() waits on it
        self._cond = threading.Condition(self._lock)
        # developer mode: installer (digest auth) and log console, on ports of their own
        self.password = "rokudev-secret"
        self.installer_port = 0
        self.console_port = 0
        self.install_reply: str | None = None  # force a recorded reply page (fixture path)
        self.page_padding = b""  # appended to every installer page (a page of realistic size)
        self.uploads: list[dict[str, Any]] = []  # {"size", "mysubmit"}
        self.upload_fields: list[dict[str, str]] = []  # every form field of each upload but the archive
        self.unauthenticated = 0  # requests answered with the 401 challenge
        self.dev_md5: str | None = None
        self.console_script = b""  # replayed to each console client on connect
        self.console_chunk = 7  # bytes per write: lines arrive split across reads
        self.console_clients: list[asyncio.StreamWriter] = []
        self._nonces: set[str] = set()
        self._dev_runners: list[Any] = []
        # search, live TV, media
        self.search_browse = "ignore"  # OS 12+ ignores search/browse; "launch": the provider app comes to the front
        self.tuned: str | None = None  # the antenna channel launched last (tvinput.dtv?ch=…)
        self.keyed = True  # False: the developer registry answers "Device not keyed"
        self.registry_query = True  # False: firmware before OS 12, which answers query/registry with 404
        # network access (OS 14.1+) and the ecp-2 session
        self.access = "enabled"  # one of ACCESS_MODES
        self.session_enabled = True  # False: no /ecp-session (a plain 404), like firmware without it
        self.session_key = SESSION_KEY  # what the challenge must be answered with
        self.session_refusal = "status"  # a wrong answer: "status" (401 reply, close), "close" or "silent"
        self.session_hang = False  # True: authenticate, then read requests and never answer
        self.drop_every: int | None = None  # close a session after answering this many requests on it
        self.ws_inject: list[str | bytes] = []  # frames sent (and taken off) just before the next reply
        self.volume = 9  # the recorded audio-device's global volume
        self.muted = False
        self.launch_params: dict[str, Any] | None = None  # the deep-link parameters of the last launch
        self.ws_frames: list[dict[str, Any]] = []  # every frame received; {"raw": text} when not a JSON object
        self.wire_log: list[tuple[str, str]] = []  # ("http", "POST /keypress/Home"), ("ws", "key-press Home")
        self.sessions_opened = 0
        self.sessions_open = 0
        self._key_log: list[tuple[str, str, str]] = []  # (wire, action, key) answered 2xx
        self._held: set[str] = set()  # keys down and not yet up (both wires)
        self._sessions: dict[web.WebSocketResponse, asyncio.Transport | None] = {}  # only the loop touches it
        self._t0 = time.monotonic()

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> FakeRoku:
        ready = threading.Event()
        self._t0 = time.monotonic()

        def run() -> None:
            if self.netns:
                from tests.shapedlink import enter_netns

                enter_netns(self.netns)
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._start())
            self._loop.run_until_complete(self._start_dev())
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._stop())
            pending = asyncio.all_tasks(self._loop)
            for t in pending:
                t.cancel()
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.close()

        self._thread = threading.Thread(target=run, daemon=True, name=f"fake-roku-{self.kind.name}")
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake Roku did not start")
        return self

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("GET", SESSION_PATH, self._session)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port or 0, reuse_address=True)
        await site.start()
        sock = site._server.sockets[0]  # type: ignore[union-attr]
        self.port = sock.getsockname()[1]
        if self._wol_transport is not None:  # restart() after refuse(): keep the WOL socket
            return
        loop = asyncio.get_running_loop()
        self._wol_transport, _ = await loop.create_datagram_endpoint(
            lambda: _WolProtocol(self), local_addr=("127.0.0.1", 0))
        self.wol_port = self._wol_transport.get_extra_info("sockname")[1]

    async def _start_dev(self) -> None:
        app = web.Application(client_max_size=1 << 30)
        app.router.add_route("*", "/{tail:.*}", self._installer)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, self.host, 0)
        await site.start()
        self.installer_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        console = await asyncio.start_server(self._console_client, self.host, 0)
        self.console_port = console.sockets[0].getsockname()[1]
        self._dev_runners = [runner, console]

    async def _stop(self) -> None:
        self._abort_sessions()
        for r in self._dev_runners:
            if isinstance(r, web.AppRunner):
                await r.cleanup()
            else:
                r.close()
        for w in self.console_clients:
            w.close()
        if self._wol_transport:
            self._wol_transport.close()
        if self._runner:
            await self._runner.cleanup()

    def stop(self) -> None:
        """Power it off (again: nothing more happens)."""
        self._hang.set()
        if self._loop and self._thread and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def refuse(self) -> None:
        """Stop listening (connections are refused) but keep the object for restart()."""
        assert self._loop

        async def cleanup() -> None:
            self._abort_sessions()
            await self._runner.cleanup()  # type: ignore[union-attr]

        asyncio.run_coroutine_threadsafe(cleanup(), self._loop).result(10)

    def restart(self) -> None:
        assert self._loop
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def macs(self) -> list[str]:
        return [m.decode().lower() for m in re.findall(rb"<(?:wifi|ethernet)-mac>([^<]+)</", self.device_info_xml)]

    @property
    def mac(self) -> str:
        return self.macs[0] if self.macs else ""

    @property
    def serial(self) -> str:
        m = re.search(rb"<serial-number>([^<]+)</serial-number>", self.device_info_xml)
        return m.group(1).decode() if m else ""

    def paths(self, method: str = "POST") -> list[str]:
        with self._lock:
            return [r.raw_path for r in self.requests if r.method == method]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self.wire_log.clear()
            self.ws_frames.clear()
            self._key_log.clear()

    def key_events(self) -> list[tuple[str, str, str]]:
        """Every key event the fake answered with 2xx, in order over both wires: ``(wire, action, key)``
        with wire ``http``/``ws``, action ``press``/``down``/``up`` and key the button name or ``Lit_``
        with its character decoded (HTTP ``Lit_%2F`` and ecp-2 ``Lit_/`` both give ``Lit_/``)."""
        with self._lock:
            return list(self._key_log)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Block until ``predicate()`` is true. It is called under the lock, again after each request,
        frame, key event or session opened or closed is recorded."""
        with self._cond:
            if not self._cond.wait_for(predicate, timeout):
                raise TimeoutError(f"fake Roku: still not so after {timeout} s")

    async def wait_until_async(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """``wait_until`` for async tests: waits in a worker thread, so the caller's loop runs on."""
        await asyncio.to_thread(self.wait_until, predicate, timeout)

    def drop_sessions(self) -> None:
        """Cut every open ecp-2 session without a close frame (a set that sleeps, a network that roams)."""
        assert self._loop
        self._loop.call_soon_threadsafe(self._abort_sessions)

    def close_sessions(self) -> None:
        """Close every open ecp-2 session with a close frame (what was sent before it arrives first)."""
        assert self._loop
        asyncio.run_coroutine_threadsafe(self._close_sessions(), self._loop).result(10)

    def _abort_sessions(self) -> None:
        for transport in list(self._sessions.values()):
            if transport is not None:
                transport.abort()

    async def _close_sessions(self) -> None:
        for ws in list(self._sessions):
            await ws.close()

    def _note(self, *, http: Request | None = None, wire: tuple[str, str] | None = None,
              frame: dict[str, Any] | None = None, key: tuple[str, str, str] | None = None) -> None:
        """Record what reached the fake, for the test thread, and wake wait_until()."""
        with self._cond:
            if http is not None:
                self.requests.append(http)
            if frame is not None:
                self.ws_frames.append(frame)
            if wire is not None:
                self.wire_log.append(wire)
            if key is not None:
                self._key_log.append(key)
            self._cond.notify_all()

    # -- HTTP ---------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self._note(http=Request(request.method, request.raw_path, dict(request.headers), body),
                   wire=("http", f"{request.method} {request.raw_path}"))
        if self.mode == "asleep":
            assert request.transport is not None
            request.transport.abort()
            raise web.HTTPInternalServerError()  # never reaches the client: the socket is gone
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.mode == "hang":
            await asyncio.get_running_loop().run_in_executor(None, self._hang.wait, 30)
            return web.Response(status=500)
        path = request.raw_path
        if self.mode == "limited" and path.startswith(LIMITED_BLOCKED):
            return web.Response(status=403, body=fx("ecp-errors/limited-mode_403_body.txt"),
                                content_type="text/plain", charset="utf-8")
        refused = self._access_refusal(request.method, path)
        if refused is not None:
            return refused
        if self.mode == "garbage":
            return web.Response(body=b"\x00\xffnot xml at all <<<", content_type="text/xml")
        if request.method == "GET":
            resp = self._query(path)
            if self.framing is None and self.cut_at is None and not self.segment:
                return resp
            await self._write_raw(request, resp)
            raise web.HTTPInternalServerError()  # never reaches the client: the socket is closed
        if request.method == "POST":
            return self._command(path)
        return web.Response(status=405)

    async def _write_raw(self, request: web.Request, resp: web.Response) -> None:
        """Write ``resp`` by hand with the configured framing, in segments, then close."""
        transport = request.transport
        assert transport is not None
        body = bytes(resp.body or b"")  # type: ignore[arg-type]
        framing = self.framing or "length"
        head = f"HTTP/1.1 {resp.status} {resp.reason}\r\nContent-Type: {resp.headers.get('Content-Type', '')}\r\n"
        if framing == "length":
            head += f"Content-Length: {len(body)}\r\n"
        elif framing == "chunked":
            head += "Transfer-Encoding: chunked\r\n"
        payload = body if self.cut_at is None else body[: self.cut_at]
        step = self.segment or len(payload) or 1
        pieces = [payload[i : i + step] for i in range(0, len(payload), step)]
        if framing == "chunked":
            pieces = [b"%x\r\n%s\r\n" % (len(p), p) for p in pieces]
            if self.cut_at is None:
                pieces.append(b"0\r\n\r\n")
        transport.write((head + "Connection: close\r\n\r\n").encode())
        for piece in pieces:
            await asyncio.sleep(0.002 if self.segment else 0)
            transport.write(piece)
        transport.close()

    def _xml(self, body: bytes) -> web.Response:
        return web.Response(body=body, content_type="text/xml", charset="utf-8")

    def _access_refusal(self, method: str, path: str) -> web.Response | None:
        """The refusal ``access`` gives this request over plain HTTP, None when it is served."""
        if self.access == "disabled" and (method == "POST" or path.startswith("/query/")):
            return web.Response(status=401)  # captured: empty body, no content type
        if self.access != "limited":
            return None
        key = KEY_ROUTE.match(path) if method == "POST" else None
        if key is not None:  # captured: the key name is judged before the mode
            return web.Response(status=400 if _http_key(key.group(2)) is None else 403)
        # Launch, search/browse, input and exit-app in Limited mode were not captured: refused here with
        # the text of the refused queries.
        if method == "POST" or (method == "GET" and path.startswith(ACCESS_LIMITED_QUERIES)):
            return web.Response(status=403, body=fx(LIMITED_REFUSAL),
                                headers={"Content-Type": 'text/plain; charset="utf-8"'})
        return None

    def _document(self, name: str) -> bytes | None:
        """The document ``query/<name>`` gives in the current state (the same on both wires); None: 404."""
        if name == "device-info":
            info = re.sub(rb"<power-mode>[^<]*</power-mode>", f"<power-mode>{self.power_mode}</power-mode>".encode(),
                          self.device_info_xml)
            return re.sub(rb"<ecp-setting-mode>[^<]*</ecp-setting-mode>",
                          f"<ecp-setting-mode>{self.access}</ecp-setting-mode>".encode(), info)
        if name == "apps":
            return self.apps_xml
        if name == "active-app":
            app_id, app_name = self.active
            if app_id is None:
                return fx("active-app/home_legacy-no-id.xml")
            typ = "tvin" if app_id.startswith("tvinput.") else "appl"
            return (f'<?xml version="1.0" encoding="UTF-8" ?>\n<active-app>\n    <app id="{app_id}" '
                    f'type="{typ}" version="1.0.0">{_esc(app_name)}</app>\n</active-app>\n'.encode())
        if name == "media-player":
            if self.media_state == "close":
                return fx("media-player/closed.xml")
            return (f'<?xml version="1.0" encoding="UTF-8" ?>\n<player error="false" state="{self.media_state}">\n'
                    f'  <plugin bandwidth="10000000 bps" id="{self.active[0]}" name="{_esc(self.active[1])}"/>\n'
                    f'  <position>{self.position_ms} ms</position>\n  <duration>6496762 ms</duration>\n'
                    f'  <is_live>false</is_live>\n</player>\n'.encode())
        if name == "tv-active-channel" and self.kind.is_tv:
            body = fx("tv/tv-active-channel.xml")
            if self.tuned is not None:  # the recorded reply, for the channel tuned last
                channel = self._channel_name(self.tuned) or "Unknown"
                body = re.sub(rb"<number>[^<]*</number>", f"<number>{self.tuned}</number>".encode(), body, count=1)
                body = re.sub(rb"<name>[^<]*</name>", f"<name>{_esc(channel)}</name>".encode(), body, count=1)
            return body
        if name == "tv-channels" and self.kind.is_tv:
            return fx("tv/tv-channels.xml")
        if name == "audio-device":  # the recorded document with the fake's volume and mute
            doc = _recorded_content(AUDIO_DEVICE)
            muted, volume = (b"true" if self.muted else b"false"), b"%d" % self.volume
            for block in (rb"<global>", rb'<destination name="speakers">'):
                doc = re.sub(b"(" + block + rb"\s*<muted>)[^<]*(</muted>\s*<volume>)[^<]*(</volume>)",
                             lambda m: m.group(1) + muted + m.group(2) + volume + m.group(3), doc, count=1)
            return doc
        if name == "textedit-state":
            return _recorded_content(TEXTEDIT_STATE)
        return None

    def _description(self) -> bytes:
        """The UPnP device description (GET /), with the serial number and UDN of device-info."""
        rel = DESCRIPTIONS.get(self.kind.name, DESCRIPTION_TV if self.kind.is_tv else DESCRIPTION_BOX)
        body = re.sub(rb"<serialNumber>[^<]*</serialNumber>",
                      lambda _: f"<serialNumber>{_esc(self.serial)}</serialNumber>".encode(), fx(rel))
        udn = re.search(rb"<udn>([^<]+)</udn>", self.device_info_xml)
        if udn is not None:
            body = re.sub(rb"<UDN>[^<]*</UDN>", lambda _: b"<UDN>uuid:" + udn.group(1) + b"</UDN>", body)
        return body

    def _query(self, path: str) -> web.Response:
        if path == "/":
            return web.Response(body=self._description(), headers={"Content-Type": XML_UTF8})
        name = path.removeprefix("/query/")
        if name != path and name in HTTP_DOCUMENTS:
            doc = self._document(name)
            if doc is not None:
                return self._xml(doc)
        if path == "/query/registry/dev" and self.registry_query:
            if not self.kind.dev or b'id="dev"' not in self.apps_xml:
                return self._xml(fx("ecp-devmode/registry_failed_not-in-dev-mode.xml"))
            if not self.keyed:
                return self._xml(fx("ecp-devmode/registry_failed_device-not-keyed.xml"))
            return self._xml(fx("ecp-devmode/registry_dev_two-sections.xml"))
        if path.startswith("/query/icon/"):
            body, ctype = self.icon
            return web.Response(body=body, headers={"Content-Type": ctype, "Cache-Control": "no-cache"})
        return web.Response(status=404)

    @staticmethod
    def _channel_name(number: str) -> str | None:
        m = re.search(rb"<number>" + re.escape(number.encode()) + rb"</number>\s*<name>([^<]*)</name>",
                      fx("tv/tv-channels.xml"))
        return m.group(1).decode() if m else None

    def _app_name(self, app_id: str) -> str | None:
        m = re.search(rb'<app id="' + re.escape(app_id.encode()) + rb'"[^>]*>([^<]*)</app>', self.apps_xml)
        return m.group(1).decode().replace("&amp;", "&") if m else None

    def _command(self, path: str) -> web.Response:
        m = re.match(r"^/(keypress|keydown|keyup)/(.+)$", path)
        if m:
            key = _http_key(m.group(2)) or unquote_to_bytes(m.group(2)).decode("utf-8")
            self._key("http", HTTP_ACTIONS[m.group(1)], key)
            return web.Response(status=200)  # this fake's HTTP answers every key name with 200
        m = re.match(r"^/search/browse\?(.*)$", path)
        if m:
            query = parse_qs(m.group(1))
            provider = (query.get("provider-id") or [None])[0]
            if self.search_browse == "launch" and provider and self._app_name(provider):
                self.active = (provider, self._app_name(provider) or "")
            return web.Response(status=200)
        m = re.match(r"^/input/15985\?(.*)$", path)
        if m:  # Play on Roku: its player comes to the front and plays
            self.active = ("15985", "Play on Roku")
            self.media_state = "play"
            self.position_ms = 0
            return web.Response(status=200)
        m = re.match(r"^/launch/([^?]+)(?:\?(.*))?", path)
        if m:
            params: dict[str, Any] = {}
            for name, value in parse_qsl(m.group(2) or ""):
                params.setdefault(name, value)
            return web.Response(status=self._launch(m.group(1), params))
        m = re.match(r"^/exit-app/(.+)$", path)
        if m:
            if not self.kind.dev or self.active[0] != m.group(1):
                return web.Response(status=404, body=fx("ecp-devmode/exit-app_failed_app-not-found.xml"))
            self.active = (None, "Roku")
            self.media_state = "close"
            return self._xml(fx("ecp-devmode/exit-app_ok.xml"))
        return web.Response(status=404)

    def _press(self, key: str) -> None:
        if key == "Home":
            self.active = (None, "Roku")
            self.media_state = "close"
        elif key == "Play" and self.media_state in ("play", "pause"):
            self.media_state = "pause" if self.media_state == "play" else "play"
        elif key == "PowerOff":
            self.power_mode = "Ready"
        elif key == "PowerOn":
            self.power_mode = "PowerOn"
        elif key == "Fwd":
            self.position_ms += 10_000
        elif key == "VolumeUp":
            self.volume = min(100, self.volume + 1)
        elif key == "VolumeDown":
            self.volume = max(0, self.volume - 1)
        elif key == "VolumeMute":
            self.muted = not self.muted

    def _key(self, wire: str, action: str, key: str) -> int:
        """A key event that reaches the TV (``key`` canonical where known): its effect, and its status."""
        status = 200
        if action == "press":
            self._press(key)
        elif action == "down":
            self._held.add(key)
        elif key in self._held:
            self._held.discard(key)
        elif wire == "ws":
            status = 202  # captured on ecp-2: a key-up for a key not held is "Accepted"
        self._note(key=(wire, action, key))
        return status

    def _launch(self, app_id: str, params: dict[str, Any]) -> int:
        """Launch ``app_id`` with deep-link ``params`` (both wires): 200, 202 when already in front, 404."""
        name = self._app_name(app_id)
        if name is None:
            return 404
        self.launch_params = params
        if app_id == "tvinput.dtv" and params.get("ch"):
            self.tuned = str(params["ch"])
        already = self.active[0] == app_id
        self.active = (app_id, name)
        self.media_state = "close" if app_id.startswith("tvinput.") else "play"
        self.position_ms = 0
        return 202 if already else 200

    # -- ecp-2 session (WebSocket on the ECP port) --------------------------------------------------
    async def _session(self, request: web.Request) -> web.StreamResponse:
        if not self.session_enabled:
            return await self._handle(request)  # the plain 404 of a path the firmware does not know
        if self.mode == "asleep":
            assert request.transport is not None
            request.transport.abort()
            raise web.HTTPInternalServerError()  # never reaches the client: the socket is gone
        ws = web.WebSocketResponse(protocols=("ecp-2",), timeout=2.0)
        await ws.prepare(request)
        self._sessions[ws] = request.transport
        with self._cond:
            self.sessions_opened += 1
            self.sessions_open += 1
            self._cond.notify_all()
        try:
            with contextlib.suppress(ConnectionError):  # the client went away mid-reply
                await self._converse(ws)
        finally:
            del self._sessions[ws]
            with self._cond:
                self.sessions_open -= 1
                self._cond.notify_all()
        return ws

    async def _converse(self, ws: web.WebSocketResponse) -> None:
        challenge = base64.b64encode(os.urandom(16)).decode()
        await self._send(ws, {"notify": "authenticate", "param-challenge": challenge,
                              "param-methods": ["client-id", "jwt"], "timestamp": f"{time.monotonic() - self._t0:.3f}"})
        authenticated = silenced = False
        answered = 0
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                text = msg.data
            elif msg.type is WSMsgType.BINARY:
                text = msg.data.decode("utf-8", "replace")
            else:  # an error: the connection is gone
                return
            frame = _json_object(text)
            req = frame if frame is not None and _is_request(frame) else None
            self._note(frame={"raw": text} if frame is None else frame,
                       wire=None if req is None else ("ws", _describe(req)))
            if silenced:
                continue
            if req is None:  # reference §3: a frame that is not a request ends the session, unanswered
                await ws.close()
                return
            name, rid = req["request"], req["request-id"]
            if name == "authenticate":
                if self._answer_ok(challenge, req.get("param-response")):
                    authenticated = True
                    await self._reply(ws, name, rid, "200")
                    continue
                if self.session_refusal == "silent":
                    silenced = True
                    continue
                if self.session_refusal == "status":
                    await self._reply(ws, name, rid, "401")
                await ws.close()
                return
            if not authenticated:
                await ws.close()
                return
            if self.session_hang:
                continue
            status, content = self._serve(name, req)
            await self._reply(ws, name, rid, status, content)
            answered += 1
            if self.drop_every is not None and answered >= self.drop_every:
                await ws.close()
                return

    def _answer_ok(self, challenge: str, response: object) -> bool:
        want = base64.b64encode(hashlib.sha1(challenge.encode() + self.session_key.encode()).digest())
        return isinstance(response, str) and hmac.compare_digest(want, response.encode())

    def _serve(self, name: str, req: dict[str, Any]) -> tuple[str, dict[str, str]]:
        """Carry out one authenticated request: its status and, for a query, its content fields."""
        if name in WS_ACTIONS:
            sent = req.get("param-key")
            key = key_name(sent) if isinstance(sent, str) else None  # nothing is percent-decoded here
            return ("400", {}) if key is None else (str(self._key("ws", WS_ACTIONS[name], key)), {})
        if name == "launch":
            app_id, raw = req.get("param-channel-id"), req.get("param-params")
            params = {} if raw is None else _json_object(raw) if isinstance(raw, str) else None
            if not isinstance(app_id, str) or not app_id or params is None:
                return "400", {}
            return str(self._launch(app_id, params)), {}
        doc_name = name.removeprefix("query-")
        doc = self._document(doc_name) if doc_name != name and doc_name in WS_DOCUMENTS else None
        if doc is None:
            return "404", {}
        ctype = 'application/json; charset="utf-8"' if doc_name == "textedit-state" else XML_UTF8
        return "200", {"content-data": base64.b64encode(doc).decode(), "content-type": ctype}

    async def _reply(self, ws: web.WebSocketResponse, name: str, rid: str, status: str,
                     content: dict[str, str] | None = None) -> None:
        with self._lock:
            inject = list(self.ws_inject)
            self.ws_inject.clear()
        for frame in inject:
            if isinstance(frame, bytes):
                await ws.send_bytes(frame)
            else:
                await ws.send_str(frame)
        await self._send(ws, {"response": name, "response-id": rid, "status": status,
                              "status-msg": WS_STATUS[status], **(content or {})})

    @staticmethod
    async def _send(ws: web.WebSocketResponse, frame: dict[str, Any]) -> None:
        await ws.send_str(json.dumps(frame, sort_keys=True, separators=(",", ":")))

    # -- developer installer (port 80 on a real Roku) ----------------------------------------------
    def _check_digest(self, request: web.Request) -> bool:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Digest "):
            return False
        f = dict(re.findall(r'(\w+)="?([^",]*)"?', auth[7:]))
        if f.get("username") != "rokudev" or f.get("nonce") not in self._nonces or f.get("uri") != request.raw_path:
            return False
        ha1 = hashlib.md5(f"rokudev:rokudev:{self.password}".encode()).hexdigest()
        ha2 = hashlib.md5(f"{request.method}:{f['uri']}".encode()).hexdigest()
        want = hashlib.md5(f"{ha1}:{f['nonce']}:{f.get('nc')}:{f.get('cnonce')}:auth:{ha2}".encode()).hexdigest()
        return hmac.compare_digest(want, f.get("response", ""))

    async def _installer(self, request: web.Request) -> web.StreamResponse:
        if not self._check_digest(request):
            # Like the device: answer at once, without reading the body, and close the socket.
            self.unauthenticated += 1
            nonce = str(int(time.time() * 1000) + len(self._nonces))
            self._nonces.add(nonce)
            resp = web.Response(status=401, headers={
                "WWW-Authenticate": f'Digest qop="auth", realm="rokudev", nonce="{nonce}"'})
            resp.force_close()
            return resp
        path = request.path
        if request.method == "GET" and path == "/plugin_install":
            if request.query.get("dcl_enabled") == "1":
                return self._page(self._packages_page())
            return web.Response(text="<html>Development Application Installer</html>", content_type="text/html")
        if request.method == "POST" and path in ("/plugin_install", "/plugin_inspect"):
            fields: dict[str, str] = {}
            archive = b""
            reader = await request.multipart()
            async for part in reader:
                assert isinstance(part, BodyPartReader)
                if part.name == "archive":
                    archive = bytes(await part.read())
                else:
                    fields[part.name or ""] = await part.text()
            if path == "/plugin_inspect":
                return self._page(fx(self.screenshot_page))
            self.uploads.append({"size": len(archive), "mysubmit": fields.get("mysubmit")})
            self.upload_fields.append(fields)
            if fields.get("mysubmit") == "Delete":
                self.dev_md5 = None
                self.apps_xml = re.sub(rb'<app id="dev"[^>]*>[^<]*</app>\n?', b"", self.apps_xml)
                if self.active[0] == "dev":
                    self.active = (None, "Roku")
                return self._page(self._packages_page())
            if self.install_reply:
                return web.Response(body=fx(self.install_reply), content_type="text/html")
            md5 = hashlib.md5(archive).hexdigest()
            if md5 == self.dev_md5:
                return web.Response(body=fx("devinstaller/replace_identical-not-replacing_body.txt"),
                                    content_type="text/html")
            try:
                with zipfile.ZipFile(io.BytesIO(archive)) as zf:
                    ok = "manifest" in zf.namelist()
            except zipfile.BadZipFile:
                ok = False
            if not ok or len(archive) < 512:
                return web.Response(body=fx("devinstaller/install_failure_unzip-corrupt-or-undersized_fw15_body.txt"),
                                    content_type="text/html")
            self.dev_md5 = md5
            if b'id="dev"' not in self.apps_xml:
                self.apps_xml = self.apps_xml.replace(
                    b"</apps>", b'<app id="dev" type="appl" version="1.0.1">sampleApp</app>\n</apps>')
            if fields.get("dev_autolaunch") != "0":
                self.active = ("dev", "sampleApp")  # a fresh install launches the channel
            return self._page(fx("devinstaller/replace_success_json-messages.html"))
        if request.method == "GET" and path in ("/pkgs/dev.jpg", "/pkgs/dev.png"):
            if self.active[0] != "dev":
                return web.Response(status=404)
            return web.Response(body=self.screenshot[0], content_type=self.screenshot[1])
        return web.Response(status=404)

    def _packages_page(self) -> bytes:
        """The recorded package-list page, listing the sideloaded channel while there is one."""
        page = fx("devinstaller/plugin-package_packages-list_json.html")
        if self.dev_md5 is None:
            return re.sub(rb'"packages":\[.*?\]\}', b'"packages":[]}', page)
        return re.sub(rb'"md5":"[0-9a-f]{32}"', f'"md5":"{self.dev_md5}"'.encode(), page)

    def _page(self, html: bytes) -> web.Response:
        return web.Response(body=html + self.page_padding, content_type="text/html")

    # -- console (port 8085 on a real Roku) --------------------------------------------------------
    async def _console_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.console_clients:
            writer.write(fx("devlog/console_second-client_in-use.txt").strip() + b"\r\n")
            await writer.drain()
            writer.close()
            return
        self.console_clients.append(writer)
        try:
            await self._console_write(writer, self.console_script)
            while not reader.at_eof():
                data = await reader.read(1024)
                if data:
                    self.console_received = getattr(self, "console_received", b"") + data
                else:
                    break
        finally:
            if writer in self.console_clients:
                self.console_clients.remove(writer)
            writer.close()

    async def _console_write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        for i in range(0, len(data), self.console_chunk):
            writer.write(data[i : i + self.console_chunk])
            await writer.drain()
            await asyncio.sleep(0)

    def console_push(self, text: str) -> None:
        """Send lines (LF in ``text`` become CRLF) to the connected console client."""
        data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode()
        assert self._loop
        for w in list(self.console_clients):
            asyncio.run_coroutine_threadsafe(self._console_write(w, data), self._loop).result(10)

    def console_drop(self) -> None:
        """Close the console connection, as a rebooting device does."""
        assert self._loop
        for w in list(self.console_clients):
            self._loop.call_soon_threadsafe(w.close)


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _is_request(frame: dict[str, Any]) -> bool:
    return isinstance(frame.get("request"), str) and isinstance(frame.get("request-id"), str)


def _describe(req: dict[str, Any]) -> str:
    """A request as ``wire_log`` shows it: its name, and the key or app id as sent."""
    name: str = req["request"]
    arg = req.get("param-key") if name in WS_ACTIONS else req.get("param-channel-id") if name == "launch" else None
    return name if arg is None else f"{name} {arg if isinstance(arg, str) else json.dumps(arg)}"


JPEG_STUB = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64 + b"\xff\xd9"


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;")


class _WolProtocol(asyncio.DatagramProtocol):
    def __init__(self, roku: FakeRoku) -> None:
        self.roku = roku

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.roku.wol_packets.append(data)
        macs = [bytes.fromhex(m.replace(":", "")) for m in self.roku.macs]
        if any(data == b"\xff" * 6 + mac * 16 for mac in macs) and self.roku.mode == "asleep":
            self.roku.mode = "normal"
            self.roku.power_mode = "Ready"


class FakeSsdp:
    """Answers ``ST: roku:ecp`` M-SEARCHes on a loopback UDP port, one reply per device.

    Only a search written the way Roku devices parse it (``ST: roku:ecp`` with the space) is
    answered, like the strict responders the reference describes.
    """

    def __init__(self, host: str = "127.0.0.1", *, delay: str = "none", seed: int | None = None) -> None:
        """``delay``: ``none`` answers at once; ``random`` waits a random 0..MX seconds before each
        answer, as the UPnP spec tells responders to; ``max`` always waits the whole MX."""
        self.host = host
        self.delay = delay
        self._rng = random.Random(seed)
        self.replies: list[tuple[str, bytes]] = []  # (source host, datagram)
        self.searches: list[bytes] = []
        self._socks: dict[str, socket.socket] = {}
        self._stop = threading.Event()
        self.sock = self._bind(host, 0)
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _bind(self, host: str, port: int) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((host, port))
        s.settimeout(0.1)
        self._socks[host] = s
        return s

    def add_device(self, roku: FakeRoku, *, location: str | None = None, extra: str = "") -> None:
        loc = location or f"http://{roku.host}:{roku.port}/"
        if roku.host not in self._socks:
            self._bind(roku.host, 0)
        datagram = (
            "HTTP/1.1 200 OK\r\nCache-Control: max-age=3600\r\nST: roku:ecp\r\n"
            f"USN: uuid:roku:ecp:{roku.serial}\r\nExt: \r\nServer: Roku/11.5.0 UPnP/1.0 Roku/11.5.0\r\n"
            f"LOCATION: {loc}\r\nWAKEUP: MAC={roku.mac};Timeout=10\r\n{extra}\r\n"
        ).encode()
        self.replies.append((roku.host, datagram))

    def add_raw(self, datagram: bytes, source: str | None = None) -> None:
        src = source or self.host
        if src not in self._socks:
            self._bind(src, 0)
        self.replies.append((src, datagram))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            self.searches.append(data)
            if not data.startswith(b"M-SEARCH") or b"\r\nST: roku:ecp\r\n" not in data:
                continue
            m = re.search(rb"\r\nMX: *(\d+)\r\n", data)
            mx = int(m.group(1)) if m else 1
            for src, datagram in list(self.replies):
                wait = {"none": 0.0, "max": float(mx), "random": self._rng.uniform(0, mx)}[self.delay]
                if wait:
                    t = threading.Timer(wait, self._send, (src, datagram, addr))
                    t.daemon = True
                    t.start()
                else:
                    self._send(src, datagram, addr)

    def _send(self, src: str, datagram: bytes, addr: Any) -> None:
        with contextlib.suppress(OSError):
            self._socks[src].sendto(datagram, addr)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for s in self._socks.values():
            s.close()
