"""A real Mosquitto broker for one test: its own config, password file and log in a given folder,
listening on a free loopback port (and optionally a TLS port), no persistence.

Usage (the fixtures live in tests/conftest.py)::

    from tests.mosquitto import Mosquitto, mosquitto_available
    from tests.mqttclient import Watcher

    pytestmark = pytest.mark.skipif(bool(mosquitto_available()), reason=mosquitto_available() or "")

    @pytest.fixture
    def broker(tmp_path: Path) -> Iterator[Mosquitto]:
        with Mosquitto(tmp_path / "mosquitto") as b:  # user "tvctl", password "broker-pass-1"
            yield b

    def test_something(broker: Mosquitto) -> None:
        with Watcher(broker.port, username=USERNAME, password=PASSWORD) as w:
            ...
            broker.restart()  # same port, retained messages gone (persistence false)

What Mosquitto 2.0.11 needs here:

- Started as root it drops privileges to the ``mosquitto`` user before it opens its log and
  password files, and pytest's folders (/tmp/pytest-of-root, mode 0700) are closed to that user:
  it exits with "Unable to open pwfile". The config then says ``user root`` (it "changes" to root,
  i.e. keeps running as root, and warns on stderr that it should not); run as anyone else, the
  option has no effect and is left out.
- It cannot listen on port 0 (``listener 0`` means a unix socket there), so the port is picked
  here (tests.helpers.free_port) and, if someone else takes it before the broker binds it, the
  start is tried again on another port (only for a port picked here).
- Messages before the config is read (a bad config, a port in use) go to stderr; its stdout and
  stderr are appended to the same log file as ``log_dest file`` (both write in append mode).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType, TracebackType

from tests.helpers import free_port

USERNAME = "tvctl"
PASSWORD = "broker-pass-1"
DEFAULT_USERS: Mapping[str, str] = MappingProxyType({USERNAME: PASSWORD})

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
_PORT_ATTEMPTS = 3  # a port picked here and taken by someone else before the broker bound it


def _binary(name: str) -> str | None:
    """The path of a Mosquitto program: $PATH first, then /usr/sbin (not on every user's PATH)."""
    found = shutil.which(name)
    if found:
        return found
    for folder in ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"):
        path = Path(folder) / name
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    return None


def mosquitto_available() -> str | None:
    """Why a real broker cannot run here (for ``pytest.mark.skipif``), or None when it can."""
    missing = [name for name in ("mosquitto", "mosquitto_passwd") if _binary(name) is None]
    if missing:
        return f"Mosquitto is not installed ({', '.join(missing)} not found; apt-get install mosquitto)"
    return None


class Mosquitto:
    """One Mosquitto process, configured in ``folder`` (created), on 127.0.0.1 only.

    ``users`` maps user names to passwords (anonymous clients refused); None allows anonymous
    clients and makes no password file. ``port`` 0 picks a free port. ``tls`` is a (certificate,
    key) pair for a second, TLS listener on ``tls_port``.
    """

    def __init__(self, folder: Path, *, users: Mapping[str, str] | None = DEFAULT_USERS, port: int = 0,
                 tls: tuple[Path, Path] | None = None, nodelay: bool = True) -> None:
        self.folder = folder
        # set_tcp_nodelay: Mosquitto's default leaves Nagle on, and a small answer after another then
        # waits for the client's delayed ACK (about 40 ms a command; bench/mqtt.py --nagle shows it)
        self.nodelay = nodelay
        self.users: dict[str, str] | None = dict(users) if users is not None else None
        self.tls = tls
        self._pick_port = port == 0
        self.port = port or free_port()
        self.tls_port = free_port() if tls else 0
        self.config_path = folder / "mosquitto.conf"
        self.password_path = folder / "passwords"
        self.log_path = folder / "mosquitto.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0  # how many times the broker was started (restart() counts)

    # -- set-up ---------------------------------------------------------------------------------
    def _write_files(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.users is not None:
            passwd = _binary("mosquitto_passwd")
            if passwd is None:
                raise RuntimeError(mosquitto_available())
            self.password_path.unlink(missing_ok=True)
            for i, (user, password) in enumerate(self.users.items()):
                if ":" in user or not user:
                    raise ValueError(f"an MQTT user name for a password file cannot be {user!r}")
                # -c makes the file (first user only); -b takes the password from the command line.
                # The hash is 2.0's default, sha512-pbkdf2 ($7$).
                args = [passwd, *(["-c"] if i == 0 else []), "-b", str(self.password_path), user, password]
                done = subprocess.run(args, capture_output=True, text=True, timeout=30)
                if done.returncode != 0:
                    raise RuntimeError(f"mosquitto_passwd failed ({done.returncode}): {done.stdout}{done.stderr}")
        self.config_path.write_text(self.config())

    def config(self) -> str:
        """The broker's configuration file, as written to ``config_path``."""
        lines = ["# a broker for one tvctl test (tests/mosquitto.py)"]
        if os.geteuid() == 0:
            lines += ["# as root, 2.0 drops to 'mosquitto', who cannot read the test's folder", "user root"]
        lines += [
            "per_listener_settings false",
            "persistence false",
            f"set_tcp_nodelay {'true' if self.nodelay else 'false'}",
            f"log_dest file {self.log_path}",
            "log_type all",
            "log_timestamp true",
            "log_timestamp_format %Y-%m-%dT%H:%M:%S",
            "connection_messages true",
        ]
        if self.users is None:
            lines.append("allow_anonymous true")
        else:
            lines += ["allow_anonymous false", f"password_file {self.password_path}"]
        lines += ["", f"listener {self.port} 127.0.0.1", "protocol mqtt"]
        if self.tls:
            cert, key = self.tls
            lines += ["", f"listener {self.tls_port} 127.0.0.1", "protocol mqtt",
                      f"certfile {cert}", f"keyfile {key}"]
        return "\n".join(lines) + "\n"

    # -- life cycle -----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> Mosquitto:
        """Start the broker and return once its port(s) accept connections; raise RuntimeError
        with the log's tail if it exits or is not ready in time."""
        if self.running:
            raise RuntimeError(f"the broker already runs on port {self.port}")
        for attempt in range(_PORT_ATTEMPTS):
            self._write_files()
            try:
                self._spawn_and_wait()
                return self
            except _PortTaken:
                if not self._pick_port or attempt == _PORT_ATTEMPTS - 1:
                    raise RuntimeError(f"mosquitto could not bind port {self.port}:\n{self.log_tail()}") from None
                self.port = free_port()
                if self.tls:
                    self.tls_port = free_port()
        raise AssertionError("unreachable")

    def _spawn_and_wait(self) -> None:
        binary = _binary("mosquitto")
        if binary is None:
            raise RuntimeError(mosquitto_available())
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen([binary, "-c", str(self.config_path)], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT)
        self.starts += 1
        ports = [self.port, *([self.tls_port] if self.tls else [])]
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            # The broker writes "... running" once every listener is open; then the ports must
            # accept (and be the broker's: it is still alive after they did).
            if self._log_since(offset).find(" running") >= 0 and all(map(_accepts, ports)) and self.running:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._kill()
                raise RuntimeError(f"mosquitto did not accept connections on {ports} within "
                                   f"{START_TIMEOUT_S:g}s:\n{self.log_tail()}")
            try:  # waits for the process to exit, at most a moment: the next look is then due
                code = self.proc.wait(min(remaining, 0.02))
            except subprocess.TimeoutExpired:
                continue
            since = self._log_since(offset)
            if "Address already in use" in since:
                raise _PortTaken
            raise RuntimeError(f"mosquitto exited with {code} while starting:\n{self.log_tail()}")

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int | None:
        """SIGTERM, wait up to ``timeout``, SIGKILL if it has not exited; its exit status."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._kill()
        return proc.returncode

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> Mosquitto:
        """Stop and start again on the same port(s): with persistence off, every retained message
        and session is gone, as after a real broker restart without a persistence file."""
        self.stop()
        self._pick_port = False  # clients reconnect to this port: never move it
        return self.start()

    def __enter__(self) -> Mosquitto:
        return self if self.running else self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- what a test reads ----------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        if not self.tls:
            raise AttributeError("this broker has no TLS listener")
        return f"mqtts://127.0.0.1:{self.tls_port}"

    def log(self) -> str:
        """The whole log (every start of this broker): its own lines and its stdout/stderr."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def _log_since(self, offset: int) -> str:
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def clients_in_log(self) -> list[str]:
        """The client ids of the connections the broker accepted, in order (connection_messages)."""
        return re.findall(r"New client connected from \S+ as (\S+)", self.log())

    def __repr__(self) -> str:
        return f"<Mosquitto {self.url} {'running' if self.running else 'stopped'}>"


class _PortTaken(Exception):
    """The broker exited because something else listens on its port."""


def _accepts(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        with contextlib.suppress(OSError):
            s.connect(("127.0.0.1", port))
            return True
    return False
