"""The loopback guard: the first thing every request meets, before any handler runs.

On TCP (the Unix socket is authorised by its file mode):

* ``Host`` must be the listening loopback address or ``localhost`` with the port, or a name
  from ``daemon.allowed_hosts`` — this defeats DNS rebinding.
* A request carrying ``Origin`` is refused unless CORS is on and the origin is listed exactly.
  That covers "simple" cross-site requests a browser sends without a preflight.
* With ``daemon.api_token`` set, ``Authorization: Bearer <token>`` is required (not for ping).

Everywhere: a request body must be ``application/json`` (multipart only for uploads), and
any exception a handler lets escape becomes an ``internal_error`` envelope (logged, with the
traceback kept out of the response). CORS headers are added here too, from the live settings,
so PATCH/reload change them without a restart.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tvctl.api.envelope import error_body
from tvctl.config import DaemonSettings, DevSettings, Settings
from tvctl.errors import (
    HostNotAllowed,
    OriginNotAllowed,
    PayloadTooLarge,
    TvctlError,
    Unauthorized,
    UnsupportedMediaType,
)

_LOGGER = logging.getLogger(__name__)

UPLOAD_SUFFIXES = ("/dev/install",)
NO_AUTH_PATHS = ("/v1/ping", "/v1/session", "/", "/remote.js", "/remote.css")  # the page asks for the token
PREFLIGHT_MAX_AGE = "600"


GUARDED_HEADERS = frozenset({b"host", b"origin", b"authorization", b"access-control-request-method",
                             b"content-length", b"transfer-encoding", b"content-type", b"cookie",
                             b"sec-fetch-site"})


def _headers(scope: Scope) -> dict[bytes, str]:
    """The headers the guard looks at, read in one pass (first occurrence wins)."""
    out: dict[bytes, str] = {}
    for k, v in scope["headers"]:
        if k in GUARDED_HEADERS and k not in out:
            out[k] = v.decode("latin-1")
    return out


class GuardMiddleware:
    def __init__(self, app: ASGIApp, settings: Callable[[], Settings], bound_port: Callable[[], int],
                 sessions: dict[str, str] | None = None) -> None:
        self.app = app
        self.settings = settings
        self.bound_port = bound_port
        self.sessions = sessions if sessions is not None else {}  # web remote cookie -> token digest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        s = self.settings()
        server = scope.get("server")
        is_tcp = bool(server and server[1] is not None)
        h = _headers(scope)
        origin = h.get(b"origin")
        cors_origin: str | None = None
        try:
            if is_tcp:
                self._check_host(h, s)
                same_origin = origin is not None and origin == f"http://{h.get(b'host', '').lower()}"
                if origin is not None and not same_origin:  # the daemon's own page needs no CORS
                    daemon = s.section(DaemonSettings)
                    if not (daemon.cors_enabled and origin in daemon.cors_allowed_origins):
                        raise OriginNotAllowed(f"Requests from origin {origin!r} are not allowed.")
                    cors_origin = origin
                    if scope["method"] == "OPTIONS" and h.get(b"access-control-request-method"):
                        await self._preflight(send, origin)
                        return
                token = s.section(DaemonSettings).api_token
                if token and scope["path"] not in NO_AUTH_PATHS:
                    auth = h.get(b"authorization", "")
                    if not hmac.compare_digest(auth.encode(), f"Bearer {token}".encode()) \
                            and not self._session_ok(h, origin, token):
                        raise Unauthorized("Missing or wrong API token.")
            self._check_body(scope, h, s)
        except TvctlError as exc:
            await self._send_error(send, exc, cors_origin, is_tcp)
            return

        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if is_tcp:
                    headers = list(message.get("headers", []))
                    headers.append((b"vary", b"Origin"))
                    if cors_origin:
                        headers.append((b"access-control-allow-origin", cors_origin.encode()))
                        headers.append((b"access-control-expose-headers", b"ETag"))
                    message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except ClientDisconnect:  # the client went away mid-body (Ctrl-C during an upload): nobody to answer
            _LOGGER.info("client disconnected during %s %s", scope["method"], scope["path"])
        except Exception as exc:
            _LOGGER.exception("internal error on %s %s", scope["method"], scope["path"])
            if not started:
                err = TvctlError(f"Internal error ({type(exc).__name__}); the daemon log has the details.")
                await self._send_error(send, err, cors_origin, is_tcp)

    def _session_ok(self, h: dict[bytes, str], origin: str | None, token: str) -> bool:
        """A web remote session cookie, taken only on a request the browser says comes from this
        same origin (another page, even on another port of this host, is same-site but not
        same-origin), and only while the token it was given for is still the token."""
        if h.get(b"sec-fetch-site") != "same-origin":
            return False
        if origin is not None and origin != f"http://{h.get(b'host', '').lower()}":
            return False
        from tvctl.api.web import COOKIE, token_digest

        for part in h.get(b"cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE and value in self.sessions:
                return hmac.compare_digest(self.sessions[value], token_digest(token))
        return False

    def _check_host(self, h: dict[bytes, str], s: Settings) -> None:
        host = h.get(b"host", "").lower()
        port = self.bound_port()
        allowed = {f"127.0.0.1:{port}", f"localhost:{port}", f"{s['daemon.http_host']}:{port}"}
        for extra in s.section(DaemonSettings).allowed_hosts:
            extra = extra.lower()
            allowed.add(extra if ":" in extra else f"{extra}:{port}")
            allowed.add(extra)
        if port == 80:
            allowed |= {"127.0.0.1", "localhost"}
        if host not in allowed:
            raise HostNotAllowed(f"Host {host!r} is not this daemon's address.")

    def _check_body(self, scope: Scope, h: dict[bytes, str], s: Settings) -> None:
        if scope["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
            return
        length = h.get(b"content-length")
        chunked = "chunked" in h.get(b"transfer-encoding", "").lower()
        has_body = chunked or (length is not None and length.strip() not in ("", "0"))
        if not has_body:
            return
        ctype = h.get(b"content-type", "").split(";")[0].strip().lower()
        upload = scope["path"].endswith(UPLOAD_SUFFIXES)
        if upload:
            if ctype != "multipart/form-data":
                raise UnsupportedMediaType(f"Uploads must be multipart/form-data, got {ctype or 'none'!r}.",
                                           hint="curl -F archive=@channel.zip …")
            limit = s.section(DevSettings).max_archive_mb * 1024 * 1024 + 64 * 1024  # form framing overhead
        else:
            if ctype != "application/json":
                raise UnsupportedMediaType(f"Request bodies must be application/json, got {ctype or 'none'!r}.")
            limit = s.section(DaemonSettings).max_body_kb * 1024
        if length is not None and length.strip().isdigit() and int(length) > limit:
            raise PayloadTooLarge(f"The body is {int(length)} bytes; the limit is {limit}.",
                                  hint="Raise dev.max_archive_mb for uploads." if upload else None)

    async def _preflight(self, send: Send, origin: str) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": [
            (b"access-control-allow-origin", origin.encode()),
            (b"access-control-allow-methods", b"GET, POST, PATCH, DELETE, OPTIONS"),
            (b"access-control-allow-headers", b"Content-Type, Authorization"),
            (b"access-control-max-age", PREFLIGHT_MAX_AGE.encode()),
            (b"vary", b"Origin"),
        ]})
        await send({"type": "http.response.body", "body": b""})

    async def _send_error(self, send: Send, exc: TvctlError, cors_origin: str | None, is_tcp: bool) -> None:
        body = error_body(exc)
        headers: list[Any] = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if is_tcp:
            headers.append((b"vary", b"Origin"))
        if cors_origin:
            headers.append((b"access-control-allow-origin", cors_origin.encode()))
        await send({"type": "http.response.start", "status": exc.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
