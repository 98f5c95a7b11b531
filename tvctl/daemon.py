"""Composition root: Settings → Registry → DeviceService → app, served by one uvicorn Server
on the Unix socket and (unless disabled) loopback TCP at once.

Signals: SIGTERM/SIGINT shut down gracefully (in-flight requests get up to
GRACEFUL_SHUTDOWN_S; event streams are closed first), SIGHUP reloads the config. Under
systemd (``Type=notify``) READY=1 is sent once both listeners accept, STOPPING=1 on the way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import socket
import stat
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tvctl import config, paths
from tvctl.api.app import create_app
from tvctl.errors import TvctlError
from tvctl.events import EventBus
from tvctl.registry import Registry
from tvctl.runtime import Runtime
from tvctl.service import DeviceService

_LOGGER = logging.getLogger(__name__)

# Long enough for a slow device command (5 s device timeouts) to finish, short enough for systemd.
GRACEFUL_SHUTDOWN_S = 6
STALE_PROBE_TIMEOUT_S = 1.0


class StartupError(Exception):
    """A reason the daemon cannot start, printed as one line."""


def sd_notify(message: str) -> None:
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.connect(addr)
            s.sendall(message.encode())
    except OSError as exc:
        _LOGGER.warning("cannot notify systemd at %s: %s", addr, exc)


def setup_logging(verbose: bool) -> None:
    # journald adds timestamps; keep lines short and greppable.
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s", force=True)
    for noisy in ("aiohttp.access", "async_upnp_client", "zeroconf", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)


def bind_unix(path: Path) -> socket.socket:
    """Bind the API socket at ``path`` (mode 0600); refuse if a live daemon answers there."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.is_symlink() or (path.exists() and not stat.S_ISSOCK(path.stat().st_mode)):
        raise StartupError(f"{path} exists and is not a socket; it was left alone. Move it away, "
                           "or set daemon.socket_path")
    if path.exists():
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(STALE_PROBE_TIMEOUT_S)
        try:
            probe.connect(str(path))
        except OSError:
            _LOGGER.info("removing stale socket %s", path)
            path.unlink()
        else:
            raise StartupError(f"another tvctl daemon is already listening on {path}; stop it first "
                               "(systemctl --user stop tvctl) or set daemon.socket_path")
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)  # no window in which the socket is group/world accessible
    try:
        sock.bind(str(path))
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot bind {path}: {exc.strerror}") from exc
    finally:
        os.umask(old)
    path.chmod(0o600)
    sock.listen(128)
    sock.setblocking(False)
    return sock


def bind_tcp(host: str, port: int) -> socket.socket:
    # proto must be IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose
    # proto says TCP, and without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror} "
                           "(another program uses the port? set daemon.http_port)") from exc
    sock.listen(128)
    sock.setblocking(False)
    return sock


def inherited_sockets(settings: config.Settings) -> tuple[socket.socket | None, socket.socket | None]:
    """The listeners systemd passed by socket activation (``tvctl.socket``): (unix, tcp).

    The sd_listen_fds protocol: ``LISTEN_PID`` names this process and ``LISTEN_FDS`` counts the
    descriptors from 3 on. Each is told apart by its family. A passed TCP listener must be on
    ``daemon.http_host`` (the Host check and the status report rely on it) and HTTP enabled.
    """
    if os.environ.get("LISTEN_PID") != str(os.getpid()):
        return None, None
    count = int(os.environ.get("LISTEN_FDS", "0") or 0)
    for var in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):  # not for anything we start
        os.environ.pop(var, None)
    unix = tcp = None
    for fd in range(3, 3 + count):
        sock = socket.socket(fileno=fd)
        sock.setblocking(False)
        if sock.type != socket.SOCK_STREAM:
            raise StartupError(f"socket activation passed a non-stream socket (fd {fd}); use ListenStream= only")
        if sock.family == socket.AF_UNIX and unix is None:
            unix = sock
        elif sock.family == socket.AF_INET and tcp is None:
            tcp = sock
        else:
            raise StartupError(f"socket activation passed an unexpected socket (fd {fd}, {sock.family.name}); "
                               "tvctl takes one Unix socket and one IPv4 TCP socket")
    if tcp is not None:
        host, port = tcp.getsockname()
        if not settings["daemon.http_enabled"]:
            raise StartupError(f"the socket unit passes {host}:{port} but daemon.http_enabled is false; "
                               "remove its ListenStream= line or enable HTTP")
        if host != settings["daemon.http_host"]:
            raise StartupError(f"the socket unit listens on {host}:{port} but daemon.http_host is "
                               f"{settings['daemon.http_host']}; make them agree")
    _LOGGER.info("socket activation: %s", ", ".join(str(s.getsockname()) for s in (unix, tcp) if s) or "nothing")
    return unix, tcp


# asyncio's selector transport reads at most 256 KiB per recv() (its ``max_size``). While a large
# body streams in, 1 MiB reads mean a quarter of the loop wake-ups, pause/resume calls and ASGI
# messages: the 50 MiB receive of bench/sideload.py went from ~0.065 s to ~0.044 s (medians;
# 2 and 4 MiB were slower again, their buffers come from mmap). Only for large bodies, and reset
# when the request ends, so small requests are read exactly as before.
UPLOAD_READ_SIZE = 1 << 20


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, tuned for streaming large request bodies (channel uploads).

    Since uvicorn 0.42 each body chunk is appended to a bytearray and copied again into ``bytes``
    for ``receive()``: two extra copies of every byte, which made receiving a 50 MiB upload cost
    about three times the CPU of uvicorn 0.41. When nothing is waiting in the buffer, the parser's
    own ``bytes`` object is handed over as it is (``bytes(b)`` returns ``b`` itself); otherwise
    uvicorn appends as usual. Flow control is unchanged.
    """

    _big_reads = False

    def on_body(self, body: bytes) -> None:
        if len(body) > HIGH_WATER_LIMIT and not self._big_reads and hasattr(self.transport, "max_size"):
            self.transport.max_size = UPLOAD_READ_SIZE
            self._big_reads = True
        cycle = self.cycle
        if cycle.body or cycle.response_complete or self.parser.should_upgrade():
            if isinstance(cycle.body, bytes):  # a chunk we handed over is still waiting: append to a copy
                cycle.body = bytearray(cycle.body)
            super().on_body(body)
            return
        cycle.body = body  # type: ignore[assignment]
        if len(body) > HIGH_WATER_LIMIT:
            self.flow.pause_reading()
        cycle.message_event.set()

    def on_message_complete(self) -> None:
        if self._big_reads:
            del self.transport.max_size  # type: ignore[attr-defined]  # back to the class default
            self._big_reads = False
        super().on_message_complete()


class Server(uvicorn.Server):
    def __init__(self, cfg: uvicorn.Config, runtime: Runtime) -> None:
        super().__init__(cfg)
        self.runtime = runtime

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # uvicorn re-raises the captured signal after shutdown; a daemon should exit 0 instead.
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(sig)

    def _on_sighup(self) -> None:
        async def reload() -> None:
            sd_notify("RELOADING=1")
            try:
                result = await self.runtime.reload()
                _LOGGER.info("SIGHUP: config reloaded (restart required for: %s)",
                             ", ".join(result["restart_required"]) or "nothing")
            except TvctlError as exc:
                _LOGGER.error("SIGHUP: config not reloaded: %s", exc.message)
            sd_notify("READY=1")

        self.runtime.service.spawn(reload())

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.should_exit:
            _LOGGER.info("ready: socket %s, http %s", self.runtime.socket_path,
                         f"{self.runtime.settings['daemon.http_host']}:{self.runtime.http_port}"
                         if self.runtime.settings["daemon.http_enabled"] else "disabled")
            sd_notify("READY=1")

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        sd_notify("STOPPING=1")
        self.runtime.bus.close_all()  # end SSE streams so they do not hold the graceful wait
        self.runtime.service.close_streams()
        await super().shutdown(sockets)


async def serve(runtime: Runtime, sockets: list[socket.socket]) -> None:
    s = runtime.settings
    for folder in (paths.state_dir(), paths.cache_dir(), runtime.config_path.parent):
        removed = await asyncio.to_thread(paths.remove_temp_files, folder)
        if removed:
            _LOGGER.info("removed %d temp file(s) of interrupted writes in %s", removed, folder)
    registry = Registry(paths.state_dir() / "devices.json")
    try:
        await asyncio.to_thread(registry.load)
    except TvctlError as exc:
        raise StartupError(exc.message) from None
    service = DeviceService(runtime.get_settings, registry, runtime.bus, paths.state_dir(), paths.cache_dir())
    await asyncio.to_thread(service.clean_dev_dir)
    runtime.service = service
    app = create_app(runtime)
    # proxy_headers off: no proxy sits in front of a loopback daemon, and X-Forwarded-For must not be trusted.
    cfg = uvicorn.Config(app, http=HttpProtocol, lifespan="off", log_config=None, access_log=False, server_header=False,
                         proxy_headers=False,
                         timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S, timeout_keep_alive=30)
    server = Server(cfg, runtime)
    background: list[Any] = []
    try:
        service.spawn(service.poll_forever())
        if s["discovery.enabled"]:
            service.spawn(service.discover_forever())
        if s["discovery.ssdp_listen"]:
            from tvctl.discovery.ssdp import NotifyListener, parse_target

            listener = NotifyListener(parse_target(s["discovery.ssdp_listen"]), service.interfaces(),
                                      service.on_ssdp_alive, service.on_ssdp_byebye)
            try:
                await listener.start()
                background.append(listener)
            except OSError as exc:
                _LOGGER.warning("SSDP NOTIFY listening disabled: cannot bind %s: %s", s["discovery.ssdp_listen"], exc)
        if s["discovery.mdns_enabled"]:
            from tvctl.discovery.mdns import MdnsWatcher

            watcher = MdnsWatcher(s["discovery.interfaces"], service.mdns_service_types(), service.on_mdns)
            try:
                await watcher.start()
                background.append(watcher)
            except Exception as exc:
                _LOGGER.warning("mDNS discovery disabled: %s", exc)
        await server.serve(sockets=sockets)
    finally:
        for b in background:
            r = b.stop()
            if asyncio.iscoroutine(r):
                await r
        await service.close()


def run(config_path: Path | None, verbose: bool) -> int:
    setup_logging(verbose)
    config_path = config_path or paths.config_file()
    try:
        _doc, settings = config.load(config_path)
    except TvctlError as exc:
        print(f"tvctl daemon: {exc.message}\nhint: fix the file (every key is documented in "
              "config.example.toml) and start the daemon again", file=sys.stderr)
        return 2
    host = settings["daemon.http_host"]
    if settings["daemon.http_enabled"] and not ipaddress.IPv4Address(host).is_loopback \
            and not settings["daemon.api_token"]:
        print(f"tvctl daemon: refusing to listen on non-loopback {host} without daemon.api_token\n"
              "hint: set daemon.api_token, or keep daemon.http_host = \"127.0.0.1\"", file=sys.stderr)
        return 2
    sockets: list[socket.socket] = []
    socket_path: Path | None = None
    owns_socket_file = False
    try:
        unix, tcp = inherited_sockets(settings)
        if unix is not None:  # socket activation: systemd owns the socket file, leave it alone
            socket_path = Path(unix.getsockname())
        else:
            socket_path = Path(settings["daemon.socket_path"] or paths.default_socket_path())
            unix = bind_unix(socket_path)
            owns_socket_file = True
        sockets.append(unix)
        if tcp is None and settings["daemon.http_enabled"]:
            tcp = bind_tcp(host, settings["daemon.http_port"])
        if tcp is not None:
            sockets.append(tcp)
        runtime = Runtime(config_path=config_path, settings=settings, bus=EventBus(), socket_path=socket_path,
                          http_port=tcp.getsockname()[1] if tcp is not None else 0)
        asyncio.run(serve(runtime, sockets))
    except StartupError as exc:
        print(f"tvctl daemon: {exc}", file=sys.stderr)
        return 1
    finally:
        for s in sockets:
            s.close()
        if owns_socket_file and socket_path is not None:
            with contextlib.suppress(FileNotFoundError):
                socket_path.unlink()
    _LOGGER.info("stopped")
    return 0
