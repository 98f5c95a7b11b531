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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


@dataclass
class _Server:
    loop: asyncio.AbstractEventLoop | None = None
    thread: threading.Thread | None = None
    runners: list[web.AppRunner] = field(default_factory=list)


class FakeTinyPilot:
    def __init__(self, folder: Path, *, api_key: str | None = None, paste: bool = True) -> None:
        self.folder = folder
        self.cert, self.key, self.fingerprint = make_certificate(folder, "tinypilot")
        self.api_key = api_key  # set: the Pro firmware's key is the only bearer taken
        self.paste = paste
        self.video = True
        self.cable = True
        self.tokens: set[str] = set()
        self.requests: list[Seen] = []
        self.typed: list[dict[str, Any]] = []  # every keystroke that reached the target
        self.pasted: list[dict[str, Any]] = []
        self.client_ports: list[int] = []  # the client's port of each request: one per TLS connection
        self.port = 0
        self._srv = _Server()
        self._lock = threading.Lock()

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> FakeTinyPilot:
        ready = threading.Event()

        def run() -> None:
            self._srv.loop = asyncio.new_event_loop()
            self._srv.loop.run_until_complete(self._serve())
            ready.set()
            self._srv.loop.run_forever()
            for r in self._srv.runners:
                self._srv.loop.run_until_complete(r.cleanup())
            # closing a TLS connection takes a few more turns of the loop (its close_notify)
            self._srv.loop.run_until_complete(asyncio.sleep(0.2))
            self._srv.loop.close()

        self._srv.thread = threading.Thread(target=run, daemon=True, name="fake-tinypilot")
        self._srv.thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake TinyPilot did not start")
        return self

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(self.cert, self.key)
        site = web.TCPSite(runner, "127.0.0.1", self.port, ssl_context=tls, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._srv.runners.append(runner)

    def stop(self) -> None:
        if self._srv.loop and self._srv.thread:
            self._srv.loop.call_soon_threadsafe(self._srv.loop.stop)
            self._srv.thread.join(10)

    def restart(self) -> None:
        """The TinyPilot server process restarts: every token it handed out is dead."""
        with self._lock:
            self.tokens.clear()

    def swap_certificate(self, ca: tuple[Path, Path] | None = None) -> str:
        """A new certificate on the same port (a re-flashed box, or someone in the middle); signed by
        ``ca`` when given, else self-signed."""
        name = f"tinypilot-{uuid.uuid4().hex[:6]}"
        if ca is not None:
            self.cert, self.key, self.fingerprint = make_signed_certificate(self.folder, name, ca)
        else:
            self.cert, self.key, self.fingerprint = make_certificate(self.folder, name)
        assert self._srv.loop is not None
        old = self._srv.runners.pop()
        asyncio.run_coroutine_threadsafe(old.cleanup(), self._srv.loop).result(10)
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0.2), self._srv.loop).result(10)
        asyncio.run_coroutine_threadsafe(self._serve(), self._srv.loop).result(10)
        return self.fingerprint

    def paths(self) -> list[str]:
        with self._lock:
            return [f"{r.method} {r.path}" for r in self.requests]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
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
            return web.Response(body=JPEG_SCREEN, content_type="image/jpeg")
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


class FakeBliKvm:
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
        self._srv = _Server()
        self._lock = threading.Lock()

    def start(self) -> FakeBliKvm:
        ready = threading.Event()

        def run() -> None:
            self._srv.loop = asyncio.new_event_loop()
            self._srv.loop.run_until_complete(self._serve())
            ready.set()
            self._srv.loop.run_forever()
            for r in self._srv.runners:
                self._srv.loop.run_until_complete(r.cleanup())
            self._srv.loop.close()

        self._srv.thread = threading.Thread(target=run, daemon=True, name="fake-blikvm")
        self._srv.thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake BliKVM did not start")
        return self

    async def _serve(self) -> None:
        for handler in (self._api, self._streamer):
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", handler)
            runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            if handler == self._api:
                self.port = port
            else:
                self.snapshot_port = port
            self._srv.runners.append(runner)

    def stop(self) -> None:
        if self._srv.loop and self._srv.thread:
            self._srv.loop.call_soon_threadsafe(self._srv.loop.stop)
            self._srv.thread.join(10)

    def token(self) -> str:
        return hashlib.sha256(f"{self.username}:{self.password}:{self.SERVER_KEY}".encode()).hexdigest()[:24]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
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
