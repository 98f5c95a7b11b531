"""The web remote: the page and its two files, served from the package (no CDN, no build step),
and the token exchange that lets the page use the API when ``daemon.api_token`` is set.

The files are read once and served with a strict ``Content-Security-Policy`` (same-origin
scripts, styles and connections only; no inline script). A browser cannot send an
``Authorization`` header on an ``EventSource``, so ``POST /v1/session`` with the token sets an
``HttpOnly; SameSite=Strict`` cookie; the guard (``security``) takes that cookie only on requests
the browser marks as coming from this same origin, never from another page, even one on another
port of the same host (which SameSite alone would let through). Sessions expire, are capped, end
when the token changes, and wrong tokens are braked (``sessions``).
"""

from __future__ import annotations

import hmac
from functools import cache
from importlib.resources import files

from starlette.requests import Request
from starlette.responses import Response

from tvctl.api import envelope
from tvctl.api.bodies import SessionLogin
from tvctl.api.reading import read_body
from tvctl.api.sessions import Sessions
from tvctl.errors import Unauthorized
from tvctl.results import SessionResult

COOKIE = "tvctl_session"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
TYPES = {"index.html": "text/html; charset=utf-8", "remote.js": "text/javascript; charset=utf-8",
         "remote.css": "text/css; charset=utf-8", "wall.html": "text/html; charset=utf-8",
         "wall.js": "text/javascript; charset=utf-8", "wall.css": "text/css; charset=utf-8",
         "common.js": "text/javascript; charset=utf-8"}
PATHS = {"/": "index.html", "/remote.js": "remote.js", "/remote.css": "remote.css",
         "/wall": "wall.html", "/wall.js": "wall.js", "/wall.css": "wall.css", "/common.js": "common.js"}


@cache
def _file(name: str) -> bytes:
    return files("tvctl.web").joinpath(name).read_bytes()


async def page(request: Request) -> Response:
    name = PATHS[request.url.path]
    return Response(_file(name), media_type=TYPES[name], headers={
        "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache"})


async def create_session(request: Request) -> Response:
    """Trade the API token for a session cookie (HttpOnly, SameSite=Strict, this origin only)."""
    body = await read_body(request, SessionLogin)
    sessions: Sessions = request.app.state.sessions
    token = sessions.observe()
    if not token:
        raise Unauthorized("No API token is set; no session is needed.")
    sessions.brake.check()
    if not hmac.compare_digest(body.token.encode(), token.encode()):
        sessions.brake.failed()
        raise Unauthorized("That is not the daemon's API token.")
    response = envelope.ok(SessionResult(session="created"))
    response.set_cookie(COOKIE, sessions.issue(), httponly=True, samesite="strict", path="/")
    return response
