"""Composition root: Settings → Registry → DeviceService → app, served by one uvicorn Server
on the Unix socket and (unless disabled) loopback TCP at once.

Signals: SIGTERM/SIGINT shut down gracefully (in-flight requests get up to
GRACEFUL_SHUTDOWN_S; event streams are closed first), SIGHUP reloads the config. Under
systemd (``Type=notify``) READY=1 is sent once both listeners accept, STOPPING=1 on the way out.

Clients that hold connections without finishing a request are bounded three ways: the request
head must arrive within ``daemon.header_timeout_s`` (``HttpProtocol``), connections are capped
below the open-file limit (``listeners.CappedListener``), and accept failures are logged at
most once every few seconds (``on_loop_error``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from tvctl import config, paths
from tvctl.api.app import create_app
from tvctl.api.security import REQUEST_TARGET
from tvctl.api.sessions import Sessions
from tvctl.config import DaemonSettings, DiscoverySettings
from tvctl.errors import TvctlError
from tvctl.events import EventBus
from tvctl.listeners import (
    CappedListener,
    Connections,
    StartupError,
    Throttled,
    bind_tcp,
    bind_unix,
    connection_cap,
    inherited_sockets,
    open_file_limit,
    sd_notify,
)
from tvctl.registry import Registry
from tvctl.runtime import Runtime
from tvctl.service import DeviceService

_LOGGER = logging.getLogger(__name__)

# Long enough for a slow device command (5 s device timeouts) to finish, short enough for systemd.
GRACEFUL_SHUTDOWN_S = 6


def under_journald() -> bool:
    """Whether stderr is the journal (systemd sets JOURNAL_STREAM to its device:inode), which
    stamps every line itself."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    try:
        dev, ino = (int(x) for x in stream.split(":"))
        st = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError):
        return False
    return (st.st_dev, st.st_ino) == (dev, ino)


class OwnNames(logging.Filter):
    """The HTTP server's lines under the daemon's own name (tvctl.http), not uvicorn.error."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("uvicorn"):
            record.name = "tvctl.http"
        return True


def setup_logging(verbose: bool) -> None:
    """One line per record: a local timestamp (left out under journald, which adds its own), the
    level, the logger's name and the message."""
    fmt = "%(levelname)s %(name)s: %(message)s"
    if not under_journald():
        fmt = "%(asctime)s.%(msecs)03d " + fmt
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(fmt, datefmt="%Y-%m-%dT%H:%M:%S"))
    handler.addFilter(OwnNames())
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler], force=True)
    for noisy in ("aiohttp.access", "async_upnp_client", "zeroconf", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)


# asyncio's selector transport reads at most 256 KiB per recv() (its ``max_size``). While a large
# body streams in, 1 MiB reads mean a quarter of the loop wake-ups, pause/resume calls and ASGI
# messages: the 50 MiB receive of bench/sideload.py went from ~0.065 s to ~0.044 s (medians;
# 2 and 4 MiB were slower again, their buffers come from mmap). Only for large bodies, and reset
# when the request ends, so small requests are read exactly as before.
UPLOAD_READ_SIZE = 1 << 20

_LOG_HEAD_TIMEOUT = Throttled(_LOGGER, logging.INFO)
_LOG_ACCEPT_FAILED = Throttled(_LOGGER, logging.WARNING)


class ServerConfig(uvicorn.Config):
    """uvicorn's Config, carrying what ``HttpProtocol`` takes from the daemon: the connection
    registry of the capped listeners and the live request-head timeout."""

    def __init__(self, app: Any, *, connections: Connections, header_timeout_s: Callable[[], float],
                 **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.connections = connections
        self.header_timeout_s = header_timeout_s


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, tuned for streaming large request bodies (channel uploads),
    with a deadline for request heads.

    Since uvicorn 0.42 each body chunk is appended to a bytearray and copied again into ``bytes``
    for ``receive()``: two extra copies of every byte, which made receiving a 50 MiB upload cost
    about three times the CPU of uvicorn 0.41. When nothing is waiting in the buffer, the parser's
    own ``bytes`` object is handed over as it is (``bytes(b)`` returns ``b`` itself); otherwise
    uvicorn appends as usual. Flow control is unchanged.

    uvicorn closes idle keep-alive connections but never one whose request head does not finish
    (it has no such timeout): a timer armed when the connection is made, and when a later request
    on it begins, closes it unless the head is complete first. While it waits for a head the
    connection is registered as one that may be dropped to make room at the connection cap. A
    request target in absolute form (``GET http://host/path``) is passed to the guard in the
    scope's ``extensions`` (uvicorn keeps only its path).
    """

    _big_reads = False
    _head_timer: asyncio.TimerHandle | None = None

    def __init__(self, config: uvicorn.Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.daemon_config = config if isinstance(config, ServerConfig) else None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.daemon_config is not None:
            self.daemon_config.connections.waiting(self)
            self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        if self.daemon_config is not None:
            self.daemon_config.connections.released(self)
        super().connection_lost(exc)

    def drop(self) -> None:
        """Close at once, discarding anything unsent (the connection cap or the head timeout)."""
        self._disarm_head_timer()
        self.transport.abort()

    def _arm_head_timer(self) -> None:
        if self.daemon_config is not None and self._head_timer is None:
            self._head_timer = self.loop.call_later(self.daemon_config.header_timeout_s(), self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            assert self.daemon_config is not None
            _LOG_HEAD_TIMEOUT("closed a connection whose request head did not arrive within %g s "
                              "(daemon.header_timeout_s)", self.daemon_config.header_timeout_s())
            self.drop()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_head_timer()  # a later request on a kept-alive connection (the first one's is armed)

    def on_headers_complete(self) -> None:
        self._disarm_head_timer()
        if self.daemon_config is not None:
            self.daemon_config.connections.busy(self)
        if not self.url.startswith(b"/"):  # absolute form (or "*"): the guard decides
            self.scope["extensions"] = {REQUEST_TARGET: {"target": bytes(self.url)}}
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.daemon_config is not None and self.timeout_keep_alive_task is not None:
            self.daemon_config.connections.waiting(self)  # idle until the next request

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


def watchdog_interval() -> float | None:
    """Half of systemd's WatchdogSec (WATCHDOG_USEC, for this process per WATCHDOG_PID), or None."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2_000_000


class Server(uvicorn.Server):
    def __init__(self, cfg: uvicorn.Config, runtime: Runtime, sessions: Sessions) -> None:
        super().__init__(cfg)
        self.runtime = runtime
        self.sessions = sessions

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
                self.sessions.observe()  # a changed api_token ends the web sessions at once
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
                         if self.runtime.settings.section(DaemonSettings).http_enabled else "disabled")
            sd_notify("READY=1")
            interval = watchdog_interval()
            if interval is not None:
                self.runtime.service.spawn(self._feed_watchdog(interval))

    async def _feed_watchdog(self, interval: float) -> None:
        """WATCHDOG=1 from the event loop itself: a loop that stops turning stops the pings."""
        while not self.should_exit:
            sd_notify("WATCHDOG=1")
            await asyncio.sleep(interval)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        sd_notify("STOPPING=1")
        self.runtime.bus.close_all()  # end SSE streams so they do not hold the graceful wait
        self.runtime.service.close_streams()
        await super().shutdown(sockets)


def on_loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """asyncio logs every failed accept() with a traceback, many per loop turn when the process is
    out of descriptors (136,310 tracebacks in 20 s, seen); say it once every few seconds instead."""
    exc = context.get("exception")
    if context.get("message") == "socket.accept() out of system resource" and isinstance(exc, OSError):
        _LOG_ACCEPT_FAILED("not accepting connections for a second: %s (open-file limit %d)",
                           exc.strerror or exc, open_file_limit())
        return
    loop.default_exception_handler(context)


async def serve(runtime: Runtime, sockets: list[socket.socket], connections: Connections | None = None) -> None:
    asyncio.get_running_loop().set_exception_handler(on_loop_error)
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
    try:
        await asyncio.to_thread(service.credentials.load)
    except TvctlError as exc:
        raise StartupError(exc.message) from None
    await asyncio.to_thread(service.archives.clean)
    runtime.service = service
    app = create_app(runtime)
    # proxy_headers off: no proxy sits in front of a loopback daemon, and X-Forwarded-For must not be trusted.
    cfg = ServerConfig(app, connections=connections or Connections(connection_cap(open_file_limit())),
                       header_timeout_s=lambda: runtime.settings.section(DaemonSettings).header_timeout_s,
                       http=HttpProtocol, lifespan="off", log_config=None, access_log=False, server_header=False,
                       proxy_headers=False,
                       timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S, timeout_keep_alive=30)
    server = Server(cfg, runtime, app.state.sessions)
    background: list[Any] = []
    try:
        service.spawn(service.poller.run())
        from tvctl import __version__
        from tvctl.mqtt.bridge import MqttBridge

        runtime.mqtt = MqttBridge(service, runtime.get_settings, runtime.bus, __version__)
        service.spawn(runtime.mqtt.run())  # idle until mqtt.enabled; ends with the service's tasks
        service.spawn(service.directory.check_all())  # who answers now: the registry only knows who did before
        if s.section(DiscoverySettings).enabled:
            service.spawn(service.discovery.forever())
        if s.section(DiscoverySettings).ssdp_listen:
            from tvctl.discovery.ssdp import NotifyListener, parse_target

            discovery = service.discovery
            listener = NotifyListener(parse_target(s.section(DiscoverySettings).ssdp_listen), discovery.interfaces(),
                                      discovery.on_ssdp_alive, discovery.on_ssdp_byebye)
            try:
                await listener.start()
                background.append(listener)
            except OSError as exc:
                _LOGGER.warning("SSDP NOTIFY listening disabled: cannot bind %s: %s",
                                s.section(DiscoverySettings).ssdp_listen, exc)
        if s.section(DiscoverySettings).mdns_enabled:
            from tvctl.discovery.mdns import MdnsWatcher

            watcher = MdnsWatcher(list(s.section(DiscoverySettings).interfaces),
                                  service.discovery.mdns_service_types(), service.discovery.on_mdns)
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
        # A 0-byte file is refused here as at a reload: it is what an editor or a full disk leaves
        # mid-save, and reading it as "all defaults" would drop daemon.api_token without a word.
        _doc, settings = config.load(config_path, allow_empty=False)
    except TvctlError as exc:
        if config.is_empty_file(config_path):
            print(f"tvctl daemon: {config_path} is empty (0 bytes): fix it, or delete it to start with the defaults",
                  file=sys.stderr)
        else:
            print(f"tvctl daemon: {exc.message}\nhint: fix the file (every key is documented in "
                  "config.example.toml) and start the daemon again", file=sys.stderr)
        return 2
    host = settings.section(DaemonSettings).http_host
    if settings.section(DaemonSettings).http_enabled and not ipaddress.IPv4Address(host).is_loopback \
            and not settings.section(DaemonSettings).api_token:
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
            socket_path = Path(settings.section(DaemonSettings).socket_path or paths.default_socket_path())
            unix = bind_unix(socket_path)
            owns_socket_file = True
        sockets.append(unix)
        if tcp is None and settings.section(DaemonSettings).http_enabled:
            tcp = bind_tcp(host, settings.section(DaemonSettings).http_port)
        if tcp is not None:
            sockets.append(tcp)
        runtime = Runtime(config_path=config_path, settings=settings, bus=EventBus(), socket_path=socket_path,
                          http_port=tcp.getsockname()[1] if tcp is not None else 0)
        open_files = open_file_limit()
        connections = Connections(connection_cap(open_files))
        _LOGGER.debug("open-file limit %d: at most %d client connections", open_files, connections.cap)
        sockets = [CappedListener.wrap(sock, connections) for sock in sockets]
        asyncio.run(serve(runtime, sockets, connections))
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
