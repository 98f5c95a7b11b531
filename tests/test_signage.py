"""Advantech signage agents through the daemon's API (in-process, tests/inproc.py; the CLI against
the daemon process), against tests/fakesignage.py. Expected values are the API document's example
figures, written out here."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Daemon
from tests.fakeroku import PNG_1X1
from tests.fakesignage import FakeAdvantech
from tests.inproc import Api, InProcDaemon

CREDS = {"username": "signage", "password": "p@ssw0rd-9"}
TVCTL = str(Path(sys.executable).with_name("tvctl"))


@pytest.fixture
def agent() -> Iterator[FakeAdvantech]:
    fake = FakeAdvantech().start()
    try:
        yield fake
    finally:
        fake.stop()


def add(d: Api, fake: FakeAdvantech, **extra: Any) -> dict[str, Any]:
    dev: dict[str, Any] = d.ok("POST", "/v1/devices", json={"host": "127.0.0.1", "port": fake.port,
                                                            "credentials": CREDS, **extra})
    fake.clear()
    return dev


@pytest.mark.parametrize("platform", [{"platform": "advantech"}, {}])
def test_added_by_its_hostid(inproc: InProcDaemon, agent: FakeAdvantech, platform: dict[str, str]) -> None:
    dev = add(inproc, agent, **platform)
    assert (dev["platform"], dev["kind"], dev["serial"]) == ("advantech", "signage",
                                                             "d6d6752c-a6d4-4d02-96b1-96e2d3a8d2b2")
    assert (dev["name"], dev["model"], dev["software_version"]) == ("uno-2484g-673xa", "UNO-2484G-673xAE", "v1.8.1")
    assert set(dev["capabilities"]) == {"state", "screenshot"}


def test_wrong_password_names_the_agents_words(inproc: InProcDaemon, agent: FakeAdvantech) -> None:
    err = inproc.err("POST", "/v1/devices", 500, "device_auth_failed",
                     json={"host": "127.0.0.1", "port": agent.port, "platform": "advantech",
                           "credentials": {"username": "signage", "password": "wrong-pw-1"}})
    assert "invalid username or password" in err["message"] and "wrong-pw-1" not in str(err)


def test_state_is_host_health(inproc: InProcDaemon, agent: FakeAdvantech) -> None:
    dev = add(inproc, agent)
    state = inproc.ok("GET", f"/v1/devices/{dev['id']}/state")["state"]
    assert (state["hostname"], state["os"], state["uptime_s"]) == (
        "UNO-2484G-673xA", "Microsoft Windows 10 Enterprise LTSC 2019", 851779)
    assert (state["cpu_percent"], state["memory_percent"], state["displays"]) == (25.0, 5.03, 2)
    assert state["temperatures"] == [{"name": "CPU", "value": 50.1, "unit": "Celsius"}]
    assert state["fans"] == [{"name": "FAN0", "value": 1234.0, "unit": "RPM"}]
    assert state["agent_version"] == "v1.8.1"


def test_a_board_without_sensors_has_none(inproc: InProcDaemon) -> None:
    fake = FakeAdvantech(sensors=False).start()
    try:
        dev = add(inproc, fake)
        state = inproc.ok("GET", f"/v1/devices/{dev['id']}/state")["state"]
        assert state["temperatures"] is None and state["fans"] is None and state["hostname"] == "UNO-2484G-673xA"
    finally:
        fake.stop()


def test_screenshots_per_display(inproc: InProcDaemon, agent: FakeAdvantech) -> None:
    dev = add(inproc, agent)
    for display in (0, 1):
        r = inproc.http("GET", f"/v1/devices/{dev['id']}/screenshot?display={display}")
        assert r.status_code == 200 and r.content == PNG_1X1 + bytes([display])
        assert r.headers["content-type"] == "image/png" and r.headers["cache-control"] == "no-store"
    err = inproc.err("GET", f"/v1/devices/{dev['id']}/screenshot?display=5", 500, "screenshot_failed")
    assert err["message"] == f"{dev['name']} could not capture display 5: Host: display 5 not found."
    inproc.err("GET", f"/v1/devices/{dev['id']}/screenshot?display=x", 400, "invalid_query")


def test_keys_are_unsupported(inproc: InProcDaemon, agent: FakeAdvantech) -> None:
    dev = add(inproc, agent)
    for body in ({"key": "home"}, {"key": "literal:hi"}):
        inproc.err("POST", f"/v1/devices/{dev['id']}/remote/key", 400, "unsupported_operation", json=body)
    inproc.err("GET", f"/v1/devices/{dev['id']}/apps", 400, "unsupported_operation")
    assert agent.paths() == []


def test_the_jwt_is_renewed_before_it_expires_and_after_a_restart(inproc: InProcDaemon) -> None:
    fake = FakeAdvantech(token_ttl_s=3600).start()
    short = FakeAdvantech(token_ttl_s=30, hostid="0f0f0f0f-0000-4000-8000-000000000002").start()  # inside the
    # renewal margin: a new login before every request
    try:
        dev = add(inproc, fake)
        for _ in range(3):
            inproc.ok("GET", f"/v1/devices/{dev['id']}/state")
        assert fake.paths().count("POST /auth/login") == 1
        fake.revoke()
        fake.clear()
        inproc.ok("GET", f"/v1/devices/{dev['id']}/state")
        assert fake.paths()[:3] == ["GET /platform/api/host/info", "POST /auth/login", "GET /platform/api/host/info"]
        other = add(inproc, short)
        for _ in range(2):
            inproc.ok("GET", f"/v1/devices/{other['id']}/state")
        gets = [p for p in short.paths() if p.startswith("GET /platform/api/")]
        assert len(gets) >= 8 and short.paths().count("POST /auth/login") == len(gets)  # one before each
        assert all(r.headers.get("Authorization") != "Bearer " for r in short.requests)
    finally:
        fake.stop()
        short.stop()


def test_a_device_that_moves_is_followed(inproc: InProcDaemon, agent: FakeAdvantech) -> None:
    """The same machine (hostid) found at another address: the registry keeps its identity and the
    daemon talks to the new address from then on."""
    dev = add(inproc, agent)
    inproc.ok("GET", f"/v1/devices/{dev['id']}/state")
    moved = FakeAdvantech().start()
    try:
        again = add(inproc, moved)
        assert (again["id"], again["port"]) == (dev["id"], moved.port)
        inproc.ok("GET", f"/v1/devices/{dev['id']}/state")
        assert "GET /platform/api/host/info" in moved.paths()
    finally:
        moved.stop()


def test_the_cli_adds_with_a_password_from_stdin_and_shows_health(daemon: Daemon, agent: FakeAdvantech,
                                                                  tmp_path: Path) -> None:
    env = {**os.environ, "XDG_RUNTIME_DIR": str(daemon.runtime)}
    p = subprocess.run([TVCTL, "device", "add", "127.0.0.1", "--port", str(agent.port), "--platform", "advantech",
                        "--username", "signage", "--password-stdin"], input="p@ssw0rd-9\n", capture_output=True,
                       text=True, timeout=60, env=env)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("added uno-2484g-673xa (UNO-2484G-673xA, UNO-2484G-673xAE)")
    assert "p@ssw0rd-9" not in daemon.log()
    p = subprocess.run([TVCTL, "-d", "uno-2484g-673xa", "state"], capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == 0, p.stderr
    assert "hostname     UNO-2484G-673xA" in p.stdout and "temperatures CPU 50.1 Celsius" in p.stdout
    assert "app " not in p.stdout  # a signage PC has no app line
    out = tmp_path / "lobby.png"
    p = subprocess.run([TVCTL, "-d", "uno-2484g-673xa", "screenshot", "--display", "1", "-o", str(out)],
                       capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == 0, p.stderr
    assert out.read_bytes() == PNG_1X1 + bytes([1])
