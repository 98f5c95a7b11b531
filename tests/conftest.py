"""Fixtures that start the real daemon process (temporary XDG dirs, free port) and fake Rokus."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Generator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.fakefastx import FakeFastx
from tests.fakekvm import FakeBliKvm, FakeTinyPilot
from tests.fakeroku import KINDS, FakeRoku, FakeSsdp
from tests.helpers import Answers

if TYPE_CHECKING:
    from tests.inproc import InProcDaemon

# Tests pin discovery to loopback: nothing may go out of the machine's real interfaces.
LOOPBACK_CONFIG = """\
# test config
[daemon]
http_port = 0

[discovery]
enabled = false
interfaces = ["127.0.0.1"]
ssdp_target = "127.0.0.1:9"
ssdp_listen = ""
mdns_enabled = false
timeout_ms = 1500

[roku]
request_timeout_s = 2.0
wol_broadcast = "127.0.0.1"
"""
START_TIMEOUT_S = 20


ALONE_LOCK = "TVCTL_TESTS_ALONE_LOCK"  # the environment variable naming the run's lock file


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):  # the controller: its workers inherit the name
        fd, name = tempfile.mkstemp(prefix="tvctl-tests-", suffix=".lock")
        os.close(fd)
        os.environ[ALONE_LOCK] = name


def pytest_unconfigure(config: pytest.Config) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        Path(os.environ.pop(ALONE_LOCK, "")).unlink(missing_ok=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    """Under pytest-xdist, a test marked ``alone`` (one that times the daemon under load it makes
    itself) runs while no other worker runs a test, fixtures included: it holds the run's lock
    alone, every other test shares it."""
    if not os.environ.get("PYTEST_XDIST_WORKER") or not os.environ.get(ALONE_LOCK):
        return (yield)
    with Path(os.environ[ALONE_LOCK]).open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX if item.get_closest_marker("alone") else fcntl.LOCK_SH)
        try:
            return (yield)
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class Daemon(Answers):
    def __init__(self, tmp: Path, config_text: str = LOOPBACK_CONFIG, extra_env: dict[str, str] | None = None,
                 netns: str | None = None):
        self.tmp = tmp
        self.netns = netns  # run inside this network namespace; requests then go over the socket
        self.config_path = tmp / "config" / "tvctl" / "config.toml"
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(config_text)
        self.runtime = tmp / "run"
        self.runtime.mkdir(exist_ok=True, mode=0o700)
        self.socket = self.runtime / "tvctl.sock"
        self.env = {
            **os.environ,
            "XDG_CONFIG_HOME": str(tmp / "config"),
            "XDG_STATE_HOME": str(tmp / "state"),
            "XDG_CACHE_HOME": str(tmp / "cache"),
            "XDG_RUNTIME_DIR": str(self.runtime),
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        self.env.pop("NOTIFY_SOCKET", None)
        if extra_env and "NOTIFY_SOCKET" in extra_env:
            self.env["NOTIFY_SOCKET"] = extra_env["NOTIFY_SOCKET"]
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.log_path = tmp / "daemon.log"

    # -- process ------------------------------------------------------------------------------
    def spawn(self, *args: str) -> subprocess.Popen[bytes]:
        with self.log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
            prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
            return subprocess.Popen(
                [*prefix, sys.executable, "-m", "tvctl", "daemon", "--config", str(self.config_path), *args],
                env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def start(self) -> Daemon:
        self.proc = self.spawn()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited with {self.proc.returncode}:\n{self.log()}")
            if self.socket.exists() and self._accepts():
                try:
                    st = self.unix("GET", "/v1/daemon/status")
                    if st.status_code == 200:
                        self.port = st.json()["data"]["http_port"]
                        return self
                except httpx.TransportError:
                    pass
            time.sleep(0.02)
        raise RuntimeError(f"daemon did not become ready:\n{self.log()}")

    def _accepts(self) -> bool:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            try:
                s.connect(str(self.socket))
            except OSError:
                return False
        return True

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        return self.proc.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # -- clients ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def http(self, method: str, path: str, **kw: Any) -> httpx.Response:
        if self.netns:  # its loopback TCP listener is inside the namespace
            return self.unix(method, path, **kw)
        kw.setdefault("timeout", 30)
        return httpx.request(method, self.url + path, **kw)

    def unix(self, method: str, path: str, **kw: Any) -> httpx.Response:
        kw.setdefault("timeout", 30)
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(self.socket)), timeout=kw.pop("timeout")) as c:
            return c.request(method, "http://local-tvctl.sock" + path, **kw)



@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    d = Daemon(tmp_path).start()
    try:
        yield d
    finally:
        with contextlib.suppress(Exception):
            d.stop()


@pytest.fixture(scope="module")
def shared_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    d = Daemon(tmp_path_factory.mktemp("shared")).start()
    try:
        yield d
    finally:
        with contextlib.suppress(Exception):
            d.stop()


@pytest.fixture
def inproc(tmp_path: Path) -> Iterator[InProcDaemon]:
    """The daemon's app and service in this process (tests/inproc.py): for the matrices."""
    from tests.inproc import running

    with running(tmp_path) as d:
        yield d


@pytest.fixture
def roku() -> Iterator[FakeRoku]:
    r = FakeRoku("tv").start()
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture
def tcl() -> Iterator[FakeRoku]:
    """The TCL Roku TV of the ecp2 captures, in Enabled mode (set ``access`` for the others)."""
    r = FakeRoku("tcl").start()
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture
def kvm() -> Iterator[FakeBliKvm]:
    """A fake BliKVM whose admin password is s3cret-kvm."""
    fake = FakeBliKvm(password="s3cret-kvm").start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fastx(tmp_path: Path) -> Iterator[FakeFastx]:
    """A fake FastX server on HTTPS (a newer one: auth/ssh), its certificate made in the test's folder."""
    fake = FakeFastx(tmp_path / "tls").start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def pilot(tmp_path: Path) -> Iterator[FakeTinyPilot]:
    """A fake TinyPilot on HTTPS, its certificate made in the test's folder."""
    fake = FakeTinyPilot(tmp_path / "tls").start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def devbox(daemon: Daemon) -> Iterator[tuple[Daemon, FakeRoku, dict[str, Any]]]:
    """A fake Roku in developer mode, added to a fresh daemon that knows its installer, console and
    password: (daemon, fake, device record)."""
    roku = FakeRoku("devbox").start()
    try:
        device = daemon.add(roku)
        daemon.ok("PATCH", "/v1/config", json={"roku.installer_port": roku.installer_port,
                                               "roku.console_port": roku.console_port,
                                               "roku.dev_password": roku.password})
        roku.clear()
        yield daemon, roku, device
    finally:
        roku.stop()


@pytest.fixture
def inproc_devbox(inproc: InProcDaemon) -> Iterator[tuple[InProcDaemon, FakeRoku, dict[str, Any]]]:
    """``devbox`` with the daemon in-process (tests/inproc.py)."""
    roku = FakeRoku("devbox").start()
    try:
        device = inproc.add(roku)
        inproc.ok("PATCH", "/v1/config", json={"roku.installer_port": roku.installer_port,
                                               "roku.console_port": roku.console_port,
                                               "roku.dev_password": roku.password})
        roku.clear()
        yield inproc, roku, device
    finally:
        roku.stop()


@pytest.fixture(params=sorted(KINDS))
def any_roku(request: pytest.FixtureRequest) -> Iterator[FakeRoku]:
    """A fake Roku of every recorded kind (stick, box, TV, dev-mode box)."""
    r = FakeRoku(request.param).start()
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture
def ssdp_responder() -> Iterator[FakeSsdp]:
    s = FakeSsdp()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def page_server() -> Iterator[tuple[tuple[ThreadingHTTPServer, ThreadingHTTPServer], dict[str, bytes]]]:
    """Two throwaway web servers on 127.0.0.1 (two origins) serving ``pages`` by path: the pages a
    browser test opens as the dashboard on an allowed origin, or as someone else's site."""
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    servers = (ThreadingHTTPServer(("127.0.0.1", 0), Handler), ThreadingHTTPServer(("127.0.0.1", 0), Handler))
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    try:
        yield servers, pages
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()
