"""The daemon's listeners: the Unix socket and loopback TCP it binds, or the ones systemd hands
over (socket activation), and the sd_notify messages it sends back. Plain sockets (asyncio only
to tell held-back log lines later).

Accepting is capped (``Connections``, ``CappedListener``): the daemon never holds more client
connections than its open-file limit leaves room for, so a flood of connections that never finish
their request cannot starve it of descriptors (every accept() failing, a traceback logged for
each). At the cap the oldest connection still waiting for a request head is dropped to make room;
when every connection is busy, accepting pauses (asyncio retries a second later).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import resource
import socket
import stat
import time
from pathlib import Path
from typing import Any, Protocol

from tvctl import config
from tvctl.config import DaemonSettings

_LOGGER = logging.getLogger(__name__)

STALE_PROBE_TIMEOUT_S = 1.0

# Descriptors kept out of the connection cap for everything else the daemon opens: device
# sockets (HTTP, WebSocket sessions, consoles, KVM streams), discovery sockets, the registry,
# caches, uploads.
FD_RESERVE = 256
# How far past the cap accepting may run while connections dropped to make room are still being
# closed (their descriptors are released on the event loop's next turn). Part of FD_RESERVE.
ACCEPT_SLACK = 32
# After accept() fails for want of descriptors, or at the cap with nothing to drop, the listener
# stops accepting; asyncio retries one second later. Within this, accept() is not tried again.
ACCEPT_PAUSE_S = 0.5
# Of the connection cap, this many are for the Unix socket alone (TCP clients stop short of them),
# so the CLI still gets in while TCP clients fill the rest.
UNIX_ONLY = 16
# A burst of the same failure is logged once per this many seconds, with a count.
LOG_EVERY_S = 5.0
OUT_OF_DESCRIPTORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


class Throttled:
    """One kind of log line at most once every ``interval_s``. Lines held back are counted and
    told in one line when the interval ends (on the running event loop), so a flood is visible
    without filling the log."""

    def __init__(self, logger: logging.Logger, level: int, interval_s: float = LOG_EVERY_S) -> None:
        self.logger = logger
        self.level = level
        self.interval_s = interval_s
        self._next = 0.0
        self._held = 0
        self._last: tuple[str, tuple[object, ...]] = ("", ())
        self._flush_at: asyncio.TimerHandle | None = None

    def __call__(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now >= self._next:
            self._next = now + self.interval_s
            self.logger.log(self.level, message, *args)
            return
        self._held += 1
        self._last = (message, args)
        if self._flush_at is None:
            with contextlib.suppress(RuntimeError):  # no running loop: nothing is told later
                self._flush_at = asyncio.get_running_loop().call_later(self._next - now, self.flush)

    def flush(self) -> None:
        self._flush_at = None
        if self._held:
            message, args = self._last
            self.logger.log(self.level, "%s (%d times in the last %g s)", message % args if args else message,
                            self._held, self.interval_s)
            self._held = 0
            self._next = time.monotonic() + self.interval_s


def open_file_limit() -> int:
    """The soft RLIMIT_NOFILE (what LimitNOFILE= or ulimit -n set)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 1 << 20 if soft == resource.RLIM_INFINITY else int(soft)


def connection_cap(open_files: int) -> int:
    """How many client connections may be open at once under an open-file limit of ``open_files``:
    all but FD_RESERVE (half of a limit that small), and never fewer than 8."""
    return max(8, open_files - min(FD_RESERVE, open_files // 2))


class Droppable(Protocol):
    def drop(self) -> None:
        """Close the connection now (its descriptor is released on the loop's next turn)."""


class Connections:
    """The client connections of every listener, counted from accept() until their socket is
    closed, and those waiting for a request head (new or between keep-alive requests), oldest
    first: the ones dropped to make room at the cap."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._open: set[socket.socket] = set()
        self._waiting: dict[Droppable, None] = {}  # insertion order: oldest first
        self._dropped: set[Droppable] = set()  # dropped, descriptor not released yet
        self.log_dropped = Throttled(_LOGGER, logging.WARNING)

    @property
    def dropping(self) -> int:
        return len(self._dropped)

    def accepted(self, conn: socket.socket) -> None:
        self._open.add(conn)

    def count(self) -> int:
        """Accepted sockets not closed yet. Closed ones are forgotten when the count nears the cap
        (below it, an exact count does not matter)."""
        if len(self._open) >= self.cap - UNIX_ONLY:
            self._open.difference_update([s for s in self._open if s.fileno() == -1])
        return len(self._open)

    def waiting(self, conn: Droppable) -> None:
        """``conn`` waits for a request head (it may be dropped at the cap)."""
        self._waiting.setdefault(conn, None)

    def busy(self, conn: Droppable) -> None:
        """``conn`` has a request to answer (it is not dropped)."""
        self._waiting.pop(conn, None)

    def released(self, conn: Droppable) -> None:
        """``conn`` is closed."""
        self._waiting.pop(conn, None)
        self._dropped.discard(conn)

    def make_room(self) -> bool:
        """Drop the connection that has waited longest for a request head; False if none waits."""
        for conn in self._waiting:
            del self._waiting[conn]
            self._dropped.add(conn)
            conn.drop()
            self.log_dropped("connection cap reached (%d for an open-file limit of %d): closing the connections "
                             "that have waited longest for a request", self.cap, open_file_limit())
            return True
        return False


class CappedListener(socket.socket):
    """A listening socket whose accept() keeps to the connection cap (asyncio's accept loop calls
    it; a TCP listener stops UNIX_ONLY short of it). At the cap it first drops a connection still
    waiting for its request; if every one is busy, it fails like a process out of descriptors,
    which makes asyncio pause this listener."""

    connections: Connections
    cap = 0
    paused_until = 0.0

    @classmethod
    def wrap(cls, sock: socket.socket, connections: Connections) -> CappedListener:
        capped = cls(sock.family, sock.type, sock.proto, fileno=sock.detach())
        capped.setblocking(False)
        capped.connections = connections
        capped.cap = connections.cap if capped.family == socket.AF_UNIX else max(1, connections.cap - UNIX_ONLY)
        return capped

    def accept(self) -> tuple[socket.socket, Any]:
        conns = self.connections
        now = time.monotonic()
        if now < self.paused_until:
            raise BlockingIOError(errno.EAGAIN, "paused")  # ends this turn's accept loop
        live = conns.count()
        if live - conns.dropping >= self.cap and not conns.make_room():
            if conns.dropping:  # room is being made: accept on a later turn of the loop
                raise BlockingIOError(errno.EAGAIN, "closing dropped connections first")
            self.paused_until = now + ACCEPT_PAUSE_S
            raise OSError(errno.EMFILE, f"{live} connections open, the cap for this open-file limit; every one "
                          "is busy")
        if live >= self.cap + ACCEPT_SLACK:
            raise BlockingIOError(errno.EAGAIN, "closing dropped connections first")
        try:
            conn, addr = super().accept()
        except OSError as exc:
            if exc.errno in OUT_OF_DESCRIPTORS:
                self.paused_until = now + ACCEPT_PAUSE_S
            raise
        conns.accepted(conn)
        return conn, addr


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
        if not settings.section(DaemonSettings).http_enabled:
            raise StartupError(f"the socket unit passes {host}:{port} but daemon.http_enabled is false; "
                               "remove its ListenStream= line or enable HTTP")
        if host != settings.section(DaemonSettings).http_host:
            raise StartupError(f"the socket unit listens on {host}:{port} but daemon.http_host is "
                               f"{settings['daemon.http_host']}; make them agree")
    _LOGGER.info("socket activation: %s", ", ".join(str(s.getsockname()) for s in (unix, tcp) if s) or "nothing")
    return unix, tcp
