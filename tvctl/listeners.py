"""The daemon's listeners: the Unix socket and loopback TCP it binds, or the ones systemd hands
over (socket activation), and the sd_notify messages it sends back. Plain sockets, no asyncio."""

from __future__ import annotations

import logging
import os
import socket
import stat
from pathlib import Path

from tvctl import config
from tvctl.config import DaemonSettings

_LOGGER = logging.getLogger(__name__)

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
