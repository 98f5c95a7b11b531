"""Fake KVM-over-IP boxes, written from their API documents (../shared/seeds/000 TinyPilot, 001
BliKVM) and ../shared/reference/kvm-and-signage.md. Real HTTP on 127.0.0.1 (TinyPilot over
HTTPS, with a certificate made at test time by the openssl command), stateful, and recording
every request: tokens that die when the box "restarts", video on and off, the USB cable pulled,
paste present or absent, a certificate swap.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import ssl
import subprocess
import threading
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from aiohttp import web

JPEG_SCREEN = b"\xff\xd8\xff\xe0" + b"KVM-SCREEN" * 50 + b"\xff\xd9"
UNPLUGGED = "Failed to forward keystroke: could not access /dev/hidg0 (is\ncable connected?)"


def make_certificate(folder: Path, name: str) -> tuple[Path, Path, str]:
    """A self-signed certificate and key (as a TinyPilot makes for itself); returns the files and
    the certificate's SHA-256 fingerprint (hex), computed here from the DER bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    f"/CN={name}", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    der = subprocess.run(["openssl", "x509", "-in", str(cert), "-outform", "DER"], check=True,
                         capture_output=True).stdout
    return cert, key, hashlib.sha256(der).hexdigest()


def make_ca(folder: Path) -> tuple[Path, Path]:
    """A certificate authority of the device's own (as TinyPilot's 'install the CA' advice assumes)."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "ca.crt", folder / "ca.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
                    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def make_signed_certificate(folder: Path, name: str, ca: tuple[Path, Path]) -> tuple[Path, Path, str]:
    """A server certificate signed by ``ca``; returns the files and its SHA-256 fingerprint."""
    cert, key, csr, ext = (folder / f"{name}.{x}" for x in ("crt", "key", "csr", "ext"))
    ext.write_text("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                   "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\nsubjectKeyIdentifier=hash\n"
                   "authorityKeyIdentifier=keyid,issuer\n")
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", str(key),
                    "-out", str(csr)], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
                    "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(cert)],
                   check=True, capture_output=True)
    der = subprocess.run(["openssl", "x509", "-in", str(cert), "-outform", "DER"], check=True,
                         capture_output=True).stdout
    return cert, key, hashlib.sha256(der).hexdigest()


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or None


class Recording:
    """What a fake heard, for its tests: ``requests`` (each a Seen) under ``_lock``, both set by the
    fake; ``paths()`` as "METHOD /path", ``clear()`` to start afresh (a fake that keeps more of what
    it heard clears that too)."""

    requests: list[Seen]
    _lock: threading.Lock

    def paths(self) -> list[str]:
        with self._lock:
            return [f"{r.method} {r.path}" for r in self.requests]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()


@dataclass
class Loop:
    """An event loop in a thread of its own, serving aiohttp apps for one fake device."""

    name: str
    loop: asyncio.AbstractEventLoop | None = None
    thread: threading.Thread | None = None
    runners: list[web.AppRunner] = field(default_factory=list)
    host: str = "127.0.0.1"
    netns: str | None = None  # serve from inside this network namespace (tests/shapedlink.py)

    def start(self, serve: Callable[[], Coroutine[Any, Any, None]]) -> None:
        ready = threading.Event()

        def run() -> None:
            if self.netns:
                from tests.shapedlink import enter_netns

                enter_netns(self.netns)
            self.loop = asyncio.new_event_loop()
            self.loop.run_until_complete(serve())
            ready.set()
            self.loop.run_forever()
            self.loop.run_until_complete(self._shutdown())
            self.loop.close()

        self.thread = threading.Thread(target=run, daemon=True, name=self.name)
        self.thread.start()
        if not ready.wait(10):
            raise RuntimeError(f"{self.name} did not start")

    async def _shutdown(self) -> None:
        """Drop every connection at once, as a device that loses power does, and let the loop finish.

        A graceful TLS close waits for the peer's close_notify, which a client holding the connection
        open for reuse may never send; aborting closes the socket on the next turn of the loop.
        """
        for runner in self.runners:
            if runner.server is not None:
                for handler in list(runner.server.connections):
                    if handler.transport is not None:
                        handler.transport.abort()
            await runner.cleanup()
        me = asyncio.current_task()
        rest = [t for t in asyncio.all_tasks() if t is not me]
        for t in rest:
            t.cancel()
        await asyncio.gather(*rest, return_exceptions=True)
        # connection_lost callbacks were scheduled by the aborts: one more turn runs them
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    async def site(self, handler: Callable[[web.Request], Awaitable[web.StreamResponse]], port: int = 0,
                   tls: ssl.SSLContext | None = None) -> int:
        """Serve ``handler`` on the loop's host (``port`` 0: any free one); returns the port."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, self.host, port, ssl_context=tls, reuse_address=True)
        await site.start()
        self.runners.append(runner)
        return int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    def call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def stop(self) -> None:
        if self.loop and self.thread:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)


class HttpsFake:
    """A fake device serving HTTPS on 127.0.0.1 with a certificate made at test time: its life
    cycle and a certificate swap. A subclass answers requests in ``_handle``."""

    def __init__(self, folder: Path, name: str, *, host: str = "127.0.0.1", netns: str | None = None) -> None:
        self.folder, self.name, self.host = folder, name, host
        self.cert, self.key, self.fingerprint = make_certificate(folder, name)
        self.port = 0
        self._srv = Loop(f"fake-{name}", host=host, netns=netns)

    def start(self) -> Self:
        self._srv.start(self._serve)
        return self

    async def _serve(self) -> None:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(self.cert, self.key)
        self.port = await self._srv.site(self._handle, self.port, tls)

    def stop(self) -> None:
        self._srv.stop()

    def swap_certificate(self, ca: tuple[Path, Path] | None = None) -> str:
        """A new certificate on the same port (a re-flashed box, or someone in the middle); signed by
        ``ca`` when given, else self-signed."""
        name = f"{self.name}-{uuid.uuid4().hex[:6]}"
        if ca is not None:
            self.cert, self.key, self.fingerprint = make_signed_certificate(self.folder, name, ca)
        else:
            self.cert, self.key, self.fingerprint = make_certificate(self.folder, name)
        self._srv.call(self._srv.runners.pop().cleanup())
        self._srv.call(asyncio.sleep(0.2))  # the old connections' TLS close
        self._srv.call(self._serve())
        return self.fingerprint

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raise NotImplementedError


class FakeTinyPilot(HttpsFake, Recording):
    def __init__(self, folder: Path, *, api_key: str | None = None, paste: bool = True) -> None:
        super().__init__(folder, "tinypilot")
        self.api_key = api_key  # set: the Pro firmware's key is the only bearer taken
        self.paste = paste
        self.video = True
        self.screen = (JPEG_SCREEN, "image/jpeg")  # what /api/v1/screenshot answers while there is video
        self.cable = True
        self.tokens: set[str] = set()
        self.requests: list[Seen] = []
        self.typed: list[dict[str, Any]] = []  # every keystroke that reached the target
        self.pasted: list[dict[str, Any]] = []
        self.client_ports: list[int] = []  # the client's port of each request: one per TLS connection
        self._lock = threading.Lock()

    # -- life cycle ---------------------------------------------------------------------------
    def restart(self) -> None:
        """The TinyPilot server process restarts: every token it handed out is dead."""
        with self._lock:
            self.tokens.clear()

    def clear(self) -> None:
        super().clear()
        with self._lock:
            self.typed.clear()
            self.pasted.clear()
            self.client_ports.clear()

    # -- the API ------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        peer = request.transport.get_extra_info("peername") if request.transport else None
        with self._lock:
            self.requests.append(Seen(request.method, request.path, dict(request.headers), body))
            self.client_ports.append(peer[1] if peer else 0)
        path = request.path
        if path == "/api/v1/auth" and request.method == "POST":
            if "Origin" in request.headers:  # the CSRF defence the document describes
                return web.Response(status=403, text="Origin header not allowed")
            if self.api_key is not None:
                return web.Response(status=404)
            token = str(uuid.uuid4())
            with self._lock:
                self.tokens.add(token)
            return web.json_response({"token": token})
        if not path.startswith("/api/v1/"):
            return web.Response(status=404)
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        allowed = bearer == self.api_key if self.api_key is not None else bearer in self.tokens
        if not allowed:
            return web.Response(status=403 if self.api_key is not None else 401,
                                text="Invalid API key" if self.api_key is not None else "Invalid token")
        if path == "/api/v1/screenshot" and request.method == "GET":
            if not self.video:
                return web.Response(status=204)
            return web.Response(body=self.screen[0], content_type=self.screen[1])
        if path == "/api/v1/keystroke" and request.method == "POST":
            if not isinstance(body, dict) or not isinstance(body.get("code"), str):
                return web.Response(status=400, text="Missing or invalid code")
            if not self.cable:
                return web.Response(status=500, text=UNPLUGGED)
            with self._lock:
                self.typed.append(body)
            return web.Response(status=200)
        if path == "/api/v1/paste" and request.method == "POST":
            if not self.paste:
                return web.Response(status=404)
            if not self.cable:
                return web.Response(status=500, text=UNPLUGGED)
            with self._lock:
                self.pasted.append(body if isinstance(body, dict) else {})
            return web.Response(status=200)
        return web.Response(status=404)


class FakeBliKvm(Recording):
    """A BliKVM v1 server: /login_api and /keyboard take a JSON body on GET (or only on POST when
    ``post_only``), and the video streamer's /snapshot is on a second port."""

    SERVER_KEY = "fake-server-key"

    def __init__(self, *, username: str = "admin", password: str = "admin", post_only: bool = False) -> None:
        self.username, self.password = username, password
        self.post_only = post_only
        self.video = True
        self.requests: list[Seen] = []
        self.reports: list[list[str]] = []  # every /keyboard report, as the codes sent
        self.port = 0
        self.snapshot_port = 0
        self._srv = Loop("fake-blikvm")
        self._lock = threading.Lock()

    def start(self) -> FakeBliKvm:
        self._srv.start(self._serve)
        return self

    async def _serve(self) -> None:
        self.port = await self._srv.site(self._api)
        self.snapshot_port = await self._srv.site(self._streamer)

    def stop(self) -> None:
        self._srv.stop()

    def token(self) -> str:
        return hashlib.sha256(f"{self.username}:{self.password}:{self.SERVER_KEY}".encode()).hexdigest()[:24]

    def clear(self) -> None:
        super().clear()
        with self._lock:
            self.reports.clear()

    async def _api(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        with self._lock:
            self.requests.append(Seen(request.method, request.path, dict(request.headers), body))
        if request.method not in ("GET", "POST") or (self.post_only and request.method != "POST"):
            return web.Response(status=405)
        if request.path == "/login_api":
            ok = isinstance(body, dict) and body.get("username") == self.username and \
                body.get("password") == self.password
            if not ok:
                return web.json_response({"status": 0, "info": "username or password error", "data": {}})
            return web.json_response({"status": 1, "info": "login success", "data": {"token": self.token()}})
        if request.path == "/keyboard":
            codes = body.get("keycodes") if isinstance(body, dict) else None
            if not isinstance(codes, list):
                return web.json_response({"status": 0, "info": "keycodes missing", "data": []})
            with self._lock:
                self.reports.append([str(c) for c in codes])
            return web.json_response({"status": 1, "info": "key input success", "data": []})
        return web.Response(status=404)

    async def _streamer(self, request: web.Request) -> web.StreamResponse:
        if request.path != "/snapshot":
            return web.Response(status=404)
        if not self.video:
            return web.Response(status=503, text="No signal")
        return web.Response(body=JPEG_SCREEN, content_type="image/jpeg")
