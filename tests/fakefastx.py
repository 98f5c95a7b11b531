"""A fake FastX server (StarNet's remote desktop), written from its API document
(../shared/seeds/002) and the wire facts tvctl relies on (WIRE.md, where the document is silent).

Real HTTPS on 127.0.0.1 with a certificate made at test time (tests/fakekvm.py's ``HttpsFake``),
stateful, and recording every request. What it keeps: the running sessions (every member a session
object has on the wire), the bookmarks (suggestions, user bookmarks, history), the bearer tokens
alive now and the logins still going through their stages. Two kinds of server:

- ``auth="ssh"``: a newer server, where ``POST /v3/api/auth/ssh`` logs in with one call (the stage
  endpoints are there too);
- ``auth="stages"``: an older one, where that path is unknown (404) and a login goes through
  ``/v3/api/user/login`` and then one stage (``stage``: "password" or "keyboard-interactive").

Answers are ``{"result": …}`` on success and ``{"error": {"name", "message"}}`` on failure, with
401 AuthError, 400 BadRequest, 404 NotFound, 405 MethodNotAllowed (and 500 ScreenshotError when a
test asks screenshots to fail). Checks run in this order: the path (404), the method (405), the
token (401), the body (400), then the endpoint's own checks.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import secrets
import struct
import threading
import uuid
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from aiohttp import web

from tests.fakekvm import HttpsFake, Recording, Seen

__all__ = ["DEFAULT_SERVER_ID", "JPEG", "FakeFastx", "Seen", "make_jpeg", "make_png"]

DEFAULT_SERVER_ID = "5f0c8e2a-9d41-4b7e-a3c6-1e8f2d7b4a90"
AUTH_FAILED = "Authentication failed"
KI_PROMPT = "Password: "
FIRST_PORT = 40001  # the port the first connect object names; each later start takes the next one


# -- images ---------------------------------------------------------------------------------------
def _chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, and the CRC-32 of type and data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def make_png(rgb: tuple[int, int, int], width: int = 8, height: int = 6) -> bytes:
    """A truecolour PNG: the top half in ``rgb``, the bottom half in its half-bright shade."""
    dark = bytes(c // 2 for c in rgb)
    rows = b"".join(b"\x00" + (bytes(rgb) if y < height // 2 else dark) * width for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, RGB, deflate, no filter/interlace
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows)) + \
        _chunk(b"IEND", b"")


def _segment(marker: int, payload: bytes) -> bytes:
    """A JPEG marker segment: FF, the marker, a length that counts itself, the payload."""
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def make_jpeg() -> bytes:
    """The smallest sensible baseline JPEG: one 8x8 grey block (1x1 pixel, one component).

    Both Huffman tables hold a single one-bit code "0": in the DC table it stands for a difference
    of category 0 (no change from the mid grey the level shift gives), in the AC table for the
    end-of-block. So the only block is coded as the bits 0 0, filled to a byte with ones (0x3F).
    """
    jfif = _segment(0xE0, b"JFIF\x00" + bytes((1, 1, 0)) + struct.pack(">HH", 1, 1) + bytes((0, 0)))
    quant = _segment(0xDB, b"\x00" + bytes([1] * 64))  # table 0, 8-bit entries, all 1
    frame = _segment(0xC0, bytes((8,)) + struct.pack(">HH", 1, 1) + bytes((1, 1, 0x11, 0)))
    one_code = bytes([1] + [0] * 15)  # code counts per length 1..16: one code, one bit long
    dc = _segment(0xC4, b"\x00" + one_code + b"\x00")  # class 0 (DC), table 0: the value 0
    ac = _segment(0xC4, b"\x10" + one_code + b"\x00")  # class 1 (AC), table 0: 0x00 = end of block
    scan = _segment(0xDA, bytes((1, 1, 0x00, 0, 63, 0)))  # one component, tables 0/0, full spectrum
    return b"\xff\xd8" + jfif + quant + frame + dc + ac + scan + b"\x3f" + b"\xff\xd9"


JPEG = make_jpeg()


# -- helpers --------------------------------------------------------------------------------------
def _iso(moment: datetime) -> str:
    """A timestamp as the server writes it: UTC with milliseconds, ``2026-12-04T09:15:00.000Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _text(value: Any) -> str:
    """A member's value as a filter compares it: as a JavaScript server would turn it into text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class Refused(Exception):
    """An error answer: raised by a handler, turned into the JSON error envelope by ``_handle``."""

    def __init__(self, status: int, name: str, message: str) -> None:
        super().__init__(message)
        self.status, self.name, self.message = status, name, message


def _bad(message: str) -> Refused:
    return Refused(400, "BadRequest", message)


def _required_id(body: dict[str, Any]) -> str:
    value = body.get("id")
    if not isinstance(value, str) or not value:
        raise _bad("Missing or invalid parameter: id")
    return value


Access = Literal["open", "stage", "token"]  # no token needed; a login's stage token; a logged-in token
Handler = Callable[["FakeFastx", dict[str, Any], str | None], Any]


class FakeFastx(HttpsFake, Recording):
    JPEG = JPEG

    def __init__(self, folder: Path, *, username: str = "lab", password: str = "s3cret-pass",
                 auth: Literal["ssh", "stages"] = "ssh",
                 stage: Literal["password", "keyboard-interactive"] = "password",
                 hostname: str = "fastx-lab", server_id: str = DEFAULT_SERVER_ID, version: str = "3.3.56",
                 host: str = "127.0.0.1", netns: str | None = None) -> None:
        super().__init__(folder, "fastx", host=host, netns=netns)
        if auth not in ("ssh", "stages") or stage not in ("password", "keyboard-interactive"):
            raise ValueError(f"auth={auth!r} stage={stage!r}")
        self.username, self.password = username, password
        self.auth, self.stage = auth, stage
        self.hostname, self.server_id, self.version = hostname, server_id, version
        self.tokens: set[str] = set()  # bearer tokens good for every call
        self.pending: dict[str, tuple[str, str]] = {}  # token of a login not through yet -> (stage, username)
        self.logins = 0  # successful logins, either kind
        self.requests: list[Seen] = []
        self.screenshot_fails = False
        self.image_type: str | None = None  # set: the data URL's image type says this (e.g. "svg+xml")
        self.late_s = 0.0  # answer every API call this late (a slow server, a congested link)
        self.drop_next = 0  # close the connection on this many API calls without answering (nothing done)
        self.drop_on: str | None = None  # only calls to this path count for drop_next
        self.last_connect_password: str | None = None
        self.bookmarks: list[dict[str, Any]] = [
            {"id": "bm-signage", "command": "/opt/signage/player --fullscreen", "name": "Signage Player",
             "geometry": "1920x1080", "tags": ["signage"]},
        ]
        self.suggestions: list[dict[str, Any]] = [
            {"id": "bm-xterm", "command": "xterm", "name": "XTerm", "geometry": "rootless", "tags": ["terminal"]},
            {"id": "bm-gnome", "command": "gnome-session", "name": "GNOME Desktop", "geometry": "1600x900",
             "tags": ["desktop"]},
        ]
        self.history: list[dict[str, Any]] = []
        self.sessions: dict[str, dict[str, Any]] = {}
        self._next_port = FIRST_PORT
        self._lock = threading.Lock()
        seed = [  # id, name, login, geometry, clients, command, started, last connect, last disconnect
            ("3c9a41e2-7b05-4d1f-8e6a-b20d5c7f1a01", "Signage Lobby", "kiosk", "1920x1080", 1,
             "/opt/signage/player --fullscreen", "2026-12-01T06:30:00.000Z", "2026-12-01T06:30:05.000Z", None),
            ("3c9a41e2-7b05-4d1f-8e6a-b20d5c7f1a02", "Lab Desktop 1", "lab", "1280x800", 0,
             "gnome-session", "2026-12-04T09:15:00.000Z", "2026-12-04T09:15:02.000Z", "2026-12-04T11:40:12.000Z"),
            ("3c9a41e2-7b05-4d1f-8e6a-b20d5c7f1a03", "Lab Desktop 2", "ana", "1600x900", 2,
             "gnome-session", "2026-12-03T14:02:30.000Z", "2026-12-04T08:01:44.000Z", "2026-12-03T18:20:00.000Z"),
            ("3c9a41e2-7b05-4d1f-8e6a-b20d5c7f1a04", "Kiosk Map", "kiosk", "1024x768", 0,
             "firefox --kiosk https://maps.lab.example", "2026-11-28T22:45:10.000Z", None, None),
        ]
        for n, (sid, name, login, geometry, clients, command, started, last_in, last_out) in enumerate(seed):
            self.sessions[sid] = self._session(sid, name, login, geometry, clients, command, started,
                                               display=f":{101 + n}", last_connect=last_in,
                                               last_disconnect=last_out, pid=4100 + 10 * n)

    # -- for tests ------------------------------------------------------------------------------
    def restart(self) -> None:
        """The FastX web server process restarts: every token dies, logins half done too; the
        sessions (separate processes) keep running."""
        with self._lock:
            self.tokens.clear()
            self.pending.clear()

    def add_session(self, name: str, login: str, geometry: str = "1280x800", clients: int = 0) -> str:
        """A session started some other way (another user, another client); returns its id."""
        sid = str(uuid.uuid4())
        with self._lock:
            self.sessions[sid] = self._session(sid, name, login, geometry, clients, "gnome-session",
                                               _iso(datetime.now(UTC)), display=self._free_display())
        return sid

    def drop_session(self, session_id: str) -> None:
        """A session ends by itself (its program exited); KeyError when there is no such session."""
        with self._lock:
            del self.sessions[session_id]

    def png_for(self, session_id: str) -> bytes:
        """The PNG a screenshot of this session shows: its colour comes from the session id."""
        r, g, b = hashlib.sha256(session_id.encode()).digest()[:3]
        return make_png((r, g, b))

    # -- state ----------------------------------------------------------------------------------
    def _session(self, sid: str, name: str, login: str, geometry: str, clients: int, command: str, started: str,
                 *, display: str, last_connect: str | None = None, last_disconnect: str | None = None,
                 pid: int | None = None) -> dict[str, Any]:
        rootless = geometry == "rootless"
        pid = pid if pid is not None else 5000 + secrets.randbelow(20000)
        return {
            "id": sid, "appPid": pid + 1, "clients": clients, "command": command, "cpuPercentage": 100,
            "disconnectTimeout": 0, "display": display, "geometry": "1280x800" if rootless else geometry,
            "hostname": self.hostname, "lastConnect": last_connect, "lastDisconnect": last_disconnect,
            "login": login, "params": {"name": name}, "serverId": self.server_id, "serverPid": pid,
            "sharing": False, "started": started, "videoRam": 128000,
            "windowMode": "rootless" if rootless else "desktop",
        }

    def _free_display(self) -> str:
        """The first display :1NN no session holds (lock held)."""
        taken = {s.get("display") for s in self.sessions.values()}
        n = 101
        while f":{n}" in taken:
            n += 1
        return f":{n}"

    def _new_token(self) -> str:
        return secrets.token_hex(24)

    # -- the API --------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body: Any = None
        parsed = False  # an empty body is no JSON object either
        if raw:
            with contextlib.suppress(ValueError):  # not JSON: recorded as None, refused as 400
                body, parsed = json.loads(raw), True
        with self._lock:
            self.requests.append(Seen(request.method, request.path, dict(request.headers), body))
            drop = self.drop_next > 0 and self.drop_on in (None, request.path)
            self.drop_next -= 1 if drop else 0
        if drop and request.transport is not None:
            request.transport.abort()  # as a server that crashed, or a link that went away, mid-request
            raise web.HTTPException()
        if self.late_s:
            await asyncio.sleep(self.late_s)
        try:
            result = self._dispatch(request, body, parsed)
        except Refused as no:
            return web.json_response({"error": {"name": no.name, "message": no.message}}, status=no.status)
        return web.json_response(text=result)

    def _dispatch(self, request: web.Request, body: Any, parsed: bool) -> str:
        """Find the endpoint, check method, token and body, and run it; returns the JSON text."""
        if request.path == "/v3/api":
            if request.method != "GET":
                raise Refused(405, "MethodNotAllowed", f"{request.method} is not allowed on {request.path}")
            return json.dumps({"result": self._info()})
        route = ROUTES.get(request.path)
        if route is None or (request.path == "/v3/api/auth/ssh" and self.auth != "ssh"):
            raise Refused(404, "NotFound", f"No such endpoint: {request.path}")
        access, handler = route
        if request.method != "POST":
            raise Refused(405, "MethodNotAllowed", f"{request.method} is not allowed on {request.path}")
        with self._lock:  # one hold from the token check to the JSON text: a restart() can't land between
            token = self._check_token(request, access)
            if not parsed or not isinstance(body, dict):
                raise _bad("The body must be a JSON object")
            return json.dumps({"result": handler(self, body, token)})

    def _check_token(self, request: web.Request, access: Access) -> str | None:
        """The token this call may use (lock held); refuses 401, or 400 for a finished login's stage."""
        if access == "open":
            return None
        header = request.headers.get("Authorization")
        if header is None or not header.startswith("Bearer ") or not header[7:]:
            raise Refused(401, "AuthError", "Not logged in")
        token = header[7:]
        if access == "stage" and token in self.pending:
            return token
        if access == "token" and token in self.tokens:
            return token
        if access == "stage" and token in self.tokens:
            raise _bad("This login is already complete")
        raise Refused(401, "AuthError", "Invalid or expired token")

    def _info(self) -> dict[str, Any]:
        return {"version": self.version, "serverId": self.server_id, "port": 3000, "httpsport": 3443,
                "hostname": self.hostname, "servers": [self.server_id],
                "ssh": {"basic": False, "publicKey": True, "hidePasswordField": False}}

    # Each endpoint runs with the lock held and returns the value of "result".

    def auth_ssh(self, body: dict[str, Any], token: str | None) -> Any:
        username, password = body.get("username"), body.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise _bad("Missing or invalid parameter: username, password")
        if (username, password) != (self.username, self.password):
            raise Refused(401, "AuthError", AUTH_FAILED)
        token = self._new_token()
        self.tokens.add(token)
        self.logins += 1
        return {"token": token, "login": username, "hostname": self.hostname}

    def user_login(self, body: dict[str, Any], token: str | None) -> Any:
        username, server_id, password = body.get("username"), body.get("serverId"), body.get("password")
        if not isinstance(username, str) or not username:
            raise _bad("Missing or invalid parameter: username")
        if server_id is not None and server_id != self.server_id:
            raise _bad(f"Unknown serverId: {server_id}")
        if password is not None and not isinstance(password, str):
            raise _bad("Invalid parameter: password")
        token = self._new_token()
        if password is not None:  # the password came along: all at once, or not at all
            if (username, password) != (self.username, self.password):
                raise Refused(401, "AuthError", AUTH_FAILED)
            self.tokens.add(token)
            self.logins += 1
            return {"stage": "success", "token": token, "host": self.hostname}
        # A wrong username is not told apart here (SSH does not either): it fails at the stage.
        self.pending[token] = (self.stage, username)
        answer = {"stage": self.stage, "token": token, "host": self.hostname}
        if self.stage == "keyboard-interactive":
            answer["prompt"] = KI_PROMPT
        return answer

    def _answer_stage(self, token: str | None, stage: str, secret: Any, member: str) -> Any:
        assert token is not None
        waiting, username = self.pending[token]
        if waiting != stage:
            raise _bad(f"This login waits in stage {waiting}, not {stage}")
        if not isinstance(secret, str):
            raise _bad(f"Missing or invalid parameter: {member}")
        del self.pending[token]  # right or wrong, this stage token is used up
        if (username, secret) != (self.username, self.password):
            raise Refused(401, "AuthError", AUTH_FAILED)
        self.tokens.add(token)
        self.logins += 1
        return {"stage": "success", "token": token, "host": self.hostname}

    def login_password(self, body: dict[str, Any], token: str | None) -> Any:
        return self._answer_stage(token, "password", body.get("password"), "password")

    def login_keyboard(self, body: dict[str, Any], token: str | None) -> Any:
        return self._answer_stage(token, "keyboard-interactive", body.get("answer"), "answer")

    def session_list(self, body: dict[str, Any], token: str | None) -> Any:
        start, limit = body.get("start", 0), body.get("limit")
        sort_by, reverse, filters = body.get("sortBy"), body.get("sortReverse", False), body.get("filter", [])
        if not _is_int(start) or start < 0:
            raise _bad("Invalid parameter: start")
        if limit is not None and (not _is_int(limit) or limit < 0):
            raise _bad("Invalid parameter: limit")
        if sort_by is not None and not isinstance(sort_by, str):
            raise _bad("Invalid parameter: sortBy")
        if not isinstance(reverse, bool):
            raise _bad("Invalid parameter: sortReverse")
        if not isinstance(filters, list) or not all(isinstance(f, str) for f in filters):
            raise _bad("Invalid parameter: filter")
        tests: list[tuple[str, set[str]]] = []
        for f in filters:
            name, eq, values = f.partition("==")
            if not eq or not name:
                raise _bad(f"Invalid filter string: {f!r} (expected name==value1,value2)")
            tests.append((name, set(values.split(","))))
        chosen = [s for s in self.sessions.values()
                  if all(_has(s, name) and _text(_member(s, name)) in values for name, values in tests)]
        if sort_by:
            chosen.sort(key=lambda s: _sort_key(s, sort_by), reverse=reverse)
        elif reverse:
            chosen.reverse()
        return chosen[start:] if limit is None else chosen[start:start + limit]

    def session_count(self, body: dict[str, Any], token: str | None) -> Any:
        return len(self.sessions)

    def session_screenshot(self, body: dict[str, Any], token: str | None) -> Any:
        sid = _required_id(body)
        fmt = body.get("format", "png")
        if fmt not in ("png", "jpeg"):
            raise _bad(f"Invalid parameter: format {fmt!r} (png or jpeg)")
        for member in ("width", "height"):
            if member in body and (not _is_int(body[member]) or body[member] <= 0):
                raise _bad(f"Invalid parameter: {member}")
        if sid not in self.sessions:
            raise Refused(404, "NotFound", f"Session not found: {sid}")
        if self.screenshot_fails:
            raise Refused(500, "ScreenshotError", "Could not capture the session's display")
        image = self.png_for(sid) if fmt == "png" else self.JPEG
        kind = self.image_type or fmt  # a test may have the server say another type (a hostile one)
        return {"src": f"data:image/{kind};base64," + base64.b64encode(image).decode("ascii")}

    def session_start_bookmark(self, body: dict[str, Any], token: str | None) -> Any:
        bid = _required_id(body)
        mark = next((b for b in [*self.bookmarks, *self.suggestions, *self.history] if b.get("id") == bid), None)
        if mark is None:
            raise Refused(404, "NotFound", f"Bookmark not found: {bid}")
        sid = str(uuid.uuid4())
        session = self._session(sid, str(mark.get("name", "")), self.username, str(mark.get("geometry", "rootless")),
                                0, str(mark["command"]), _iso(datetime.now(UTC)), display=self._free_display())
        self.sessions[sid] = session
        self.last_connect_password = secrets.token_urlsafe(12)
        port, self._next_port = self._next_port, self._next_port + 1
        return {"geometry": session["geometry"], "id": sid, "login": self.username,
                "params": {"name": session["params"]["name"]}, "password": self.last_connect_password,
                "port": port, "windowMode": session["windowMode"]}

    def session_terminate(self, body: dict[str, Any], token: str | None) -> Any:
        sid = _required_id(body)
        if self.sessions.pop(sid, None) is None:
            raise Refused(404, "NotFound", f"Session not found: {sid}")
        return None

    def bookmark_list(self, body: dict[str, Any], token: str | None) -> Any:
        return {"suggestions": self.suggestions, "bookmarks": self.bookmarks, "history": self.history}


def _has(session: dict[str, Any], name: str) -> bool:
    params = session.get("params")
    return name in session or (isinstance(params, dict) and name in params)


def _member(session: dict[str, Any], name: str) -> Any:
    """A member of the session, else of its params (the caller has checked one of them has it)."""
    if name in session:
        return session[name]
    return session["params"][name]


def _sort_key(session: dict[str, Any], name: str) -> tuple[int, float, str]:
    """Sessions without the member last; numbers by value before text; text by its characters."""
    if not _has(session, name):
        return (2, 0.0, "")
    value = _member(session, name)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, _text(value))


ROUTES: dict[str, tuple[Access, Handler]] = {
    "/v3/api/auth/ssh": ("open", FakeFastx.auth_ssh),
    "/v3/api/user/login": ("open", FakeFastx.user_login),
    "/v3/api/user/login/password": ("stage", FakeFastx.login_password),
    "/v3/api/user/login/keyboard-interactive": ("stage", FakeFastx.login_keyboard),
    "/v3/api/session/list": ("token", FakeFastx.session_list),
    "/v3/api/session/list/count": ("token", FakeFastx.session_count),
    "/v3/api/session/screenshot": ("token", FakeFastx.session_screenshot),
    "/v3/api/session/start/bookmark": ("token", FakeFastx.session_start_bookmark),
    "/v3/api/session/terminate": ("token", FakeFastx.session_terminate),
    "/v3/api/bookmark/list": ("token", FakeFastx.bookmark_list),
}
