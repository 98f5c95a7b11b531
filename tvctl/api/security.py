"""The loopback guard: the first thing every request meets, before any handler runs.

On TCP (the Unix socket is authorised by its file mode):

* ``Host`` must be the listening loopback address or ``localhost`` with the port, or a name
  from ``daemon.allowed_hosts`` — this defeats DNS rebinding.
* A request carrying ``Origin`` is refused unless CORS is on and the origin is listed exactly.
  That covers "simple" cross-site requests a browser sends without a preflight. A POST, PUT,
  PATCH or DELETE that the browser marks ``Sec-Fetch-Site: cross-site`` or ``same-site`` but
  that carries no ``Origin`` is refused the same way.
* With ``daemon.api_token`` set, ``Authorization: Bearer <token>`` is required, or a web remote
  session cookie (``sessions``); wrong tokens are braked there. The routes the table declares
  ``public`` and the web remote's page and files (which ask for the token) need neither.

Everywhere: a header the guard reads that may appear once (``Host``, ``Origin``, …) appears at
most once, and a request target in absolute form (``GET http://host/path``, which uvicorn
reduces to its path) must name the ``Host`` header's own address (``invalid_request``
otherwise), so neither can carry a second, unchecked host. A request body must be
``application/json`` (multipart, and up to ``dev.max_archive_mb``, only on a route the table
declares ``upload``), and any exception a handler lets escape becomes an ``internal_error``
envelope (logged, with the traceback kept out of the response).
CORS headers are added here too, from the live settings, so PATCH/reload change them without a
restart.
"""

from __future__ import annotations

import hmac
import logging
import re
import urllib.parse
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tvctl.api.envelope import error_body
from tvctl.api.sessions import Sessions
from tvctl.config import DaemonSettings, DevSettings, Settings
from tvctl.errors import (
    HostNotAllowed,
    InvalidRequest,
    OriginNotAllowed,
    PayloadTooLarge,
    TooManyAttempts,
    TvctlError,
    Unauthorized,
    UnsupportedMediaType,
)

if TYPE_CHECKING:
    from tvctl.api.endpoint import Endpoint

_LOGGER = logging.getLogger(__name__)

PREFLIGHT_MAX_AGE = "600"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The scope extension (set by tvctl.daemon.HttpProtocol) holding a request target that is not a
# path: {"target": b"http://host/path"}.
REQUEST_TARGET = "tvctl.request_target"

GUARDED_HEADERS = frozenset({b"host", b"origin", b"authorization", b"access-control-request-method",
                             b"content-length", b"transfer-encoding", b"content-type", b"cookie",
                             b"sec-fetch-site"})
# Of those, the ones a second copy of could smuggle past a check that reads the first.
SINGLE_HEADERS = frozenset({b"host", b"origin", b"authorization", b"content-length", b"transfer-encoding",
                            b"content-type", b"sec-fetch-site"})


def _headers(scope: Scope) -> dict[bytes, str]:
    """The headers the guard looks at, read in one pass; one that may appear once and appears
    again is refused."""
    out: dict[bytes, str] = {}
    for k, v in scope["headers"]:
        if k in GUARDED_HEADERS:
            if k not in out:
                out[k] = v.decode("latin-1")
            elif k in SINGLE_HEADERS:
                name = k.decode().title()
                raise InvalidRequest(f"The request has more than one {name} header.",
                                     hint=f"Send {name} once.")
    return out


def _check_target(scope: Scope, h: dict[bytes, str]) -> None:
    """A target in absolute form must be http:// and name the Host header's address; any other
    form than a path (``*``, ``host:port``) is refused."""
    target = scope.get("extensions", {}).get(REQUEST_TARGET, {}).get("target")
    if not isinstance(target, bytes):
        return
    shown = target.decode("latin-1")
    parts = urllib.parse.urlsplit(shown)
    host = h.get(b"host", "").lower()
    if parts.scheme.lower() != "http" or not parts.netloc or parts.netloc.lower() != host:
        raise InvalidRequest(f"The request target {shown[:200]!r} is not a path on this daemon (Host {host!r}).",
                             hint="Send the path alone: GET /v1/devices HTTP/1.1 with Host: 127.0.0.1:<port>.")


def _matcher(templates: Iterable[str]) -> Callable[[str], bool]:
    """Whether a request path is one of ``templates`` (route paths; a ``{param}`` is one segment,
    as the router matches it)."""
    patterns = [re.escape(t).replace(r"\{", "{").replace(r"\}", "}") for t in sorted(set(templates))]
    pattern = re.compile("|".join(re.sub(r"{\w+}", "[^/]+", p) for p in patterns) or r"(?!)")
    return lambda path: pattern.fullmatch(path) is not None


class RouteAccess:
    """What the route table says of a request path, before any handler runs: whether it needs no
    token (an endpoint declared ``public``, or a page of the web remote), and whether it takes an
    upload (an endpoint declared ``upload``). Any method on such a path is treated alike, as the
    router answers a wrong method only after the guard."""

    def __init__(self, routes: Iterable[Endpoint] = (), pages: Iterable[str] = ()) -> None:
        routes = list(routes)
        self.public = _matcher([e.path for e in routes if e.public] + list(pages))
        self.upload = _matcher(e.path for e in routes if e.upload)


class GuardMiddleware:
    def __init__(self, app: ASGIApp, settings: Callable[[], Settings], bound_port: Callable[[], int],
                 sessions: Sessions | None = None, routes: Iterable[Endpoint] = (),
                 pages: Iterable[str] = ()) -> None:
        self.app = app
        self.settings = settings
        self.bound_port = bound_port
        self.sessions = sessions if sessions is not None else Sessions(settings)
        self.access = RouteAccess(routes, pages)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        s = self.settings()
        server = scope.get("server")
        is_tcp = bool(server and server[1] is not None)
        cors_origin: str | None = None
        try:
            h = _headers(scope)
            _check_target(scope, h)
            origin = h.get(b"origin")
            token = self.sessions.observe()
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
                fetch_site = h.get(b"sec-fetch-site", "").strip().lower()
                if origin is None and scope["method"] in MUTATING and fetch_site in ("cross-site", "same-site"):
                    # A browser that says the request comes from another site yet sends no Origin:
                    # treated like the foreign Origin it leaves out.
                    raise OriginNotAllowed(f"A {scope['method']} the browser marks Sec-Fetch-Site: {fetch_site} "
                                           "is not allowed without an allowed Origin.")
                if token and not self.access.public(scope["path"]):
                    self._check_token(h, origin, token)
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

    def _check_token(self, h: dict[bytes, str], origin: str | None, token: str) -> None:
        """The Bearer token, else a web remote session cookie. A wrong Bearer token counts toward
        the brake, and while it is on no Bearer token is compared at all."""
        auth = h.get(b"authorization")
        if auth is not None:
            self.sessions.brake.check()
            if hmac.compare_digest(auth.encode(), f"Bearer {token}".encode()):
                return
        if self._session_ok(h, origin):
            return
        if auth is not None:
            self.sessions.brake.failed()
        raise Unauthorized("Missing or wrong API token.")

    def _session_ok(self, h: dict[bytes, str], origin: str | None) -> bool:
        """A web remote session cookie, taken only on a request the browser says comes from this
        same origin (another page, even on another port of this host, is same-site but not
        same-origin), and only while it is a live session of the current token."""
        if h.get(b"sec-fetch-site") != "same-origin":
            return False
        if origin is not None and origin != f"http://{h.get(b'host', '').lower()}":
            return False
        from tvctl.api.web import COOKIE

        for part in h.get(b"cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE:
                return self.sessions.valid(value)
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
        upload = self.access.upload(scope["path"])
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
        retry = retry_after(exc)
        if retry is not None:
            headers.append((b"retry-after", retry.encode()))
        if is_tcp:
            headers.append((b"vary", b"Origin"))
        if cors_origin:
            headers.append((b"access-control-allow-origin", cors_origin.encode()))
        await send({"type": "http.response.start", "status": exc.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def retry_after(exc: TvctlError) -> str | None:
    """The Retry-After value for an error that has one (``too_many_attempts``)."""
    if isinstance(exc, TooManyAttempts) and exc.details and "retry_after_s" in exc.details:
        return str(exc.details["retry_after_s"])
    return None
