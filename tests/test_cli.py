"""The installed ``tvctl`` command against a real daemon and a fake Roku, over the Unix socket."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Daemon
from tests.fakeroku import FakeRoku, FakeSsdp
from tests.helpers import ctrl_c_as_at_a_terminal, wait_for

TVCTL = str(Path(sys.executable).with_name("tvctl"))


def run(d: Daemon | None, *args: str, env: dict[str, str] | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    e = {**os.environ, **(env or {})}
    if d is not None:
        e["XDG_RUNTIME_DIR"] = str(d.runtime)  # the CLI finds the socket by the default rule
    e.pop("TVCTL_SOCKET", None)
    return subprocess.run([TVCTL, *args], env=e, capture_output=True, text=True, timeout=timeout)


def ok_json(d: Daemon, *args: str) -> Any:
    p = run(d, "--json", *args)
    assert p.returncode == 0, (args, p.stdout, p.stderr)
    return json.loads(p.stdout)


def test_installed_command_exists() -> None:
    assert Path(TVCTL).exists(), "tvctl console script is not installed (pip install -e .)"


def test_status_and_json(daemon: Daemon) -> None:
    p = run(daemon, "status")
    assert p.returncode == 0 and f"socket   {daemon.socket}" in p.stdout
    data = ok_json(daemon, "status")
    assert data == {**data, "socket": str(daemon.socket), "device_count": 0}
    # --json prints exactly the envelope's data
    assert set(data) == set(daemon.ok("GET", "/v1/daemon/status"))


def test_device_commands(daemon: Daemon, roku: FakeRoku) -> None:
    p = run(daemon, "device", "add", "127.0.0.1", "--port", str(roku.port))
    assert p.returncode == 0 and "added 58-onn-roku-tv" in p.stdout
    listing = run(daemon, "device", "list")
    assert listing.returncode == 0 and "58-onn-roku-tv" in listing.stdout and "7820X" in listing.stdout
    assert listing.stdout.splitlines()[0].split()[:2] == ["NAME", "DISPLAY"]
    assert [d["serial"] for d in ok_json(daemon, "device", "list")] == [roku.serial]
    assert run(daemon, "device", "rename", "58-onn-roku-tv", "den").returncode == 0
    shown = ok_json(daemon, "device", "show", "den")
    assert shown["name"] == "den" and shown["host"] == "127.0.0.1"
    assert ok_json(daemon, "-d", "den", "device", "show")["name"] == "den"
    found = ok_json(daemon, "device", "discover")
    assert found == {"devices": []}  # the loopback SSDP target has no responder here
    assert "found no devices" in run(daemon, "device", "discover").stdout
    p = run(daemon, "device", "remove", "den")
    assert p.returncode == 0 and "removed den" in p.stdout
    assert ok_json(daemon, "device", "list") == []


def test_discover_prints_each_device_as_it_is_confirmed(daemon: Daemon) -> None:
    rokus = [FakeRoku(k, serial=f"CLIFIND{i}").start() for i, k in enumerate(("stick", "tv"))]
    responder = FakeSsdp()
    try:
        for r in rokus:
            responder.add_device(r)
        daemon.ok("PATCH", "/v1/config", json={"discovery.ssdp_target": f"127.0.0.1:{responder.port}"})
        env = {**os.environ, "XDG_RUNTIME_DIR": str(daemon.runtime)}
        t0 = time.monotonic()
        with subprocess.Popen([TVCTL, "device", "discover"], env=env, stdout=subprocess.PIPE, text=True) as p:
            assert p.stdout is not None
            lines = [(time.monotonic() - t0, line.rstrip("\n")) for line in p.stdout]
            ended = time.monotonic() - t0
            assert p.wait(10) == 0
        names = sorted(line for _, line in lines[:2])
        assert names[0].startswith("found 3500x-") or names[0].startswith("found 58-onn-roku-tv ")
        assert [line.split()[0] for _, line in lines] == ["found", "found", "2"]
        assert lines[-1][1] == "2 device(s) found"
        assert lines[0][0] < ended - 0.8  # printed when confirmed, not when the 1.5 s window closed
        assert json.loads(run(daemon, "--json", "device", "discover").stdout)["devices"][0]["serial"].startswith(
            "CLIFIND")
    finally:
        responder.close()
        for r in rokus:
            r.stop()


def test_remote_apps_state_power(daemon: Daemon, roku: FakeRoku) -> None:
    daemon.add(roku)
    roku.clear()
    assert run(daemon, "key", "home").returncode == 0
    assert run(daemon, "key", "right", "--hold", "100").returncode == 0
    assert run(daemon, "key", "up", "--repeat", "2").returncode == 0
    assert run(daemon, "seq", "down", "select", "--delay", "0").returncode == 0
    assert run(daemon, "type", "hi you").stdout.strip() == "typed 6 characters"
    assert roku.paths() == ["/keypress/Home", "/keydown/Right", "/keyup/Right", "/keypress/Up", "/keypress/Up",
                            "/keypress/Down", "/keypress/Select", "/keypress/Lit_h", "/keypress/Lit_i",
                            "/keypress/Lit_%20", "/keypress/Lit_y", "/keypress/Lit_o", "/keypress/Lit_u"]
    apps = ok_json(daemon, "apps", "list")
    assert "netflix" in {a["id"] for a in apps["apps"]}
    assert "Netflix" in run(daemon, "apps", "list").stdout
    p = run(daemon, "apps", "launch", "netflix", "--param", "contentId=42")
    assert p.returncode == 0 and "launched Netflix" in p.stdout
    assert roku.paths()[-1] == "/launch/12?contentId=42"
    state = run(daemon, "state")
    assert state.returncode == 0 and "Netflix" in state.stdout and "media    play" in state.stdout
    assert ok_json(daemon, "state")["state"]["active_app"]["id"] == "netflix"
    assert "stopped (home)" in run(daemon, "apps", "stop").stdout
    refreshed = ok_json(daemon, "apps", "refresh", "--clear")
    assert refreshed["cleared"] is True
    assert run(daemon, "power", "off").returncode == 0 and roku.power_mode == "Ready"
    assert run(daemon, "power", "on").returncode == 0 and roku.power_mode == "PowerOn"


def test_config_commands(daemon: Daemon) -> None:
    p = run(daemon, "config", "set", "daemon.cors_enabled", "true", "daemon.cors_allowed_origins",
            "http://127.0.0.1:8080", "state.poll_interval_s", "2.5")
    assert p.returncode == 0, p.stderr
    cfg = ok_json(daemon, "config", "show")
    assert cfg["daemon"]["cors_enabled"] is True and cfg["state"]["poll_interval_s"] == 2.5
    assert cfg["daemon"]["cors_allowed_origins"] == ["http://127.0.0.1:8080"]
    assert "cors_enabled = true" in run(daemon, "config", "show").stdout
    p = run(daemon, "config", "set", "daemon.http_port", "7999")
    assert "restart required for: daemon.http_port" in p.stdout
    assert run(daemon, "config", "reload").returncode == 0
    p = run(daemon, "config", "set", "daemon.nope", "1")
    assert p.returncode == 2 and "unknown config key 'daemon.nope'" in p.stderr and "hint:" in p.stderr
    p = run(daemon, "config", "set", "roku.dev_password", "98765432123")  # a secret on the command line
    assert p.returncode == 2 and "roku.dev_password is a secret" in p.stderr
    assert "98765432123" not in p.stdout + p.stderr  # a secret is never echoed


def test_exit_codes_and_hints(daemon: Daemon, tmp_path: Path) -> None:
    p = run(daemon, "-d", "ghost", "key", "home")
    assert p.returncode == 1
    assert p.stderr.splitlines() == ["tvctl: No known device matched 'ghost'.",
                                     "hint: No device is known yet. Add one: tvctl device add <ip> "
                                     "(or tvctl device discover)"]
    assert run(daemon, "key").returncode == 2
    assert run(daemon, "device", "add").returncode == 2
    assert run(daemon, "frobnicate").returncode == 2
    assert run(daemon, "config", "set", "only-a-key").returncode == 2
    assert run(daemon).returncode == 2
    down = run(None, "--socket", str(tmp_path / "none.sock"), "status")
    assert down.returncode == 3
    assert "cannot reach the tvctl daemon" in down.stderr and "systemctl --user start tvctl" in down.stderr
    assert "Traceback" not in down.stderr


def test_events_stream_until_ctrl_c(daemon: Daemon, roku: FakeRoku) -> None:
    env = {**os.environ, "XDG_RUNTIME_DIR": str(daemon.runtime)}
    proc = subprocess.Popen([TVCTL, "events"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=ctrl_c_as_at_a_terminal)
    try:
        wait_for(lambda: daemon.ok("GET", "/v1/daemon/status")["event_subscribers"] == 1, what="tvctl events")
        daemon.add(roku)
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert re.fullmatch(r"\d\d:\d\d:\d\d 58-onn-roku-tv added", line.strip()), line
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and "Traceback" not in err


def test_cli_imports_nothing_heavy() -> None:
    code = ("import sys, tvctl.cli, tvctl.client; "
            "heavy = {'starlette', 'uvicorn', 'aiohttp', 'zeroconf', 'async_upnp_client', 'tomlkit', 'httpx', "
            "'asyncio', 'defusedxml', 'multipart', 'msgspec', 'mcp', 'anyio', 'curses', '_curses', "
            "'dataclasses', 'inspect', 'typing'}; "
            "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("args", [["--help"], ["key", "--help"]])
def test_help_exits_zero(args: list[str]) -> None:
    p = run(None, *args)
    assert p.returncode == 0 and "usage:" in p.stdout


def test_dev_commands(devbox: tuple[Daemon, FakeRoku, dict[str, Any]], tmp_path: Path) -> None:
    from tests.test_devmode import make_zip

    daemon, roku, _device = devbox
    z = tmp_path / "channel.zip"
    z.write_bytes(make_zip())
    p = run(daemon, "dev", "install", str(z))
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("installed: Application Received")
    assert roku.uploads[-1]["size"] == z.stat().st_size
    assert ok_json(daemon, "dev", "install", str(z))["result"] == "identical"
    assert run(daemon, "dev", "reload").stdout.strip() == "dev channel restarted"
    shot = tmp_path / "shot.jpg"
    p = run(daemon, "dev", "screenshot", "-o", str(shot))
    assert p.returncode == 0 and shot.read_bytes()[:2] == b"\xff\xd8"
    roku.console_script = b"line one\r\nline two\r\n"
    run(daemon, "dev", "logs")
    def both_lines() -> str:
        stdout = run(daemon, "dev", "logs").stdout
        return stdout if "line two" in stdout else ""

    out = wait_for(both_lines, what="both console lines")
    assert out.splitlines() == ["line one", "line two"]
    missing = run(daemon, "dev", "install", str(tmp_path / "nope.zip"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"junk")
    p = run(daemon, "dev", "install", str(bad))
    assert p.returncode == 1 and "not a readable zip" in p.stderr and "hint:" in p.stderr
    # logs -f streams until Ctrl-C
    env = {**os.environ, "XDG_RUNTIME_DIR": str(daemon.runtime)}
    proc = subprocess.Popen([TVCTL, "dev", "logs", "-f"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_as_at_a_terminal)
    try:
        wait_for(lambda: daemon.ok("GET", "/v1/devices/default/dev/logs")["followers"] == 1, what="logs -f")
        roku.console_push("streamed line\n")
        assert proc.stdout.readline().strip() == "streamed line"  # type: ignore[union-attr]
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and "Traceback" not in err


def read_all(primary: int) -> bytes:
    shown = b""
    with contextlib.suppress(OSError):
        while chunk := os.read(primary, 65536):
            shown += chunk
    os.close(primary)
    return shown


def at_terminal(argv: list[str], env: dict[str, str]) -> tuple[int, bytes]:
    """Run a command with stdout and stderr on a terminal (a pty); its exit code and what it showed."""
    import pty

    primary, secondary = pty.openpty()
    p = subprocess.run(argv, env=env, stdout=secondary, stderr=secondary, timeout=60)
    os.close(secondary)
    return p.returncode, read_all(primary)


def test_upload_progress_on_a_terminal(daemon: Daemon, tmp_path: Path) -> None:
    import pty

    from tests.test_devmode import make_zip

    roku = FakeRoku("devbox").start()
    try:
        daemon.add(roku)
        daemon.ok("PATCH", "/v1/config", json={"roku.installer_port": roku.installer_port,
                                               "roku.dev_password": roku.password})
        z = tmp_path / "channel.zip"
        z.write_bytes(make_zip(pad=3 * 1024 * 1024))
        env = {**os.environ, "XDG_RUNTIME_DIR": str(daemon.runtime)}
        code, shown = at_terminal([TVCTL, "dev", "install", str(z)], env)
        assert code == 0 and b"installed" in shown
        assert b"uploading 100%" in shown
        # not with --json, nor when stdout is not a terminal
        code, shown = at_terminal([TVCTL, "--json", "dev", "install", str(z)], env)
        assert code == 0 and b"uploading" not in shown
        primary, secondary = pty.openpty()
        p = subprocess.run([TVCTL, "dev", "install", str(z)], env=env, stdout=subprocess.PIPE, stderr=secondary,
                           timeout=60)
        os.close(secondary)
        assert p.returncode == 0 and b"uploading" not in read_all(primary)
        # and not when stderr is a pipe
        piped = run(daemon, "dev", "install", str(z))
        assert "uploading" not in piped.stderr
    finally:
        roku.stop()
