"""The systemd units verify cleanly, the daemon honours systemd's directory variables, and socket
activation works with systemd's own activator (systemd-socket-activate)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import LOOPBACK_CONFIG, Daemon
from tests.fakeroku import FakeRoku
from tests.helpers import free_port, wait_for

TVCTL = str(Path(sys.executable).with_name("tvctl"))

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_units_verify_without_warnings(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".local" / "bin").mkdir(parents=True)
    # ExecStart points at pipx's location; put the real console script there.
    (home / ".local" / "bin" / "tvctl").symlink_to(Path(sys.executable).with_name("tvctl"))
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)}
    p = subprocess.run(["systemd-analyze", "--user", "verify", str(ROOT / "systemd" / "tvctl.socket"),
                        str(ROOT / "systemd" / "tvctl.service")], env=env, capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout == "" and p.stderr == "", p.stdout + p.stderr
    unit = (ROOT / "systemd" / "tvctl.service").read_text()
    assert "Type=notify" in unit and "ExecReload=%h/.local/bin/tvctl --socket %t/tvctl.sock config reload" in unit
    assert "WatchdogSec=" in unit and "ProtectSystem=strict" in unit and "SystemCallFilter=@system-service" in unit
    assert "Restart=on-failure" in unit
    sock_unit = (ROOT / "systemd" / "tvctl.socket").read_text()
    # where the CLI looks, owner-only, and the config's default HTTP address
    assert "ListenStream=%t/tvctl.sock" in sock_unit and "SocketMode=0600" in sock_unit
    assert "ListenStream=127.0.0.1:7272" in sock_unit


def test_daemon_uses_systemd_directories(tmp_path: Path, roku: FakeRoku) -> None:
    dirs = {name: tmp_path / name.lower() for name in
            ("RUNTIME_DIRECTORY", "STATE_DIRECTORY", "CACHE_DIRECTORY", "CONFIGURATION_DIRECTORY")}
    for p in dirs.values():
        p.mkdir(mode=0o700)
    d = Daemon(tmp_path, extra_env={k: str(v) for k, v in dirs.items()})
    d.start()
    try:
        st = d.unix("GET", "/v1/daemon/status").json()["data"]
        # A user unit has both $XDG_RUNTIME_DIR and $RUNTIME_DIRECTORY; the socket must be where the
        # CLI in a login shell (which has only the first) looks for it.
        assert st["socket"] == str(d.runtime / "tvctl.sock")
        cli_env = {k: v for k, v in os.environ.items() if k not in dirs and k != "TVCTL_SOCKET"}
        cli = subprocess.run([TVCTL, "--json", "status"], env={**cli_env, "XDG_RUNTIME_DIR": str(d.runtime)},
                             capture_output=True, text=True, timeout=30)
        assert cli.returncode == 0 and json.loads(cli.stdout)["pid"] == d.proc.pid, cli.stdout + cli.stderr  # type: ignore[union-attr]
        # --config still wins over $CONFIGURATION_DIRECTORY (the unit passes none)
        assert st["config_path"] == str(d.config_path)
        dev = d.add(roku)
        d.ok("GET", f"/v1/devices/{dev['id']}/apps")
        assert (dirs["STATE_DIRECTORY"] / "devices.json").exists()
        assert (dirs["CACHE_DIRECTORY"] / "apps" / f"{dev['id']}.json").exists()
    finally:
        d.stop()


def activator(d: Daemon, *listen: str) -> subprocess.Popen[bytes]:
    """systemd's own activator holding the listeners, as tvctl.socket would; the daemon starts on
    the first connection with LISTEN_FDS/LISTEN_PID set (exec'd in place, so it keeps the pid)."""
    flags = [f"--listen={addr}" for addr in listen]
    for k in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR", "PYTHONUNBUFFERED"):
        flags.append(f"--setenv={k}={d.env[k]}")
    with d.log_path.open("ab") as log:
        return subprocess.Popen(["systemd-socket-activate", *flags, sys.executable, "-m", "tvctl", "daemon",
                                 "--config", str(d.config_path)], env=d.env, stdout=log, stderr=subprocess.STDOUT)


needs_activator = pytest.mark.skipif(shutil.which("systemd-socket-activate") is None,
                                     reason="systemd-socket-activate is not installed")


@needs_activator
def test_socket_activation_starts_the_daemon_on_first_use(tmp_path: Path, roku: FakeRoku) -> None:
    port = free_port()
    d = Daemon(tmp_path)
    proc = activator(d, str(d.socket), f"127.0.0.1:{port}")
    d.proc = proc
    try:
        wait_for(lambda: f"Listening on 127.0.0.1:{port}" in d.log(), what="the activator's sockets")
        assert "socket activation" not in d.log()  # nothing started yet
        # the real CLI's first request starts the daemon and is answered
        p = subprocess.run([TVCTL, "--json", "status"], env={**os.environ, "XDG_RUNTIME_DIR": str(d.runtime)},
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stdout + p.stderr + d.log()
        st = json.loads(p.stdout)
        assert st["pid"] == proc.pid and st["socket"] == str(d.socket) and st["http_port"] == port
        assert "socket activation" in d.log()
        # the passed TCP listener serves the API, guard included
        d.port = port
        dev = d.add(roku)
        d.ok("POST", f"/v1/devices/{dev['id']}/remote/key", json={"key": "home"})
        assert roku.paths() == ["/keypress/Home"]
        d.err("GET", "/v1/devices", 403, "host_not_allowed", headers={"Host": "evil.example:80"})
        # a clean stop leaves the socket file to whoever owns it (systemd keeps listening there)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        assert d.socket.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@needs_activator
@pytest.mark.parametrize(("config", "addr", "words"), [
    ("", "127.0.0.2", "make them agree"),
    ("\n[daemon]\nhttp_enabled = false\n", "127.0.0.1", "daemon.http_enabled is false"),
])  # fmt: skip
def test_socket_activation_refuses_a_listener_that_contradicts_the_config(
        tmp_path: Path, config: str, addr: str, words: str) -> None:
    d = Daemon(tmp_path, LOOPBACK_CONFIG.replace("[daemon]\nhttp_port = 0\n", "") + config)
    port = free_port()
    proc = activator(d, str(d.socket), f"{addr}:{port}")
    try:
        # the activator says so once each socket listens (the TCP one after the Unix one)
        wait_for(lambda: f"Listening on {addr}:{port}" in d.log(), what="the activator's TCP socket")
        with socket.create_connection((addr, port), timeout=5) as c:  # the first connection starts it
            c.settimeout(15)
            with contextlib.suppress(ConnectionResetError):  # closed, or reset from the backlog, unanswered
                assert c.recv(1) == b""
        assert proc.wait(15) == 1
        assert words in d.log()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def unit_line(key: str) -> str:
    line = next(ln for ln in (ROOT / "systemd" / "tvctl.service").read_text().splitlines() if ln.startswith(key + "="))
    return line.split("=", 1)[1]


def test_reload_from_the_unit_fails_on_an_invalid_config(daemon: Daemon, tmp_path: Path) -> None:
    """systemctl --user reload runs ExecReload and reports its exit status: run that command line."""
    home = tmp_path / "home"
    (home / ".local" / "bin").mkdir(parents=True)
    (home / ".local" / "bin" / "tvctl").symlink_to(TVCTL)
    argv = unit_line("ExecReload").replace("%h", str(home)).replace("%t", str(daemon.runtime)).split()
    ok = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0, ok.stderr
    daemon.config_path.write_text("[daemon]\nhttp_port = 'not a number'\n")
    bad = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert bad.returncode == 1 and "config.toml" in bad.stderr and "http_port" in bad.stderr, bad.stderr
    assert daemon.ok("GET", "/v1/daemon/status")["pid"] == daemon.proc.pid  # type: ignore[union-attr]


def test_watchdog_is_fed_from_the_event_loop(tmp_path: Path) -> None:
    notify = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sd:
        sd.bind(str(notify))
        sd.settimeout(10)
        d = Daemon(tmp_path, extra_env={"NOTIFY_SOCKET": str(notify), "WATCHDOG_USEC": "200000"})
        d.start()
        try:
            got = [sd.recv(256) for _ in range(4)]  # READY, then a ping every 0.1 s
            assert got[0] == b"READY=1" and got[1:] == [b"WATCHDOG=1"] * 3
        finally:
            d.stop()


def test_log_lines_carry_a_time_and_the_daemons_own_names(tmp_path: Path) -> None:
    d = Daemon(tmp_path)
    d.start()
    d.stop()
    lines = d.log().splitlines()
    assert lines and all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} (DEBUG|INFO|WARNING|ERROR) tvctl[.\w]*: ", ln)
                         for ln in lines), lines
    assert "uvicorn" not in d.log()


def test_under_journald_the_journal_adds_the_time(tmp_path: Path) -> None:
    d = Daemon(tmp_path)
    d.log_path.touch()
    st = d.log_path.stat()  # the daemon's stderr is this file: as if it were the journal's stream
    d.env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
    d.start()
    d.stop()
    lines = d.log().splitlines()
    assert lines and all(re.match(r"(INFO|WARNING|ERROR) tvctl[.\w]*: ", ln) for ln in lines), lines
