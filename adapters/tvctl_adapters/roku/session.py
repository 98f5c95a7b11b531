"""The ``ecp-2`` session: Roku's authenticated WebSocket on the ECP port.

Roku's own mobile app controls a TV through this session, and it keeps full control where plain
ECP over HTTP is refused: in *Limited* mode (keys and most queries answer 403) and *Disabled*
mode (everything answers 401). The wire facts (reference ``roku-ecp2.md``):

* ``ws://HOST:PORT/ecp-session`` with the subprotocol ``ecp-2``; the device speaks first with a
  challenge, answered by request-id ``"1"`` with base64(SHA-1(challenge + a fixed key));
* then JSON requests ``{"request", "request-id", "param-…"}``, each answered by a frame that
  echoes ``response-id`` with a decimal ``status`` string and, for queries, the same document HTTP
  would give as base64 ``content-data``.

One ``EcpSession`` per device, opened on first need and kept. Every wait has a named bound:
``OPEN_TIMEOUT_S`` for connect + challenge + authenticate, the caller's timeout for a reply,
``CLOSE_TIMEOUT_S`` for closing. A command is written at most once: it is retried on a fresh
session only when the old one was known dead before the command was written; a command that was
written and then lost its session is reported, never resent (a key pressed twice is worse than an
error). Frames from the device are untrusted: anything that is not a reply to a request in
flight is dropped with a log line, and the reader never dies of one.

Foreign errors (aiohttp, timeouts, OSError) are mapped by ``httpio.device_error``, as in every
transport; what is the session's own (a refused handshake, a session lost mid-request) is worded here.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import itertools
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp
import msgspec
from tvctl_adapters.httpio import FOREIGN, OpenSession, device_error
from tvctl_adapters.roku.errors import EcpSessionRefused

from tvctl.errors import DeviceBadResponse, DeviceTimeout, DeviceUnreachable

_LOGGER = logging.getLogger(__name__)

SESSION_PATH = "/ecp-session"
SUBPROTOCOL = "ecp-2"
# The key Roku's mobile app answers challenges with (reference roku-ecp2.md §2).
AUTH_KEY = b"F3A278B8-1C6F-44A9-9D89-F1979CA4C6F1"
OPEN_TIMEOUT_S = 5.0  # connect, read the challenge, authenticate
CLOSE_TIMEOUT_S = 1.0  # wait for the device's close frame, then drop the socket
# Largest frame read: an app list of a TV with many channels passes 150 KB as XML, a third more
# in base64; anything far beyond is hostile and ends the session.
MAX_FRAME = 16 << 20
# Hostile or stray frames are logged at most this often per session.
STRAY_LOG_EVERY_S = 5.0


def answer(challenge: str) -> str:
    """The authenticate response to ``challenge``: base64(SHA-1(challenge bytes + AUTH_KEY))."""
    return base64.b64encode(hashlib.sha1(challenge.encode() + AUTH_KEY).digest()).decode()


class Reply(msgspec.Struct, frozen=True, kw_only=True):
    """One reply frame. ``status`` is a decimal string about the request ("200", "202", "400", …)."""

    response: str
    response_id: str = msgspec.field(name="response-id")
    status: str
    status_msg: str = msgspec.field(name="status-msg", default="")
    content_data: str | None = msgspec.field(name="content-data", default=None)
    content_type: str | None = msgspec.field(name="content-type", default=None)

    @property
    def ok(self) -> bool:
        return self.status.startswith("2")

    def body(self) -> bytes:
        """The document carried (base64 ``content-data``), b"" when none."""
        if not self.content_data:
            return b""
        try:
            return base64.b64decode(self.content_data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DeviceBadResponse(f"The ecp-2 reply to {self.response} carried content-data that is not "
                                    f"base64 ({exc}).") from exc


class _Challenge(msgspec.Struct, frozen=True):
    notify: str
    param_challenge: str = msgspec.field(name="param-challenge")


class _Lost(Exception):
    """The session ended while a request was in flight."""


@dataclass(eq=False)
class _Conn:
    ws: aiohttp.ClientWebSocketResponse
    http: aiohttp.ClientSession
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(2))  # "1" was authenticate
    pending: dict[str, asyncio.Future[Reply]] = field(default_factory=dict)
    dead: bool = False
    reader: asyncio.Task[None] | None = None
    last_stray_log: float = 0.0


class EcpSession:
    """One device's ``ecp-2`` session. ``host`` and ``label`` may be changed between requests (a
    device seen at a new address); the next opening uses them."""

    def __init__(self, host: str, port: int, label: str = "", *, open_session: OpenSession | None = None) -> None:
        self.host = host
        self.port = port
        self.label = label or host
        self.open_session = open_session or aiohttp.ClientSession
        self.opened = 0  # sessions opened so far (for logs and tests)
        self._conn: _Conn | None = None
        self._opening = asyncio.Lock()

    @property
    def is_open(self) -> bool:
        return self._conn is not None and not self._conn.dead

    # -- life cycle -----------------------------------------------------------------------------
    async def close(self) -> None:
        """Close the session (it is opened again on the next request)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            await self._shut(conn)

    async def _shut(self, conn: _Conn) -> None:
        conn.dead = True
        self._fail_pending(conn)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT_S + 0.5):
                await conn.ws.close()
        if conn.reader is not None and conn.reader is not asyncio.current_task():
            conn.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await conn.reader
        await conn.http.close()

    async def _connection(self, timeout_s: float) -> _Conn:
        conn = self._conn
        if conn is not None and not conn.dead:
            return conn
        async with self._opening:
            conn = self._conn
            if conn is not None and not conn.dead:
                return conn
            if conn is not None:  # dropped: tidy up before opening anew
                self._conn = None
                await self._shut(conn)
            conn = await self._open(timeout_s)
            self._conn = conn
            conn.reader = asyncio.get_running_loop().create_task(self._read(conn), name=f"ecp-2 {self.label}")
            return conn

    async def _open(self, timeout_s: float) -> _Conn:
        url = f"ws://{self.host}:{self.port}{SESSION_PATH}"
        http = self.open_session(skip_auto_headers=("User-Agent",))
        ws: aiohttp.ClientWebSocketResponse | None = None
        try:
            async with asyncio.timeout(timeout_s):
                ws = await http.ws_connect(url, protocols=(SUBPROTOCOL,), autoping=True, heartbeat=None,
                                           max_msg_size=MAX_FRAME,
                                           timeout=aiohttp.ClientWSTimeout(ws_close=CLOSE_TIMEOUT_S))
                challenge = await self._challenge(ws)
                frame = {"request": "authenticate", "request-id": "1", "param-response": answer(challenge),
                         "param-client-friendly-name": "tvctl", "param-has-microphone": "false"}
                await ws.send_str(msgspec.json.encode(frame).decode())
                await self._authenticated(ws)
        except aiohttp.WSServerHandshakeError as exc:  # an HTTP answer other than the upgrade: a refusal
            await _discard(ws, http)
            raise EcpSessionRefused(f"{self.label} refused the ecp-2 session (HTTP {exc.status} on "
                                    f"{SESSION_PATH}): its firmware may not offer it.") from exc
        except FOREIGN as exc:
            await _discard(ws, http)
            err = device_error(exc, label=self.label, what="the ecp-2 handshake", timeout_s=timeout_s,
                               host=self.host, port=self.port)
            if isinstance(err, DeviceTimeout):  # a silent session is most often one the firmware changed
                err = err.restated(hint=EcpSessionRefused.default_hint)
            raise err from exc
        except BaseException:
            await _discard(ws, http)
            raise
        self.opened += 1
        _LOGGER.info("%s: ecp-2 session opened (%d so far)", self.label, self.opened)
        return _Conn(ws=ws, http=http)

    async def _challenge(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        msg = await ws.receive()
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise EcpSessionRefused(f"{self.label} closed the ecp-2 session before sending its challenge.")
        try:
            notice = msgspec.json.decode(msg.data, type=_Challenge)
        except msgspec.DecodeError as exc:
            raise EcpSessionRefused(f"{self.label} opened the ecp-2 session with something other than a "
                                    f"challenge ({exc}).") from exc
        if notice.notify != "authenticate" or not notice.param_challenge:
            raise EcpSessionRefused(f"{self.label} opened the ecp-2 session with notify {notice.notify!r}, "
                                    "not a challenge.")
        return notice.param_challenge

    async def _authenticated(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        msg = await ws.receive()
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise EcpSessionRefused(f"{self.label} closed the ecp-2 session instead of accepting its "
                                    "authentication.")
        try:
            reply = msgspec.json.decode(msg.data, type=Reply)
        except msgspec.DecodeError as exc:
            raise EcpSessionRefused(f"{self.label} answered the ecp-2 authentication with an unreadable frame "
                                    f"({exc}).") from exc
        if reply.response != "authenticate" or reply.status != "200":
            says = f"{reply.status} {reply.status_msg}".strip()
            raise EcpSessionRefused(f"{self.label} refused the ecp-2 authentication (status {says}).")

    # -- requests -------------------------------------------------------------------------------
    async def request(self, name: str, params: Mapping[str, str] | None = None, *, timeout_s: float,
                      open_timeout_s: float = OPEN_TIMEOUT_S) -> Reply:
        """Send one request and wait for its reply (any status: the caller judges it)."""
        for attempt in (1, 2):
            conn = await self._connection(open_timeout_s)
            rid = str(next(conn.ids))
            frame = msgspec.json.encode({"request": name, "request-id": rid, **(params or {})}).decode()
            waiter: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
            conn.pending[rid] = waiter
            try:
                if conn.dead or conn.ws.closed:
                    raise ConnectionResetError("session closed")
                await conn.ws.send_str(frame)
            except (ConnectionError, aiohttp.ClientError, RuntimeError) as exc:
                # Not written: the session was gone before the frame left. Safe to send on a new one.
                conn.pending.pop(rid, None)
                conn.dead = True
                if attempt == 2:
                    raise DeviceUnreachable(f"The ecp-2 session to {self.label} dropped twice in a row; "
                                            f"{name} was not sent ({exc}).") from exc
                _LOGGER.info("%s: ecp-2 session was gone before %s was sent; opening a new one", self.label, name)
                continue
            try:
                async with asyncio.timeout(timeout_s):
                    return await waiter
            except TimeoutError as exc:
                raise device_error(exc, label=self.label, what=f"ecp-2 {name}", timeout_s=timeout_s) from exc
            except _Lost as exc:
                raise DeviceUnreachable(f"The ecp-2 session to {self.label} dropped after {name} was sent and "
                                        "before it was answered; it was not sent again.") from exc
            finally:
                conn.pending.pop(rid, None)
        raise AssertionError("unreachable")

    # -- the reader -----------------------------------------------------------------------------
    async def _read(self, conn: _Conn) -> None:
        try:
            while True:
                msg = await conn.ws.receive()
                if msg.type == aiohttp.WSMsgType.TEXT:
                    self._deliver(conn, msg.data)
                elif msg.type == aiohttp.WSMsgType.BINARY:
                    self._stray(conn, "a binary frame", msg.data[:60])
                elif msg.type == aiohttp.WSMsgType.ERROR:
                    _LOGGER.warning("%s: ecp-2 session ended on a bad frame: %s", self.label, msg.data)
                    break
                elif msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
                    _LOGGER.info("%s: the device closed the ecp-2 session", self.label)
                    break
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the reader must end cleanly whatever the socket did
            _LOGGER.warning("%s: ecp-2 session reader stopped: %s", self.label, exc)
        finally:
            conn.dead = True
            self._fail_pending(conn)

    def _deliver(self, conn: _Conn, text: str) -> None:
        try:
            doc = msgspec.json.decode(text)
        except msgspec.DecodeError:
            self._stray(conn, "a frame that is not JSON", text[:60])
            return
        if isinstance(doc, dict) and "notify" in doc and "response-id" not in doc:
            _LOGGER.debug("%s: ecp-2 notify %s", self.label, str(doc.get("notify"))[:40])
            return
        try:
            reply = msgspec.convert(doc, Reply)
        except msgspec.ValidationError as exc:
            self._stray(conn, f"a frame that is not a reply ({exc})", text[:60])
            return
        waiter = conn.pending.pop(reply.response_id, None)
        if waiter is None:
            self._stray(conn, f"a reply to unknown request-id {reply.response_id[:20]!r}", text[:60])
            return
        if not waiter.done():
            waiter.set_result(reply)

    def _stray(self, conn: _Conn, what: str, sample: object) -> None:
        now = time.monotonic()
        if now - conn.last_stray_log >= STRAY_LOG_EVERY_S:
            conn.last_stray_log = now
            _LOGGER.warning("%s: dropped %s from the ecp-2 session: %r", self.label, what, sample)

    @staticmethod
    def _fail_pending(conn: _Conn) -> None:
        for waiter in conn.pending.values():
            if not waiter.done():
                waiter.set_exception(_Lost())
        conn.pending.clear()


async def _discard(ws: aiohttp.ClientWebSocketResponse | None, http: aiohttp.ClientSession) -> None:
    """Drop a half-open session without waiting on the device."""
    if ws is not None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await ws.close()
    await http.close()
